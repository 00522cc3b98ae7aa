// The sandbox under test, in its own process so the client being measured has a core to itself.
// Started by `sandbox.mjs` with a JSON config in argv[2]; answers control messages over IPC.
import { Sandbox } from "@bulwark/sandbox"
import { Deferred, Effect } from "effect"

const config = JSON.parse(process.argv[2] ?? "{}")

const program = Effect.scoped(Effect.gen(function*() {
  const sandbox = yield* Sandbox.make({ ...config, host: "127.0.0.1", port: 0 })
  const done = yield* Deferred.make()
  const handlers = {
    stats: () => sandbox.stats,
    reset: () => sandbox.reset,
    revokeTokens: () => sandbox.revokeTokens(),
    setFaults: (faults) => sandbox.setFaults(faults),
    close: () => Deferred.succeed(done, undefined)
  }
  process.on("message", (message) => {
    const { id, op, arg } = message
    Effect.runPromise(handlers[op](arg)).then(
      (value) => process.send({ id, ok: true, value }),
      (error) => process.send({ id, ok: false, error: String(error) })
    )
  })
  process.send({ ready: true, url: sandbox.url, tokenUrl: sandbox.tokenUrl })
  yield* Deferred.await(done)
}))

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
