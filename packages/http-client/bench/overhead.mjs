// Per-request overhead of the full Bulwark pipeline (faults off) against the bare platform client,
// both on undici, against the same loopback server, in one process run. Runs the two contenders in
// alternation (ABAB...) and compares medians, so drift on a shared machine hits both alike.
//
//   node bench/overhead.mjs [calls=20000] [concurrency=32] [rounds=5]
//
// Uses the built package (dist/): run `npx nx run @bulwark/http-client:build` first (the Nx `bench`
// target does).
import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient } from "@bulwark/http-client"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

const calls = Number(process.argv[2] ?? 20_000)
const concurrency = Number(process.argv[3] ?? 32)
const rounds = Number(process.argv[4] ?? 5)

const server = spawn(process.execPath, [fileURLToPath(new URL("./server.mjs", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"]
})
const [chunk] = await once(server.stdout, "data")
const base = `http://127.0.0.1:${String(chunk).trim()}`

const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String, price: Schema.Number })

// Wall time and this process's CPU time: on a shared 2-core machine the CPU time per request is the
// steadier measure of the client's own overhead.
const timeIt = (label, effect) =>
  Effect.gen(function*() {
    const cpu = process.cpuUsage()
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: calls }, (_, i) => i), effect, { concurrency, discard: true })
    const millis = performance.now() - start
    const used = process.cpuUsage(cpu)
    return { label, millis, cpuMicrosPerCall: (used.user + used.system) / calls }
  })

const makeBare = Effect.gen(function*() {
  const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
  return (i) => client.get(`${base}/v1/items/${i % 100}`).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Item)))
})

const makeBulwark = Effect.gen(function*() {
  const api = yield* ApiClient.make({ baseUrl: `${base}/v1` })
  return (i) => api.get(`/items/${i % 100}`, Item)
})

const program = Effect.gen(function*() {
  const bareCall = yield* makeBare
  const bulwarkCall = yield* makeBulwark
  // Warm up both (connections, JIT).
  yield* timeIt("warm-bare", bareCall)
  yield* timeIt("warm-bulwark", bulwarkCall)
  const results = { bare: [], bulwark: [] }
  for (let round = 0; round < rounds; round++) {
    results.bare.push(yield* timeIt("bare", bareCall))
    results.bulwark.push(yield* timeIt("bulwark", bulwarkCall))
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const summary = (runs) => {
    const ms = median(runs.map((r) => r.millis))
    return {
      medianMs: Math.round(ms),
      requestsPerSecond: Math.round(calls / (ms / 1000)),
      cpuMicrosPerCall: Number(median(runs.map((r) => r.cpuMicrosPerCall)).toFixed(1))
    }
  }
  const bare = summary(results.bare)
  const bulwark = summary(results.bulwark)
  const report = {
    calls,
    concurrency,
    rounds,
    node: process.version,
    bare,
    bulwark,
    wallTimeRatio: Number((bulwark.medianMs / bare.medianMs).toFixed(3)),
    cpuPerCallRatio: Number((bulwark.cpuMicrosPerCall / bare.cpuMicrosPerCall).toFixed(3))
  }
  console.log(JSON.stringify(report, null, 2))
}).pipe(
  Effect.scoped,
  // A fixed token: the benchmark measures the pipeline, not a token endpoint.
  Effect.provide(TokenProvider.layer(TokenSource.fixed("bench-token", { expiresIn: "1 hour" }))),
  Effect.provide(NodeHttpClient.layerUndici)
)

try {
  await Effect.runPromise(program)
} catch (error) {
  console.error(String(error))
  process.exitCode = 1
} finally {
  server.kill("SIGTERM")
}
