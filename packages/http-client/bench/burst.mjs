// Bursts: N calls started at once (N = 100, 1,000, 3,000), plain and right after the sandbox revoked every
// token, through the full ApiClient and through the bare platform client, against the sandbox in another
// process. Reports this process's CPU time per call (the client's own cost), the success rate and the token
// requests, as medians of alternating rounds (bare, bulwark, bare, bulwark, ...).
//
// The bare client is what a team writes without Bulwark: `NodeHttpClient.layerUndici`, `filterStatusOk`, the
// body decoded with `schemaBodyJson`, and on a 401 a new token fetched and the call replayed once (every
// failed call fetches its own token: nothing is shared).
//
//   node bench/burst.mjs [sizes=100,1000,3000] [rounds=3]
//
// Goal (issue 16): CPU per call ≤ 1.3× the bare client's in both modes, flat in N.
import { ApiClient } from "@bulwark/http-client"
import { SandboxConfig } from "@bulwark/sandbox"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Redacted, Schema, Scope } from "effect"
import { startSandbox } from "../../../tools/bench/src/sandbox.mjs"

const sizes = (process.argv[2] ?? "100,1000,3000").split(",").map(Number)
const rounds = Number(process.argv[3] ?? 3)
const { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } = SandboxConfig.demoClient

const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String, price: Schema.Number })
const Page = Schema.Struct({ items: Schema.Array(Item), nextCursor: Schema.NullOr(Schema.String) })
const TokenResponse = Schema.Struct({ access_token: Schema.String })

const sandbox = await startSandbox({ seed: 42 })
const scope = Effect.runSync(Scope.make())
const runtime = await Effect.runPromise(Layer.toRuntime(NodeHttpClient.layerUndici).pipe(Scope.extend(scope)))
const run = (effect) => Effect.runPromiseExit(effect.pipe(Effect.provide(runtime)))

const makeBare = Effect.gen(function*() {
  const base = yield* HttpClient.HttpClient
  const fetchToken = base.execute(
    HttpClientRequest.post(sandbox.tokenUrl).pipe(
      HttpClientRequest.basicAuth(CLIENT_ID, CLIENT_SECRET),
      HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
    )
  ).pipe(
    Effect.flatMap(HttpClientResponse.filterStatusOk),
    Effect.flatMap(HttpClientResponse.schemaBodyJson(TokenResponse)),
    Effect.map((t) => t.access_token)
  )
  let token = yield* fetchToken
  const client = HttpClient.filterStatusOk(base)
  const attempt = (bearer) =>
    client.execute(HttpClientRequest.get(`${sandbox.url}/v1/items?limit=1`).pipe(HttpClientRequest.bearerToken(bearer)))
      .pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Page)))
  return () =>
    attempt(token).pipe(
      Effect.catchIf(
        (error) => error._tag === "ResponseError" && error.response.status === 401,
        () =>
          Effect.flatMap(fetchToken, (fresh) => {
            token = fresh
            return attempt(fresh)
          })
      )
    )
})

const makeBulwark = Effect.gen(function*() {
  const api = yield* ApiClient.make({
    baseUrl: `${sandbox.url}/v1`,
    auth: { tokenUrl: sandbox.tokenUrl, clientId: CLIENT_ID, clientSecret: Redacted.make(CLIENT_SECRET) }
  })
  yield* api.get("/items?limit=1", Page)
  return () => api.get("/items?limit=1", Page)
}).pipe(Scope.extend(scope))

const built = async (effect) => {
  const exit = await run(effect)
  if (Exit.isFailure(exit)) throw new Error(`could not build a contender: ${exit.cause}`)
  return exit.value
}
const bare = await built(makeBare)
const bulwark = await built(makeBulwark)

/** N calls at once; this process's CPU per call, the calls that succeeded, the token requests made. */
const burst = async (call, n, revoke) => {
  // Connections and JIT warm, then the burst.
  await Promise.all(Array.from({ length: 20 }, () => run(call())))
  if (revoke) await sandbox.revokeTokens()
  const before = await sandbox.stats()
  globalThis.gc?.()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const exits = await Promise.all(Array.from({ length: n }, () => run(call())))
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  const after = await sandbox.stats()
  return {
    cpuMicrosPerCall: (used.user + used.system) / n,
    wallMs,
    ok: exits.filter(Exit.isSuccess).length,
    tokenRequests: after.tokensIssued - before.tokensIssued
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
try {
  for (const revoke of [false, true]) {
    for (const n of sizes) {
      const samples = { bare: [], bulwark: [] }
      for (let round = 0; round < rounds; round++) {
        samples.bare.push(await burst(bare, n, revoke))
        samples.bulwark.push(await burst(bulwark, n, revoke))
      }
      const summary = (runs) => ({
        cpuMicrosPerCall: Number(median(runs.map((r) => r.cpuMicrosPerCall)).toFixed(1)),
        wallMs: Math.round(median(runs.map((r) => r.wallMs))),
        successRate: Number((100 * median(runs.map((r) => r.ok)) / n).toFixed(2)),
        tokenRequests: median(runs.map((r) => r.tokenRequests))
      })
      const row = {
        mode: revoke ? "after revoke" : "plain",
        n,
        bare: summary(samples.bare),
        bulwark: summary(samples.bulwark)
      }
      row.cpuRatio = Number((row.bulwark.cpuMicrosPerCall / row.bare.cpuMicrosPerCall).toFixed(3))
      rows.push(row)
      console.error(
        `${row.mode.padEnd(12)} N=${String(n).padStart(4)}: bulwark ${row.bulwark.cpuMicrosPerCall} µs/call ` +
          `(${row.bulwark.successRate}% ok, ${row.bulwark.tokenRequests} token requests), bare ${row.bare.cpuMicrosPerCall} µs/call ` +
          `(${row.bare.successRate}% ok, ${row.bare.tokenRequests} token requests): ${row.cpuRatio}×`
      )
    }
  }
  console.log(JSON.stringify({ node: process.version, rounds, rows }, null, 2))
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await sandbox.close()
}
