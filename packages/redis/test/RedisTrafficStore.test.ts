import { TrafficStore } from "@bulwark/http-client"
import { RedisTrafficStore } from "@bulwark/redis"
import { Sandbox } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { admin, fleetLayer, makeReplica, Page, range, REDIS_URL, testPrefix, withSandbox } from "./helpers.js"

const ORIGIN = "https://api.partner.example"

const storeFor = (prefix: string, options?: RedisTrafficStore.Options) =>
  Effect.map(
    Layer.build(RedisTrafficStore.layer({ redis: REDIS_URL, keyPrefix: prefix, ...options })),
    Context.get(TrafficStore.TrafficStore)
  )

describe("RedisTrafficStore", () => {
  it.scopedLive("concurrent replicas' decisions are atomic: none is lost, each key has the idle TTL", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* storeFor(prefix)
      const b = yield* storeFor(prefix, { idleTtl: "1 minute" })
      // 100 increments from two replicas at once, back to back: a replica whose compare-and-set lost takes the
      // origin's turn, so neither starves the other.
      const increment = (store: TrafficStore.Service) =>
        store.modify(ORIGIN, (stored) => {
          const next = Number(stored ?? "0") + 1
          return [next, String(next)] as const
        })
      yield* Effect.all(range(100).map((i) => increment(i % 2 === 0 ? a : b)), { concurrency: "unbounded" })
      const key = `bulwark:${prefix}:traffic:${ORIGIN}`
      expect(yield* Effect.promise(() => redis.get(key))).toBe("100")
      const pttl = yield* Effect.promise(() => redis.pttl(key))
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(10 * 60_000)
      // A decision that changes nothing writes nothing, but still sees the latest state.
      const seen = yield* a.modify(ORIGIN, (stored) => [stored, stored ?? ""] as const)
      expect(seen).toBe("100")
    }))

  it.scopedLive("bad options are a RedisConfigError naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(storeFor("x", { idleTtl: "10 millis" }))
      expect(error._tag).toBe("RedisConfigError")
      expect(error.message).toContain("idleTtl")
    }))

  it.live(
    "replicas pace as one: the pace one learned from the headers spaces every replica's requests",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const replicas = yield* Effect.all(range(3).map(() => makeReplica(fleetLayer(prefix), sandbox)))
        yield* Effect.addFinalizer(() => Effect.all(replicas.map((replica) => replica.close)))
        // The first answer advertises the policy: 20 per second.
        yield* replicas[0]!.api.get("/v1/items?limit=1", Page)
        yield* Effect.sleep("1100 millis") // past the first window, whose rest is spread differently
        const started = Date.now()
        // 3 replicas × 5 calls at once: one schedule at ~20/s, so the 15 take at least ~14 intervals.
        yield* Effect.all(
          replicas.map((replica) =>
            Effect.forEach(range(5), () => replica.api.get("/v1/items?limit=1", Page), { concurrency: 5 })
          ),
          { concurrency: "unbounded" }
        )
        const elapsed = Date.now() - started
        expect(elapsed).toBeGreaterThan(14 * 50 * 0.9)
        const stats = yield* sandbox.stats
        expect(stats.rateLimited).toBe(0)
        expect(stats.requests["GET /v1/items"]).toEqual({ "200": 16 })
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 61, quota: { limit: 20, windowSeconds: 1 }, rateLimitHeaders: "draft-11" }))
      ),
    20_000
  )

  it.live(
    "a 429 one replica receives pauses the others until its Retry-After: nothing reaches the API early",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const [a, b] = yield* Effect.all(range(2).map(() => makeReplica(fleetLayer(prefix), sandbox)))
        yield* Effect.addFinalizer(() => Effect.all([a!.close, b!.close]))
        // A calls until it collects a 429 (a window of 3 requests per 2 s is spent); the call that got it waits
        // out the Retry-After in the background.
        let callsOfA = 0
        const pending = yield* Effect.fork(
          Effect.gen(function*() {
            while (callsOfA < 8 && (yield* sandbox.stats).rateLimited === 0) {
              callsOfA++
              yield* a!.api.get("/v1/items?limit=1", Page)
            }
          })
        )
        // Until A has received the 429 and stored the pause (the fleet cannot know of it before).
        const redis = yield* admin
        const key = `bulwark:${prefix}:traffic:${new URL(sandbox.url).origin}`
        const pausedUntil = Effect.map(
          Effect.promise(() => redis.get(key)),
          (text) => text === null ? 0 : (JSON.parse(text) as { notBefore: number }).notBefore
        )
        while ((yield* pausedUntil) <= Date.now()) yield* Effect.sleep("2 millis")
        const paused = Date.now()
        // B's calls meanwhile wait for the same floor instead of collecting their own 429s.
        yield* Effect.forEach(range(2), () => b!.api.get("/v1/items?limit=1", Page), { concurrency: 2 })
        expect(Date.now() - paused).toBeGreaterThan(200)
        yield* pending.await
        const stats = yield* sandbox.stats
        expect(stats.rateLimited).toBe(1)
        expect(Object.values(stats.earlyRetries).reduce((x, y) => x + y, 0)).toBe(0)
        expect(stats.requests["GET /v1/items"]?.["200"]).toBe(callsOfA + 2)
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 62, quota: { limit: 3, windowSeconds: 2 } }))
      ),
    20_000
  )
})
