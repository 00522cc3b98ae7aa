import { AccessToken, TokenProvider, TokenSource, TokenStore } from "@bulwark/auth-token"
import { RedisTokenStore } from "@bulwark/redis"
import { Sandbox } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import {
  admin,
  demoSource,
  fleetLayer,
  keysOf,
  makeLogCapture,
  makeReplica,
  Page,
  range,
  REDIS_URL,
  testPrefix,
  withSandbox
} from "./helpers.js"

const SECRET = "tok-secret-value-7f3a"

const storeFor = (prefix: string, options?: RedisTokenStore.Options) =>
  Effect.map(
    Layer.build(RedisTokenStore.layer({ redis: REDIS_URL, keyPrefix: prefix, ...options })),
    Context.get(TokenStore.TokenStore)
  )

const aToken = (value: string, expiresIn: Duration.DurationInput = "1 hour") =>
  AccessToken.make({ value, expiresIn, scope: "items:read" })

describe("RedisTokenStore", () => {
  it.scopedLive("stores the token with a TTL of its time to expiry and reads it back on another connection", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* storeFor(prefix)
      const b = yield* storeFor(prefix)
      expect(yield* b.get).toEqual(Option.none())
      const token = yield* aToken(SECRET, "10 seconds")
      yield* a.set(token)
      const read = yield* b.get
      expect(Option.isSome(read)).toBe(true)
      const got = Option.getOrThrow(read)
      expect(AccessToken.sameValue(got, token)).toBe(true)
      expect(got.scope).toBe("items:read")
      expect(Math.abs(got.expiresAt - token.expiresAt)).toBeLessThan(200)
      const pttl = yield* Effect.promise(() => redis.pttl(`bulwark:${prefix}:token:default`))
      expect(pttl).toBeGreaterThan(9_000)
      expect(pttl).toBeLessThanOrEqual(10_000)
      // An expired token is not written at all.
      const expired = new AccessToken.AccessToken({
        value: Redacted.make("old"),
        issuedAt: Date.now() - 2000,
        expiresAt: Date.now() - 1000
      })
      yield* a.set(expired)
      expect(Option.map(yield* b.get, (t) => AccessToken.sameValue(t, token))).toEqual(Option.some(true))
    }))

  it.scopedLive("compare-and-delete removes only the token that was rejected, across connections", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const a = yield* storeFor(prefix)
      const b = yield* storeFor(prefix)
      const old = yield* aToken("old-token")
      const fresh = yield* aToken("new-token")
      yield* a.set(fresh)
      expect(yield* b.compareAndDelete(old)).toBe(false)
      expect(Option.isSome(yield* a.get)).toBe(true)
      expect(yield* b.compareAndDelete(fresh)).toBe(true)
      expect(yield* a.get).toEqual(Option.none())
      expect(yield* a.compareAndDelete(fresh)).toBe(false)
    }))

  it.scopedLive("with an encryption key Redis holds only ciphertext; a replica with another key refetches", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const key = Redacted.make(Buffer.alloc(32, 7).toString("base64"))
      const other = Redacted.make("ab".repeat(32))
      const a = yield* storeFor(prefix, { encryptionKey: key })
      const b = yield* storeFor(prefix, { encryptionKey: key })
      const c = yield* storeFor(prefix, { encryptionKey: other })
      const token = yield* aToken(SECRET)
      yield* a.set(token)
      const raw = yield* Effect.promise(() => redis.get(`bulwark:${prefix}:token:default`))
      expect(raw).not.toContain(SECRET)
      expect(AccessToken.sameValue(Option.getOrThrow(yield* b.get), token)).toBe(true)
      const error = yield* Effect.flip(c.get)
      expect(error._tag).toBe("TokenStoreError")
      expect(error.message).toContain("another encryptionKey")
      expect(error.message).not.toContain(SECRET)
      // compare-and-delete works on the fingerprint, without decrypting in Redis.
      expect(yield* b.compareAndDelete(token)).toBe(true)
    }))

  it.scopedLive("rejects bad options with a typed error that echoes no value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(RedisTokenStore.layer({
          redis: REDIS_URL,
          keyPrefix: "has space",
          encryptionKey: Redacted.make("not-a-key-but-a-secret"),
          lease: -1
        }))
      )
      expect(error._tag).toBe("RedisConfigError")
      expect(error.message).toContain("keyPrefix")
      expect(error.message).toContain("encryptionKey")
      expect(error.message).toContain("lease")
      expect(error.message).not.toContain("not-a-key-but-a-secret")
    }))

  it.scopedLive("the refresh lock: one holder at a time; an interrupted holder releases it at once", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const a = yield* storeFor(prefix, { lease: "5 seconds" })
      const b = yield* storeFor(prefix, { lease: "5 seconds" })
      const holding = yield* Deferred.make<void>()
      const holder = yield* a.withRefreshLock(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)).pipe(
        Effect.fork
      )
      yield* Deferred.await(holding)
      const lockKey = `bulwark:${prefix}:token:default:lock`
      const pttl = yield* Effect.promise(() => redis.pttl(lockKey))
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(5_000)
      // b waits while a holds the lock...
      const waiter = yield* b.withRefreshLock(Effect.succeed("b ran")).pipe(Effect.fork)
      yield* Effect.sleep("200 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      // ...and gets it as soon as a is interrupted (the finalizer releases it), not after the lease.
      const started = Date.now()
      yield* Fiber.interrupt(holder)
      expect(yield* Fiber.join(waiter)).toBe("b ran")
      expect(Date.now() - started).toBeLessThan(1_000)
      expect(yield* Effect.promise(() => redis.exists(lockKey))).toBe(0)
    }))

  it.scopedLive("a holder that crashed (connection gone, then interrupted) blocks refreshes only until its lease", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const crashing = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false })
      yield* Effect.promise(() => crashing.connect())
      yield* Effect.addFinalizer(() => Effect.sync(() => crashing.disconnect()))
      const scope = yield* Scope.make()
      const a = yield* Layer.buildWithScope(
        RedisTokenStore.layerClient(crashing, { keyPrefix: prefix, lease: "1 second" }),
        scope
      ).pipe(Effect.map(Context.get(TokenStore.TokenStore)))
      const b = yield* storeFor(prefix, { lease: "1 second" })
      const holding = yield* Deferred.make<void>()
      const holder = yield* a.withRefreshLock(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)).pipe(
        Effect.fork
      )
      yield* Deferred.await(holding)
      const acquiredAt = Date.now()
      // The process "dies": its connection drops, so its finalizer cannot release the lock.
      crashing.disconnect()
      yield* Fiber.interrupt(holder)
      yield* Scope.close(scope, Exit.void)
      const lockKey = `bulwark:${prefix}:token:default:lock`
      expect(yield* Effect.promise(() => redis.exists(lockKey))).toBe(1)
      const result = yield* b.withRefreshLock(Effect.sync(() => Date.now()))
      const waited = result - acquiredAt
      expect(waited).toBeGreaterThanOrEqual(900)
      expect(waited).toBeLessThan(2_000)
    }))
})

describe("RedisTokenStore with the sandbox: one token for the fleet", () => {
  it.live(
    "8 replicas, 200 concurrent gets each, no token yet; then a revocation: exactly 1 token request each time",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const logs = makeLogCapture()
        const replicas = yield* Effect.forEach(range(8), () => makeReplica(fleetLayer(prefix), sandbox), {
          concurrency: "unbounded"
        })
        yield* Effect.addFinalizer(() => Effect.forEach(replicas, (r) => r.close, { discard: true }))

        const tokens = yield* Effect.forEach(
          replicas,
          (replica) => Effect.forEach(range(200), () => replica.tokens.get, { concurrency: "unbounded" }),
          { concurrency: "unbounded" }
        ).pipe(Effect.provide(logs.layer))
        expect((yield* sandbox.stats).tokensIssued).toBe(1)
        const first = tokens[0]![0]!
        expect(tokens.flat().every((t) => AccessToken.sameValue(t, first))).toBe(true)

        // Revoked at the server: every replica's calls get a 401, invalidate that token (compare-and-delete
        // in Redis) and refresh; one replica fetches, the others read its token.
        yield* sandbox.revokeTokens()
        const pages = yield* Effect.forEach(
          replicas,
          (replica) =>
            Effect.forEach(range(25), () => replica.api.get("/v1/items?limit=1", Page), { concurrency: "unbounded" }),
          { concurrency: "unbounded" }
        ).pipe(Effect.provide(logs.layer))
        expect(pages.flat()).toHaveLength(200)
        const stats = yield* sandbox.stats
        expect(stats.tokensIssued).toBe(2)
        expect(stats.requests["GET /v1/items"]?.["200"]).toBe(200)
        const second = yield* replicas[5]!.tokens.get
        expect(AccessToken.sameValue(second, first)).toBe(false)
        expect(logs.lines.filter((line) => line.includes("sbx_"))).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 11 }))),
    30_000
  )

  it.live(
    "8 replicas at token expiry: the background refreshes of all replicas make 1 token request",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const replicas = yield* Effect.forEach(range(8), () => makeReplica(fleetLayer(prefix), sandbox))
        yield* Effect.addFinalizer(() => Effect.forEach(replicas, (r) => r.close, { discard: true }))
        const first = yield* Effect.forEach(replicas, (r) => r.tokens.get, { concurrency: "unbounded" })
        expect((yield* sandbox.stats).tokensIssued).toBe(1)
        // A 4 s token is refreshed in the background at 75–80% of its lifetime (3.0–3.2 s) by every replica at
        // about the same moment, and handed out until 3.6 s (a tenth of its lifetime before expiry).
        yield* Effect.sleep("3500 millis")
        const later = yield* Effect.forEach(
          replicas,
          (replica) => Effect.forEach(range(200), () => replica.tokens.get, { concurrency: "unbounded" }),
          { concurrency: "unbounded" }
        )
        expect((yield* sandbox.stats).tokensIssued).toBe(2)
        const next = later[0]![0]!
        expect(AccessToken.sameValue(next, first[0]!)).toBe(false)
        expect(later.flat().every((t) => AccessToken.sameValue(t, next))).toBe(true)
      }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 12, tokens: { lifetimeSeconds: 4 } }))),
    30_000
  )

  it.live(
    "killing the lock holder mid-refresh lets another replica refresh after the lease",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        // Replica A: its token source hangs, so A holds the refresh lock until it is killed.
        const crashing = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false })
        yield* Effect.promise(() => crashing.connect())
        yield* Effect.addFinalizer(() => Effect.sync(() => crashing.disconnect()))
        const fetching = yield* Deferred.make<void>()
        const hanging = TokenSource.fromEffect(Effect.zipRight(Deferred.succeed(fetching, undefined), Effect.never), {
          name: "hanging"
        })
        const scopeA = yield* Scope.make()
        const storeA = yield* Layer.buildWithScope(
          RedisTokenStore.layerClient(crashing, { keyPrefix: prefix, lease: "1500 millis" }),
          scopeA
        )
        const providerA = yield* TokenProvider.make(hanging).pipe(Effect.provide(storeA), Scope.extend(scopeA))
        const getA = yield* Effect.fork(providerA.get)
        yield* Deferred.await(fetching)
        const lockedAt = Date.now()

        // A dies mid-refresh: its connection is gone and its fibers are interrupted.
        crashing.disconnect()
        yield* Scope.close(scopeA, Exit.void)
        expect(Exit.isInterrupted(yield* Fiber.await(getA))).toBe(true)

        // Replica B waits for the lease to run out, then fetches from the sandbox.
        const storeB = yield* Layer.build(
          RedisTokenStore.layer({ redis: REDIS_URL, keyPrefix: prefix, lease: "1500 millis" })
        )
        const providerB = yield* TokenProvider.make(demoSource(sandbox)).pipe(Effect.provide(storeB))
        const token = yield* providerB.get
        const waited = Date.now() - lockedAt
        expect(waited).toBeGreaterThanOrEqual(1_400)
        expect(waited).toBeLessThan(3_000)
        expect(Redacted.value(token.value)).toMatch(/^sbx_/)
        expect((yield* sandbox.stats).tokensIssued).toBe(1)
      }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 13 }))),
    30_000
  )

  it.scopedLive("keys carry TTLs: token, lock", () =>
    Effect.gen(function*() {
      const prefix = yield* testPrefix
      const redis = yield* admin
      const store = yield* storeFor(prefix, { lease: "3 seconds" })
      yield* store.set(yield* aToken("t", "1 minute"))
      yield* store.withRefreshLock(Effect.gen(function*() {
        for (const key of yield* keysOf(redis, prefix)) {
          const pttl = yield* Effect.promise(() => redis.pttl(key))
          expect(pttl, key).toBeGreaterThan(0)
          expect(pttl, key).toBeLessThanOrEqual(60_000)
        }
      }))
      expect(yield* keysOf(redis, prefix)).toEqual([`bulwark:${prefix}:token:default`])
    }))
})
