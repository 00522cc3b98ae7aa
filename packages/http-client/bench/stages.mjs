// Diagnostic: client CPU time per call as the standard pipeline's stages are added one by one.
import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { Classify } from "@bulwark/core-errors"
import { Plugins } from "@bulwark/http-client"
import { RetryBudget } from "@bulwark/retry-schedules"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

const server = spawn(process.execPath, [fileURLToPath(new URL("./server.mjs", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"]
})
const [chunk] = await once(server.stdout, "data")
const base = `http://127.0.0.1:${String(chunk).trim()}`
const Item = Schema.Struct({ id: Schema.String })
const calls = Number(process.argv[2] ?? 5000)
const steps = [
  ["classify", (c) => Classify.client(c)],
  ["bufferBody", (c) => Plugins.bufferBody(c)],
  ["bearerToken", (c) => Plugins.bearerToken({ origin: base })(c)],
  ["attemptTimeout", (c) => Plugins.attemptTimeout("10 seconds")(c)],
  ["rateLimitGate", (c) => Plugins.rateLimitGate()(c)],
  ["retry", (c) => Plugins.retry()(c)],
  ["idempotencyKey", (c) => Plugins.idempotencyKey()(c)],
  ["deadline", (c) => Plugins.deadline("30 seconds")(c)],
  ["observe", (c) => Plugins.observe()(c)]
]
const program = Effect.gen(function*() {
  const raw = yield* HttpClient.HttpClient
  const measure = (client) =>
    Effect.gen(function*() {
      const cpu = process.cpuUsage()
      yield* Effect.forEach(
        Array.from({ length: calls }, (_, i) => i),
        (i) => client.get(`${base}/v1/items/${i % 100}`).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Item))),
        { concurrency: 32, discard: true }
      )
      const used = process.cpuUsage(cpu)
      return (used.user + used.system) / calls
    })
  const bare = HttpClient.filterStatusOk(raw)
  yield* measure(bare)
  yield* measure(bare)
  console.log("bare".padEnd(16), (yield* measure(bare)).toFixed(0), "µs CPU/call")
  let client = raw
  for (const [name, plugin] of steps) {
    client = plugin(client)
    yield* measure(client)
    console.log(`+${name}`.padEnd(16), (yield* measure(client)).toFixed(0), "µs CPU/call")
  }
}).pipe(
  Effect.provide(TokenProvider.layer(TokenSource.fixed("bench-token"))),
  Effect.provide(RetryBudget.layer()),
  Effect.provide(NodeHttpClient.layerUndici)
)
try {
  await Effect.runPromise(program)
} finally {
  server.kill("SIGTERM")
}
