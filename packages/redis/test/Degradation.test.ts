import { AccessToken, TokenStore } from "@bulwark/auth-token"
import { RedisConnection, RedisFleet, RedisRateLimiter, RedisTokenStore } from "@bulwark/redis"
import { Sandbox } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import {
  admin,
  makeLogCapture,
  makeReplica,
  Page,
  range,
  REDIS_URL,
  slowProxy,
  testPrefix,
  UNREACHABLE_URL,
  withSandbox
} from "./helpers.js"

const OPERATIONS = [
  "connect",
  "token.lock",
  "gate.read",
  "gate.close",
  "traffic.modify",
  "ratelimit.acquire"
] as const

const fallbackCounts = Effect.map(
  Effect.forEach(OPERATIONS, (operation) => RedisConnection.fallbackCount(operation)),
  (counts) => Object.fromEntries(OPERATIONS.map((operation, i) => [operation, counts[i]!]))
)

const withLimiter = (context: Context.Context<any>) =>
  RedisRateLimiter.plugin().pipe(
    Effect.provideService(RedisRateLimiter.RedisRateLimiter, Context.get(context, RedisRateLimiter.RedisRateLimiter)),
    Effect.map((plugin) => [plugin])
  )

describe("Redis down or slow", () => {
  it.live(
    "Redis unreachable: requests succeed per process, a warning is logged, the fallback metric counts; nothing hangs",
    () => {
      const logs = makeLogCapture()
      return Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const before = yield* fallbackCounts
        const started = Date.now()
        const replica = yield* makeReplica(
          RedisFleet.layer({
            redis: UNREACHABLE_URL,
            keyPrefix: "unreachable",
            rateLimit: { limit: 100, window: "1 second" }
          }),
          sandbox,
          { perAttempt: withLimiter }
        )
        yield* Effect.addFinalizer(() => replica.close)
        expect(Date.now() - started).toBeLessThan(2_500)

        const token = yield* replica.tokens.get
        const pages = yield* Effect.forEach(range(20), () => replica.api.get("/v1/items?limit=1", Page), {
          concurrency: 4
        })
        expect(pages).toHaveLength(20)
        expect(Date.now() - started).toBeLessThan(5_000)
        const stats = yield* sandbox.stats
        expect(stats.tokensIssued).toBe(1)
        expect(stats.requests["GET /v1/items"]).toEqual({ "200": 20 })

        const after = yield* fallbackCounts
        // The traffic controller's decisions go to the traffic store (which supersedes the gate's floor).
        for (const operation of ["connect", "token.lock", "traffic.modify", "ratelimit.acquire"]) {
          expect(after[operation]!, operation).toBeGreaterThan(before[operation]!)
        }
        const warnings = logs.lines.filter((line) => line.startsWith("WARN"))
        expect(warnings.some((line) => line.includes("Falling back to per-process state for traffic.modify"))).toBe(
          true
        )
        expect(warnings.some((line) => line.includes("The token store failed during lock"))).toBe(true)
        // Rate-limited: one warning per operation, not one per request.
        expect(warnings.filter((line) => line.includes("for traffic.modify")).length).toBe(1)
        expect(warnings.filter((line) => line.includes("for ratelimit.acquire")).length).toBe(1)
        // No secret anywhere: not the token, not the client secret.
        const value = Redacted.value(token.value)
        expect(logs.lines.filter((line) => line.includes(value) || line.includes("sbx_"))).toEqual([])
        expect(logs.lines.filter((line) => line.includes("sandbox-demo-secret"))).toEqual([])
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 41 })),
        Effect.provide(logs.layer)
      )
    },
    20_000
  )

  it.live(
    "Redis slow: every operation times out quickly, then a cool-down skips Redis; requests still succeed",
    () => {
      const logs = makeLogCapture()
      return Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const proxy = yield* slowProxy
        const replica = yield* makeReplica(
          RedisFleet.layer({
            redis: proxy.url,
            keyPrefix: prefix,
            timeout: "100 millis",
            token: { operationTimeout: "200 millis" },
            rateLimit: { limit: 100, window: "1 second" }
          }),
          sandbox,
          { perAttempt: withLimiter }
        )
        yield* Effect.addFinalizer(() => replica.close)
        yield* replica.api.get("/v1/items?limit=1", Page)
        const before = yield* fallbackCounts

        proxy.stall(true)
        const started = Date.now()
        yield* Effect.forEach(range(10), () => replica.api.get("/v1/items?limit=1", Page))
        // Only the first attempt waited for the timeouts (the traffic store's decision, then the rate limit, then
        // the answer's decision; a cool-down skips Redis after that): about 300 ms.
        expect(Date.now() - started).toBeLessThan(1_500)
        // A revoked token while Redis is slow: the provider's store operations time out (200 ms) and it
        // refreshes on its own.
        yield* sandbox.revokeTokens()
        const refreshStarted = Date.now()
        yield* replica.api.get("/v1/items?limit=1", Page)
        expect(Date.now() - refreshStarted).toBeLessThan(2_000)
        proxy.stall(false)

        const after = yield* fallbackCounts
        expect(after["traffic.modify"]!).toBeGreaterThan(before["traffic.modify"]!)
        expect(after["ratelimit.acquire"]!).toBeGreaterThan(before["ratelimit.acquire"]!)
        expect(logs.lines.some((line) => line.includes("did not answer traffic.modify in time (100 ms)"))).toBe(true)
        expect(logs.lines.some((line) => line.includes("The token store failed"))).toBe(true)
        expect(logs.lines.filter((line) => line.includes("sbx_"))).toEqual([])
        expect((yield* sandbox.stats).requests["GET /v1/items"]?.["200"]).toBe(12)
      }).pipe(
        Effect.scoped,
        Effect.provide(withSandbox({ seed: 42 })),
        Effect.provide(logs.layer)
      )
    },
    20_000
  )

  it.scopedLive("a failing Redis reply never carries the stored value into an error message", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const secret = "sbx_secret_in_a_list"
      // The token key holds a list (another program's data): GET fails with WRONGTYPE.
      yield* Effect.promise(() => redis.rpush(`bulwark:${prefix}:token:default`, secret))
      yield* Effect.promise(() => redis.pexpire(`bulwark:${prefix}:token:default`, 10_000))
      const store = yield* Effect.map(
        Layer.build(RedisTokenStore.layer({ redis: REDIS_URL, keyPrefix: prefix })),
        Context.get(TokenStore.TokenStore)
      )
      const error = yield* Effect.flip(store.get)
      expect(error.message).toContain("WRONGTYPE")
      expect(error.message).not.toContain(secret)
      expect(JSON.stringify(error)).not.toContain(secret)
      const token = yield* AccessToken.make({ value: secret, expiresIn: "1 minute" })
      const deleted = yield* Effect.either(store.compareAndDelete(token))
      expect(JSON.stringify(deleted)).not.toContain(secret)
    }))
})
