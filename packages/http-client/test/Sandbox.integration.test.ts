import { ApiClient, Plugins } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Metric, Random, Redacted, Schema } from "effect"
import { withRecordedSpans } from "./recordingTracer.js"

// Real HTTP over loopback against the sandbox, on the live clock (quotas and Retry-After are seconds).

const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String, price: Schema.Number })
const Page = Schema.Struct({ items: Schema.Array(Item), nextCursor: Schema.NullOr(Schema.String) })

const withSandbox = (config: Parameters<typeof Sandbox.layer>[0]) =>
  Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)

const makeApi = (overrides: Partial<ApiClient.ClientConfig> = {}, client = SandboxConfig.demoClient) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const api = yield* ApiClient.make({
      baseUrl: sandbox.url,
      auth: {
        tokenUrl: sandbox.tokenUrl,
        clientId: client.clientId,
        clientSecret: Redacted.make(client.clientSecret)
      },
      ...overrides
    })
    return { api, sandbox }
  })

const requestsTo = (stats: Sandbox.Service["stats"], route: string) =>
  Effect.map(stats, (s) => Object.values(s.requests[route] ?? {}).reduce((a, b) => a + b, 0))

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(5))

describe("ApiClient against the sandbox", () => {
  it.live("400 fails at once with the decoded details; 403 with the role to grant; one request each", () =>
    Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi()
      const bad = yield* Effect.flip(api.post("/v1/items", { sku: "", name: "x", price: -1 }, Item))
      expect(bad._tag).toBe("BadRequest")
      const fields = bad._tag === "BadRequest" ? bad.body?.details.map((d) => (d as { field: string }).field) : []
      expect(fields).toEqual(expect.arrayContaining(["sku", "price"]))
      expect(yield* requestsTo(sandbox.stats, "POST /v1/items")).toBe(1)

      const readOnly = yield* makeApi({}, SandboxConfig.readOnlyClient)
      const forbidden = yield* Effect.flip(readOnly.api.post("/v1/items", { sku: "a", name: "a", price: 1 }, Item))
      expect(forbidden._tag).toBe("Forbidden")
      expect(forbidden.message).toContain("Grant the service account the role")
      expect(yield* requestsTo(sandbox.stats, "POST /v1/items")).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 1 }))))

  it.live("a revoked token: one 401, one new token, one replay", () =>
    Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi()
      yield* api.get("/v1/items", Page)
      yield* sandbox.revokeTokens()
      yield* api.get("/v1/items", Page)
      const stats = yield* sandbox.stats
      expect(stats.tokensIssued).toBe(2)
      expect(stats.requests["GET /v1/items"]).toEqual({ "200": 2, "401": 1 })
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 2 }))))

  // Requests already in flight when the first 429 of a window is sent arrive "early" at the server; no
  // client can recall them. What the gate guarantees is that nothing is *sent* during a cool-down: with one
  // call at a time there is never an early request, and with N concurrent calls at most N - 1 per window.
  const earlyCount = (early: Readonly<Record<string, number>>) => Object.values(early).reduce((a, b) => a + b, 0)

  for (const format of ["delta-seconds", "http-date"] as const) {
    it.live(
      `429 with Retry-After as ${format}: sequential calls never send before it passes`,
      () =>
        seeded(Effect.gen(function*() {
          const { api, sandbox } = yield* makeApi()
          yield* Effect.forEach(Array.from({ length: 14 }), () => api.get("/v1/items?limit=1", Page))
          const stats = yield* sandbox.stats
          expect(stats.rateLimited).toBeGreaterThan(0)
          expect(stats.earlyRetries).toEqual({})
        })).pipe(
          Effect.scoped,
          Effect.provide(withSandbox({ seed: 3, quota: { limit: 6, windowSeconds: 1 }, retryAfterFormat: format }))
        ),
      30_000
    )

    it.live(
      `429 with Retry-After as ${format}: concurrent calls wait for the cool-down`,
      () =>
        seeded(Effect.gen(function*() {
          const { api, sandbox } = yield* makeApi()
          const waitsBefore = (yield* Metric.value(Plugins.metrics.gateWaits)).count
          const started = Date.now()
          const results = yield* Effect.forEach(Array.from({ length: 40 }), () => api.get("/v1/items?limit=1", Page), {
            concurrency: 8
          })
          const windows = Math.ceil((Date.now() - started) / 1000) + 1
          expect(results).toHaveLength(40)
          const stats = yield* sandbox.stats
          expect(stats.rateLimited).toBeGreaterThan(0)
          // A delta-seconds Retry-After is at least 1 s, so other calls must have waited at the gate. (An
          // HTTP-date names the window's end and can be "now" by the time it arrives.)
          if (format === "delta-seconds") {
            expect((yield* Metric.value(Plugins.metrics.gateWaits)).count).toBeGreaterThan(waitsBefore)
          }
          expect(earlyCount(stats.earlyRetries)).toBeLessThanOrEqual(7 * windows)
        })).pipe(
          Effect.scoped,
          Effect.provide(withSandbox({ seed: 3, quota: { limit: 15, windowSeconds: 1 }, retryAfterFormat: format }))
        ),
      30_000
    )
  }

  it.live("a reset after processing on a keyed POST is retried and the item exists exactly once", () =>
    seeded(Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi()
      const created = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => api.post("/v1/items", { sku: `sku-${i}`, name: `Item ${i}`, price: i }, Item),
        { concurrency: 4 }
      )
      expect(created).toHaveLength(30)
      const stats = yield* sandbox.stats
      expect(stats.faultsInjected.resetAfter).toBeGreaterThan(0)
      expect(stats.itemsStored).toBe(30)
      expect(stats.duplicateSkus).toBe(0)
      expect(stats.duplicateCreationsPrevented).toBe(stats.faultsInjected.resetAfter)
    })).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 4, faults: { resetAfter: 0.3 } }))))

  it.live("an unkeyed POST is not retried after a reset (it may have been applied); a GET is", () =>
    seeded(Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi({ idempotency: { autoKey: false } })
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => Effect.either(api.post("/v1/items", { sku: `u-${i}`, name: "x", price: 1 }, Item))
      )
      const failed = outcomes.filter((o) => o._tag === "Left")
      const stats = yield* sandbox.stats
      expect(failed.length).toBe(stats.faultsInjected.resetAfter)
      expect(failed.every((f) => f._tag === "Left" && f.left._tag === "NetworkError")).toBe(true)
      // Each failed POST was applied once and never re-sent.
      expect(yield* requestsTo(sandbox.stats, "POST /v1/items")).toBe(20)
      expect(stats.itemsStored).toBe(20)
      yield* api.get("/v1/items", Page)
    })).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 6, faults: { resetAfter: 0.3 } }))))

  it.live("hung responses time out per attempt and idempotent calls are retried", () =>
    seeded(Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi({ attemptTimeout: "300 millis" })
      const results = yield* Effect.forEach(Array.from({ length: 20 }), () => api.get("/v1/items", Page), {
        concurrency: 5
      })
      expect(results).toHaveLength(20)
      expect((yield* sandbox.stats).faultsInjected.hang).toBeGreaterThan(0)
    })).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 8, faults: { hang: 0.15 } }))))

  it.live("a full outage (100% 503, no Retry-After) stays within the retry budget", () =>
    seeded(Effect.gen(function*() {
      const { api, sandbox } = yield* makeApi({
        budget: { capacity: 50 },
        retry: { base: "1 millis", cap: "5 millis" }
      })
      const calls = 200
      yield* Effect.forEach(Array.from({ length: calls }), () => Effect.either(api.get("/v1/items", Page)), {
        concurrency: 16
      })
      // 200 first attempts + at most capacity / retryCost = 10 retries.
      expect(yield* requestsTo(sandbox.stats, "GET /v1/items")).toBe(calls + 10)
    })).pipe(
      Effect.scoped,
      Effect.provide(withSandbox({ seed: 9, faults: { serverError: { probability: 1, statuses: [503] } } }))
    ))

  it.live(
    "realistic preset: 2,000 logical calls all succeed, nothing is duplicated",
    () =>
      seeded(Effect.gen(function*() {
        const { api, sandbox } = yield* makeApi()
        const before = yield* Plugins.attemptCounts
        const logical = 2000
        yield* Effect.forEach(
          Array.from({ length: logical }, (_, i) => i),
          (i): Effect.Effect<unknown, ApiClient.CallError> =>
            i % 2 === 0
              ? api.post("/v1/items", { sku: `r-${i}`, name: `Item ${i}`, price: i }, Item)
              : api.get("/v1/items?limit=5", Page),
          { concurrency: 32, discard: true }
        )
        const stats = yield* sandbox.stats
        const after = yield* Plugins.attemptCounts
        const attempts = Object.keys(after).reduce(
          (sum, reason) => sum + after[reason as Plugins.RetryReason] - before[reason as Plugins.RetryReason],
          0
        )
        expect(after.initial - before.initial).toBe(logical)
        const amplification = attempts / logical
        expect(stats.itemsStored).toBe(logical / 2)
        expect(stats.duplicateSkus).toBe(0)
        expect(amplification).toBeLessThan(1.1)
        // Reported for the record (visible with --reporter=verbose); the assertions above are the contract.
        yield* Effect.logInfo(
          `realistic: ${logical} calls, ${attempts} attempts, amplification ${amplification.toFixed(3)}, ` +
            `${stats.rateLimited} 429s, ${earlyCount(stats.earlyRetries)} in-flight early arrivals`
        )
      })).pipe(
        Effect.scoped,
        // The preset's quota (50 per second) would make this test last 40 s; 400 per second keeps real 429s.
        Effect.provide(withSandbox({ preset: "realistic", seed: 10, quota: { limit: 400, windowSeconds: 1 } }))
      ),
    60_000
  )

  it.live("one span per call, one child span per attempt with status and retry reason; no secret anywhere", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make((options) => logs.push(JSON.stringify(options)))
      const { api, sandbox } = yield* makeApi()
      const { result: error, spans } = yield* withRecordedSpans(
        Effect.gen(function*() {
          yield* api.get("/v1/items", Page)
          yield* sandbox.revokeTokens()
          // A 401 (the revoked token), a refresh, then the 404 of a missing item.
          return yield* Effect.flip(api.get("/v1/items/does-not-exist", Item))
        }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
      expect(error._tag).toBe("NotFound")

      const calls = spans.filter((span) => span.name === "bulwark.http.call")
      expect(calls).toHaveLength(2)
      const attempts = spans.filter((span) => span.name === "bulwark.http.attempt")
      expect(attempts.every((span) => span.parent === "bulwark.http.call")).toBe(true)
      expect(attempts.map((span) => [
        span.attributes.get("bulwark.attempt"),
        span.attributes.get("bulwark.retry_reason"),
        span.attributes.get("http.response.status_code")
      ])).toEqual([[1, "initial", 200], [1, "initial", 401], [2, "401-refresh", 404]])
      expect(calls[1]!.attributes.get("bulwark.outcome")).toBe("NotFound")

      const attributes = spans.flatMap((span) => [...span.attributes.values()].map((value) => String(value)))
      const texts = [String(error), JSON.stringify(error), error.message, ...logs, ...attributes]
      expect(attributes.length).toBeGreaterThan(0)
      for (const text of texts) {
        expect(text).not.toContain(SandboxConfig.demoClient.clientSecret)
        expect(text).not.toMatch(/sbx_[0-9a-f]{8}/)
      }
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 11 }))))
})
