import { ApiClient, Plugins } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Metric, MetricLabel, Random, Redacted, Schema } from "effect"

// Hedged reads over real loopback HTTP against the sandbox, on the live clock: a third of the responses are
// 1.5 s late (seeded); with a 100 ms hedge every call answers long before that.

const Page = Schema.Struct({ items: Schema.Array(Schema.Unknown), nextCursor: Schema.NullOr(Schema.String) })
const SLOW_MS = 1_500

const withSandbox = Layer.merge(
  Sandbox.layer({ seed: 18, faults: { latency: { probability: 0.3, minMs: SLOW_MS, maxMs: SLOW_MS } } }),
  NodeHttpClient.layerUndici
)

/**
 * The client over a transport that counts the reads it sends: the sandbox counts a request when it answers it,
 * so a hedge's loser, cancelled while the sandbox delays its answer, is in no sandbox count.
 */
const makeApi = (routes: ApiClient.ClientConfig["routes"]) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    let sent = 0
    const transport = HttpClient.tapRequest(
      yield* HttpClient.HttpClient,
      (request) => Effect.sync(() => void (request.url.includes("/v1/items") && sent++))
    )
    const api = yield* ApiClient.make({
      baseUrl: `${sandbox.url}/v1`,
      auth: {
        tokenUrl: sandbox.tokenUrl,
        clientId: SandboxConfig.demoClient.clientId,
        clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
      },
      routes
    }).pipe(Effect.provideService(HttpClient.HttpClient, transport))
    return { api, sandbox, sent: () => sent }
  })

describe("hedged reads against the sandbox (real HTTP)", () => {
  it.live(
    "slow responses are hedged after 100 ms: every call answers well before the slow ones would",
    () =>
      Effect.gen(function*() {
        const { api, sandbox, sent } = yield* makeApi([
          { name: "item-list", match: "GET /items", hedging: { delay: "100 millis", maxHedges: 2 } }
        ])
        yield* api.get("/items?limit=1", Page) // the token, and a warm connection
        const before = sent()
        const hedgesBefore = (yield* Metric.value(
          Metric.taggedWithLabels(Plugins.metrics.hedges, [MetricLabel.make("route", "item-list")])
        )).count
        const calls = 12
        const durations: Array<number> = []
        for (let i = 0; i < calls; i++) {
          const [duration] = yield* Effect.timed(api.get("/items?limit=1", Page))
          durations.push(Duration.toMillis(duration))
        }
        const stats = yield* sandbox.stats
        const attempts = sent() - before
        const hedges = (yield* Metric.value(
          Metric.taggedWithLabels(Plugins.metrics.hedges, [MetricLabel.make("route", "item-list")])
        )).count - hedgesBefore
        // The seeded faults did make responses slow, and hedges answered instead.
        expect(stats.faultsInjected.latency ?? 0).toBeGreaterThan(0)
        expect(hedges).toBeGreaterThan(0)
        expect(attempts).toBe(calls + hedges)
        expect(Math.max(...durations)).toBeLessThan(SLOW_MS - 500)
      }).pipe(Effect.scoped, Effect.withRandom(Random.make(18)), Effect.provide(withSandbox)),
    30_000
  )

  it.live("without a hedging rule the same calls wait for the slow responses", () =>
    Effect.gen(function*() {
      const { api } = yield* makeApi([])
      yield* api.get("/items?limit=1", Page)
      const durations: Array<number> = []
      for (let i = 0; i < 12; i++) {
        const [duration] = yield* Effect.timed(api.get("/items?limit=1", Page))
        durations.push(Duration.toMillis(duration))
      }
      expect(Math.max(...durations)).toBeGreaterThanOrEqual(SLOW_MS)
    }).pipe(Effect.scoped, Effect.withRandom(Random.make(18)), Effect.provide(withSandbox)), 60_000)
})
