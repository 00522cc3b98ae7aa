import { ApiClient } from "@bulwark/http-client"
import { RedisFleet, RedisRateLimiter } from "@bulwark/redis"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { admin, keysOf, Page, range, REDIS_URL, testPrefix, withSandbox } from "./helpers.js"

describe("RedisFleet", () => {
  it.live(
    "the README's setup: ApiClient.make with its own auth takes the store and the gate from the fleet layer",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const redis = yield* admin
        const Fleet = RedisFleet.layer({
          redis: REDIS_URL,
          keyPrefix: prefix,
          token: { encryptionKey: Redacted.make("11".repeat(32)) },
          rateLimit: { limit: 50, window: "1 second" }
        })
        const PartnerApi = Layer.scoped(
          ApiClient.ApiClient,
          Effect.gen(function*() {
            const fleetLimit = yield* RedisRateLimiter.plugin()
            return yield* ApiClient.make({
              baseUrl: sandbox.url,
              auth: {
                tokenUrl: sandbox.tokenUrl,
                clientId: SandboxConfig.demoClient.clientId,
                clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
              }
            }, { perAttempt: [fleetLimit] })
          })
        ).pipe(Layer.provide(Layer.merge(Fleet, NodeHttpClient.layerUndici)))

        // Two "replicas" built from the same layer description: two connections, one token.
        const calls = Effect.gen(function*() {
          const api = yield* ApiClient.ApiClient
          return yield* Effect.forEach(range(5), () => api.get("/v1/items?limit=1", Page))
        })
        yield* Effect.all([Effect.provide(calls, PartnerApi), Effect.provide(calls, PartnerApi)], {
          concurrency: "unbounded"
        })
        const stats = yield* sandbox.stats
        expect(stats.tokensIssued).toBe(1)
        expect(stats.requests["GET /v1/items"]).toEqual({ "200": 10 })
        // What is left: the token with its TTL, the traffic controller's state of the origin (TTL: idle 10 min),
        // and possibly the rate-limit schedule if it has not drained yet
        // (its TTL is the time it takes to drain, so on a loaded machine it may still be there). Every key
        // has a TTL: nothing leaks.
        const keys = yield* keysOf(redis, prefix)
        const tokenKey = `bulwark:${prefix}:token:default`
        expect(keys).toContain(tokenKey)
        expect(
          keys.filter((key) => key !== tokenKey).every((key) =>
            key.includes(":ratelimit:") || key.includes(":traffic:")
          )
        ).toBe(true)
        expect(yield* Effect.promise(() => redis.pttl(tokenKey))).toBeGreaterThan(3_500_000)
        // -1 would be a key without a TTL (a leak); -2 means the rate-limit key drained and expired between
        // the listing and this check, which is what its TTL is for.
        for (const key of keys) expect(yield* Effect.promise(() => redis.pttl(key))).not.toBe(-1)
      }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 51 }))),
    20_000
  )

  it.scopedLive("reports every option problem of every component at once", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(RedisFleet.layer({
          redis: "http://not-redis",
          keyPrefix: "",
          token: { lease: "forever" as never },
          gate: { maxCooldown: 0 },
          rateLimit: { limit: -1, window: "1 second" }
        }))
      )
      expect(error._tag).toBe("RedisConfigError")
      for (const word of ["redis must be", "keyPrefix", "lease", "maxCooldown", "limit"]) {
        expect(error.message).toContain(word)
      }
    }))
})
