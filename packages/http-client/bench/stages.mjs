// Diagnostic: client CPU time per call as the standard pipeline's stages are added one by one, each as its
// public plugin (a client of its own over the one below, the call in a FiberRef), then the whole standard
// pipeline fused (`ApiClient.make`). Each figure is the median of `rounds` runs, each run after one with the bare
// client, so drift hits every row alike.
//
//   node bench/stages.mjs [calls=5000] [rounds=3]
import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient, Plugins } from "@bulwark/http-client"
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
const rounds = Number(process.argv[3] ?? 3)
const steps = [
  ["classify", (c) => Plugins.classify()(c)],
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
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const rows = []
  const row = (name, client) =>
    Effect.gen(function*() {
      yield* measure(client)
      const own = []
      const bares = []
      for (let round = 0; round < rounds; round++) {
        bares.push(yield* measure(bare))
        own.push(yield* measure(client))
      }
      const cpu = median(own)
      const ratio = cpu / median(bares)
      rows.push({ name, cpu, ratio })
      console.error(`${name.padEnd(18)} ${cpu.toFixed(0).padStart(4)} µs CPU/call  ${ratio.toFixed(2)}× bare`)
    })
  yield* row("bare", bare)
  let client = raw
  for (const [name, plugin] of steps) {
    client = plugin(client)
    yield* row(`+${name}`, client)
  }
  const api = yield* ApiClient.make({ baseUrl: `${base}/v1`, traffic: false })
  yield* row("ApiClient (fused)", api.client)
  console.log(["| stage added | CPU µs/call | ÷ bare |", "|---|---|---|", ...rows.map((r) => `| ${r.name} | ${r.cpu.toFixed(0)} | ${r.ratio.toFixed(2)} |`)].join("\n"))
}).pipe(
  Effect.scoped,
  Effect.provide(TokenProvider.layer(TokenSource.fixed("bench-token"))),
  Effect.provide(RetryBudget.layer()),
  Effect.provide(NodeHttpClient.layerUndici)
)
try {
  await Effect.runPromise(program)
} finally {
  server.kill("SIGTERM")
}
