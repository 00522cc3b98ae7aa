import { TokenStore } from "@bulwark/auth-token"
import { RateLimitGate } from "@bulwark/http-client"
import { RedisRateLimitGate } from "@bulwark/redis"
import { Sandbox } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Option } from "effect"
import { admin, fleetLayer, makeReplica, Page, range, REDIS_URL, testPrefix, withSandbox } from "./helpers.js"

const ORIGIN = "https://api.partner.example"

const gateFor = (prefix: string, options?: RedisRateLimitGate.Options) =>
  Effect.map(
    Layer.build(RedisRateLimitGate.layer({ redis: REDIS_URL, keyPrefix: prefix, ...options })),
    Context.get(RateLimitGate.RateLimitGate)
  )

describe("RedisRateLimitGate", () => {
  it.scopedLive("a cool-down closed by one replica is seen by another, on Redis' clock, and only ever extended", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* gateFor(prefix)
      const b = yield* gateFor(prefix)
      expect(yield* b.closedUntil(ORIGIN)).toEqual(Option.none())

      const until = Date.now() + 2_000
      yield* a.close(ORIGIN, until)
      const seen = Option.getOrThrow(yield* b.closedUntil(ORIGIN))
      expect(Math.abs(seen - until)).toBeLessThan(100)
      const key = `bulwark:${prefix}:gate:${ORIGIN}`
      const pttl = yield* Effect.promise(() => redis.pttl(key))
      expect(pttl).toBeGreaterThan(1_800)
      expect(pttl).toBeLessThanOrEqual(2_000)

      // A shorter Retry-After seen by another replica does not shorten it.
      yield* b.close(ORIGIN, Date.now() + 500)
      expect(yield* Effect.promise(() => redis.pttl(key))).toBeGreaterThan(1_500)
      // A longer one extends it.
      yield* b.close(ORIGIN, Date.now() + 3_000)
      expect(yield* Effect.promise(() => redis.pttl(key))).toBeGreaterThan(2_800)
      // Other origins are not affected.
      expect(yield* a.closedUntil("https://other.example")).toEqual(Option.none())
    }))

  it.scopedLive("maxCooldown caps the stored cool-down; an expired cool-down leaves no key", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* gateFor(prefix, { maxCooldown: "300 millis" })
      yield* a.close(ORIGIN, Date.now() + 60_000)
      const key = `bulwark:${prefix}:gate:${ORIGIN}`
      expect(yield* Effect.promise(() => redis.pttl(key))).toBeLessThanOrEqual(300)
      yield* Effect.sleep("400 millis")
      expect(yield* Effect.promise(() => redis.exists(key))).toBe(0)
      expect(yield* a.closedUntil(ORIGIN)).toEqual(Option.none())
    }))

  it.scopedLive("with refreshInterval a replica notices another's cool-down within that interval", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const a = yield* gateFor(prefix)
      const b = yield* gateFor(prefix, { refreshInterval: "300 millis" })
      expect(yield* b.closedUntil(ORIGIN)).toEqual(Option.none())
      yield* a.close(ORIGIN, Date.now() + 5_000)
      // b still uses what it read a moment ago...
      expect(yield* b.closedUntil(ORIGIN)).toEqual(Option.none())
      // ...and reads again once the interval has passed.
      yield* Effect.sleep("350 millis")
      expect(Option.isSome(yield* b.closedUntil(ORIGIN))).toBe(true)
      // Its own closes are honoured at once.
      yield* b.close("https://own.example", Date.now() + 1_000)
      expect(Option.isSome(yield* b.closedUntil("https://own.example"))).toBe(true)
    }))

  it.scopedLive("concurrent attempts share one read", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* gateFor(prefix)
      yield* a.close(ORIGIN, Date.now() + 1_000)
      const before = Number(
        (yield* Effect.promise(() => redis.info("stats"))).match(/total_commands_processed:(\d+)/)![1]
      )
      const answers = yield* Effect.forEach(range(100), () => a.closedUntil(ORIGIN), { concurrency: "unbounded" })
      const after = Number(
        (yield* Effect.promise(() => redis.info("stats"))).match(/total_commands_processed:(\d+)/)![1]
      )
      expect(answers.every(Option.isSome)).toBe(true)
      // One PTTL (plus the INFO itself), not 100 — other tests may run commands meanwhile, hence the margin.
      expect(after - before).toBeLessThan(50)
    }))
})

describe("RedisRateLimitGate with the sandbox", () => {
  // Replica A sends three calls at the start of a quota window (limit 2 per second): the third gets a 429
  // with Retry-After. Then replica B sends one call.
  const scenario = (fleetA: Layer.Layer<any, any>, fleetB: Layer.Layer<any, any>) =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const a = yield* makeReplica(fleetA, sandbox)
      const b = yield* makeReplica(fleetB, sandbox)
      yield* Effect.addFinalizer(() => Effect.zipRight(a.close, b.close))
      yield* a.tokens.get
      yield* b.tokens.get
      yield* Effect.sleep(1_000 - (Date.now() % 1_000) + 20)
      const calls = yield* Effect.fork(Effect.forEach(range(3), () => a.api.get("/v1/items?limit=1", Page)))
      for (let i = 0; i < 200 && (yield* sandbox.stats).rateLimited === 0; i++) yield* Effect.sleep("5 millis")
      yield* Effect.sleep("30 millis")
      const started = Date.now()
      yield* b.api.get("/v1/items?limit=1", Page)
      const waited = Date.now() - started
      yield* Fiber.join(calls)
      return { waited, stats: yield* sandbox.stats }
    })

  it.live(
    "one replica's 429 pauses the others: nothing is sent before Retry-After has passed",
    () =>
      Effect.gen(function*() {
        const prefix = yield* testPrefix
        const { stats, waited } = yield* scenario(fleetLayer(prefix), fleetLayer(prefix))
        expect(stats.rateLimited).toBe(1)
        expect(stats.earlyRetries).toEqual({})
        expect(waited).toBeGreaterThan(500)
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 21, quota: { limit: 2, windowSeconds: 1 } }))
      ),
    20_000
  )

  it.live(
    "control: with per-process gates the other replica collects its own 429, sent early",
    () =>
      Effect.gen(function*() {
        const perProcess = Layer.merge(TokenStore.layerMemory, RateLimitGate.layerMemory)
        const { stats } = yield* scenario(perProcess, perProcess)
        expect(stats.rateLimited).toBeGreaterThanOrEqual(2)
        expect(Object.values(stats.earlyRetries).reduce((x, y) => x + y, 0)).toBeGreaterThan(0)
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 22, quota: { limit: 2, windowSeconds: 1 } }))
      ),
    20_000
  )
})
