import { type ApiClient, Plugins } from "@bulwark/http-client"
import { RedisRateLimiter } from "@bulwark/redis"
import { Sandbox } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { admin, fleetLayer, keysOf, makeReplica, Page, range, REDIS_URL, testPrefix, withSandbox } from "./helpers.js"

const limiterFor = (prefix: string, options: RedisRateLimiter.Options) =>
  Effect.map(
    Layer.build(RedisRateLimiter.layer({ redis: REDIS_URL, keyPrefix: prefix, ...options })),
    Context.get(RedisRateLimiter.RedisRateLimiter)
  )

const millis = (d: Duration.Duration) => Duration.toMillis(d)

describe("RedisRateLimiter", () => {
  it.scopedLive("replicas on separate connections share one evenly spaced schedule", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* limiterFor(prefix, { limit: 10, window: "1 second" })
      const b = yield* limiterFor(prefix, { limit: 10, window: "1 second" })
      const waits: Array<number> = []
      for (const i of range(10)) waits.push(millis(yield* (i % 2 === 0 ? a : b).reserve("k")))
      // Slot n is n × 100 ms after the first, minus the few ms the loop itself took.
      waits.forEach((wait, n) => {
        expect(wait).toBeGreaterThan(n * 100 - 40)
        expect(wait).toBeLessThanOrEqual(n * 100)
      })
      const keys = yield* keysOf(redis, prefix)
      expect(keys).toEqual([`bulwark:${prefix}:ratelimit:default:k`])
      const pttl = yield* Effect.promise(() => redis.pttl(keys[0]!))
      expect(pttl).toBeGreaterThan(900)
      expect(pttl).toBeLessThanOrEqual(1_000)
    }))

  it.scopedLive("a request that would wait beyond maxWait books nothing and fails with RateLimitExceeded", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const a = yield* limiterFor(prefix, { limit: 10, window: "1 second", maxWait: "250 millis" })
      const booked = yield* Effect.forEach(range(3), () => a.reserve("k"))
      expect(booked.map(millis).map((w) => Math.round(w / 100))).toEqual([0, 1, 2])
      const error = yield* Effect.flip(a.reserve("k"))
      expect(error._tag).toBe("RateLimitExceeded")
      expect(error.message).toContain("maxWait (250 ms)")
      yield* Effect.flip(a.reserve("k"))
      // The rejected requests took no slot: 100 ms later the fourth slot (300 ms after the first) is in reach.
      yield* Effect.sleep("100 millis")
      const next = millis(yield* a.reserve("k"))
      expect(next).toBeGreaterThan(120)
      expect(next).toBeLessThanOrEqual(200)
    }))

  it.scopedLive("a caller's own maxWait (the time left before its deadline) lowers the configured one", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const a = yield* limiterFor(prefix, { limit: 10, window: "1 second", maxWait: "5 seconds" })
      yield* Effect.forEach(range(3), () => a.reserve("k"))
      // The next slot is ~300 ms away: fine for the limiter's 5 s, too far for a caller with 150 ms left.
      const error = yield* Effect.flip(a.reserve("k", Duration.millis(150)))
      expect(error._tag).toBe("RateLimitExceeded")
      expect(error.message).toContain("maxWait (150 ms)")
      const wait = millis(yield* a.reserve("k"))
      expect(wait).toBeGreaterThan(200)
    }))

  it.scopedLive("burst lets that many requests go back to back, then spaces the rest", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const a = yield* limiterFor(prefix, { limit: 10, window: "1 second", burst: 3 })
      const waits = yield* Effect.forEach(range(5), () => a.reserve("k"))
      expect(waits.map(millis).map((w) => Math.round(w / 100))).toEqual([0, 0, 0, 1, 2])
    }))

  it.scopedLive("a schedule booked further ahead than any booking can reach (Redis' clock stepped back) restarts", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* limiterFor(prefix, { limit: 10, window: "1 second", maxWait: "1 second" })
      const [seconds] = yield* Effect.promise(() => redis.time())
      const key = `bulwark:${prefix}:ratelimit:default:k`
      yield* Effect.promise(() => redis.set(key, String((Number(seconds) + 3_600) * 1_000_000), "PX", 60_000))
      expect(millis(yield* a.reserve("k"))).toBe(0)
      expect(yield* Effect.promise(() => redis.pttl(key))).toBeLessThanOrEqual(100)
    }))

  it.scopedLive("withRateLimit runs an effect in its slot", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const layer = RedisRateLimiter.layer({ redis: REDIS_URL, keyPrefix: prefix, limit: 20, window: "1 second" })
      const started = Date.now()
      const times = yield* Effect.forEach(range(5), () =>
        Effect.sync(() => Date.now() - started).pipe(RedisRateLimiter.withRateLimit("jobs"))).pipe(
          Effect.provide(layer)
        )
      expect(times[4]!).toBeGreaterThanOrEqual(190)
    }))

  it.scopedLive("rejects bad options with a typed error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(RedisRateLimiter.layer({ redis: REDIS_URL, limit: 0, window: "soon" as never, burst: 1.5 }))
      )
      expect(error._tag).toBe("RedisConfigError")
      expect(error.message).toContain("limit")
      expect(error.message).toContain("window")
      expect(error.message).toContain("burst")
    }))
})

const sent: Array<number> = []
const recordSends: ApiClient.Plugin = (self) =>
  Plugins.stage(self, (request, send) => Effect.zipRight(Effect.sync(() => sent.push(Date.now())), send(request)))

describe("RedisRateLimiter with the sandbox", () => {
  it.live(
    "4 replicas under a shared 15/s limit stay under the API's 20/s quota: zero 429s",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const fleet = fleetLayer(prefix, { rateLimit: { limit: 15, window: "1 second" } })
        const replicas = yield* Effect.forEach(range(4), () =>
          makeReplica(fleet, sandbox, {
            // The recorder runs inside the limiter: it sees when each attempt really leaves.
            perAttempt: (context) =>
              RedisRateLimiter.plugin().pipe(
                Effect.provideService(
                  RedisRateLimiter.RedisRateLimiter,
                  Context.get(context, RedisRateLimiter.RedisRateLimiter)
                ),
                Effect.map((plugin) => [recordSends, plugin])
              )
          }))
        yield* Effect.addFinalizer(() => Effect.forEach(replicas, (r) => r.close, { discard: true }))
        yield* Effect.forEach(replicas, (r) => r.tokens.get)

        const started = Date.now()
        yield* Effect.forEach(
          replicas,
          (replica) =>
            Effect.forEach(
              range(12),
              () => replica.api.get("/v1/items?limit=1", Page),
              { concurrency: 4 }
            ),
          { concurrency: "unbounded" }
        )
        const elapsed = Date.now() - started
        const stats = yield* sandbox.stats
        expect(stats.rateLimited).toBe(0)
        expect(stats.requests["GET /v1/items"]).toEqual({ "200": 48 })
        // 48 requests evenly spaced at 15/s take at least 47 × 66.7 ms.
        expect(elapsed).toBeGreaterThan(3_000)
        // The observed rate in every 1-s window, not only the server's aligned ones, stays under the quota
        // (15 slots per second; a late timer on this loaded event loop can bunch a few together).
        expect(sent).toHaveLength(48)
        const most = Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 1_000).length))
        expect(most).toBeLessThan(20)
      }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 31, quota: { limit: 20, windowSeconds: 1 } }))),
    30_000
  )
})
