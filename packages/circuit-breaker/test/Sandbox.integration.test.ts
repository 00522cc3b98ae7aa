import { CircuitBreaker } from "@bulwark/circuit-breaker"
import { ApiClient } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, Logger, Random, Redacted, Ref, Schema } from "effect"

// Real HTTP against the sandbox on the live clock: an outage of 4 s (100% 503, no Retry-After) in the middle
// of 8 s of steady traffic, with and without the breaker.

const Page = Schema.Struct({ items: Schema.Array(Schema.Unknown), nextCursor: Schema.NullOr(Schema.String) })

const serverRequests = (stats: Sandbox.Service["stats"]) =>
  Effect.map(stats, (s) => Object.values(s.requests["GET /v1/items"] ?? {}).reduce((a, b) => a + b, 0))

type FaultPlan = "outage" | "scaling-up"

/** Keeps the breaker's transition lines (`WARN closed -> open`) out of the test log, for the test to check. */
const captureLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
  )

const scenario = (withBreaker: boolean, plan: FaultPlan = "outage") => {
  const logged: Array<string> = []
  return Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const breaker = yield* CircuitBreaker.make({
      minimumThroughput: 20,
      window: "2 seconds",
      breakDuration: "1 second",
      maxBreakDuration: "2 seconds"
    })
    const api = yield* ApiClient.make(
      {
        baseUrl: sandbox.url,
        auth: {
          tokenUrl: sandbox.tokenUrl,
          clientId: SandboxConfig.demoClient.clientId,
          clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
        },
        budget: false,
        retry: { base: "20 millis", cap: "200 millis" }
      },
      { perAttempt: withBreaker ? [CircuitBreaker.plugin(breaker)] : [] }
    )
    const start = yield* Clock.currentTimeMillis
    const firstSuccessAfterRecovery = yield* Ref.make<number | undefined>(undefined)
    const recoveredAt = start + 5000
    const worker = Effect.gen(function*() {
      while ((yield* Clock.currentTimeMillis) - start < 8000) {
        const result = yield* Effect.either(api.get("/v1/items?limit=1", Page))
        const now = yield* Clock.currentTimeMillis
        if (result._tag === "Right" && now >= recoveredAt) {
          yield* Ref.update(firstSuccessAfterRecovery, (t) => t ?? now)
        }
        // Callers told the breaker is open back off a little, as a caller should.
        if (result._tag === "Left") yield* Effect.sleep("20 millis")
      }
    })
    const control = Effect.gen(function*() {
      yield* Effect.sleep("1 second")
      const before = yield* serverRequests(sandbox.stats)
      yield* sandbox.setFaults(
        plan === "outage"
          ? { serverError: { probability: 1, statuses: [503] } }
          // "The service is scaling up": 40% of requests get 503 with Retry-After for the window.
          : {
            windows: [{
              kind: "scaling-up",
              startAfterSeconds: 0,
              durationSeconds: 4,
              probability: 0.4,
              retryAfterSeconds: 1
            }]
          }
      )
      yield* Effect.sleep("4 seconds")
      yield* sandbox.setFaults({})
      const after = yield* serverRequests(sandbox.stats)
      return after - before
    })
    const [duringOutage] = yield* Effect.all([
      control,
      Effect.all(Array.from({ length: 8 }, () => worker), { concurrency: 8 })
    ], {
      concurrency: 2
    })
    const recovered = yield* Ref.get(firstSuccessAfterRecovery)
    return {
      duringOutage,
      recoveryMillis: recovered === undefined ? Infinity : recovered - recoveredAt,
      logged
    }
  }).pipe(Effect.scoped, Effect.provide(Layer.fresh(Sandbox.layer({ seed: 12 }))), Effect.provide(captureLogs(logged)))
}

describe("the breaker in the http-client pipeline, against the sandbox", () => {
  it.live(
    "far fewer requests reach the server during an outage, and it recovers within one break",
    () =>
      Effect.gen(function*() {
        const without = yield* scenario(false)
        const withBreaker = yield* scenario(true)
        const ratio = withBreaker.duringOutage / without.duringOutage
        yield* Effect.logInfo(
          `outage requests: ${without.duringOutage} without the breaker, ${withBreaker.duringOutage} with it (ratio ${
            ratio.toFixed(3)
          }); recovery ${withBreaker.recoveryMillis} ms`
        )
        expect(ratio).toBeLessThan(0.2)
        expect(withBreaker.logged.some((line) => line.startsWith("WARN") && line.includes("closed -> open"))).toBe(true)
        expect(without.logged.some((line) => line.includes("Circuit breaker"))).toBe(false)
        // Within one break (at most 2 s here: the break doubles while probes fail, capped) plus pacing.
        expect(withBreaker.recoveryMillis).toBeLessThan(2500)
      }).pipe(Effect.withRandom(Random.make(9)), Effect.provide(NodeHttpClient.layerUndici)),
    60_000
  )

  it.live(
    "a scaling-up window (40% 503 with Retry-After): recovery follows within a break",
    () =>
      Effect.gen(function*() {
        const without = yield* scenario(false, "scaling-up")
        const withBreaker = yield* scenario(true, "scaling-up")
        const ratio = withBreaker.duringOutage / without.duringOutage
        yield* Effect.logInfo(
          `scaling-up requests: ${without.duringOutage} without the breaker, ${withBreaker.duringOutage} with it (ratio ${
            ratio.toFixed(3)
          }); recovery ${withBreaker.recoveryMillis} ms`
        )
        // No traffic bound here: Retry-After already paces a client without the breaker, while calls the
        // open breaker refuses skip those waits, so measured traffic ranged from 0.5x to 1.2x. What must hold
        // is recovery within one break.
        expect(ratio).toBeGreaterThan(0)
        expect(withBreaker.recoveryMillis).toBeLessThan(2500)
      }).pipe(Effect.withRandom(Random.make(10)), Effect.provide(NodeHttpClient.layerUndici)),
    60_000
  )
})
