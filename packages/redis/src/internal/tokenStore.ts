import { AccessToken, TokenStore } from "@bulwark/auth-token"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Redis } from "ioredis"
import {
  type ConnectionOptions,
  type LayerOptions,
  RedisConfigError,
  RedisConnection,
  type RedisError,
  type Service as Connection
} from "../RedisConnection.js"
import type { Options } from "../RedisTokenStore.js"
import * as connection from "./connection.js"
import * as crypto from "./crypto.js"
import { tokenStoreDefaults as defaults, tokenStoreIssues, validateTokenStore } from "./options.js"

// Deletes the stored token only if it is the one being invalidated. The value is compared by fingerprint:
// with encryption on, Redis holds no plaintext to compare with.
const compareAndDeleteScript = connection.script(`
local raw = redis.call("GET", KEYS[1])
if not raw then return 0 end
local ok, record = pcall(cjson.decode, raw)
if ok and type(record) == "table" and record.f == ARGV[1] then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
`)

// Releases the refresh lock only if it still holds this owner's fencing token: a holder whose lease
// expired must not delete the lock the next holder took.
const releaseScript = connection.script(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
`)

const Record = Schema.parseJson(Schema.Struct({
  v: Schema.Literal(1),
  /** fingerprint of the value */
  f: Schema.String,
  /** token type */
  t: Schema.String,
  /** lifetime in ms */
  l: Schema.Number,
  /** scope */
  s: Schema.optional(Schema.String),
  /** the value, in plaintext */
  x: Schema.optional(Schema.String),
  /** the value, sealed with AES-256-GCM */
  e: Schema.optional(Schema.String)
}))

type Record = typeof Record.Type

const decodeRecord = Schema.decodeUnknownOption(Record)
const encodeRecord = Schema.encodeSync(Record)

interface Settings {
  readonly tokenKey: string
  readonly lockKey: string
  readonly leaseMillis: number
  readonly lockTimeoutMillis: number
  readonly operationTimeout: Duration.Duration
  readonly key: Buffer | undefined
}

// The provider's message is "The token store failed during <operation>: <detail>. ...": no final period here.
const storeError = (operation: TokenStore.TokenStoreError["operation"], detail: string) =>
  new TokenStore.TokenStoreError({ operation, cause: new Error(detail.replace(/\.+$/, "")) })

/** @internal */
export const make = (options?: Options): Effect.Effect<TokenStore.Service, RedisConfigError, RedisConnection> =>
  Effect.gen(function*() {
    const conn = yield* RedisConnection
    const issues: Array<string> = []
    const valid = validateTokenStore(options, issues)
    if (issues.length > 0) return yield* Effect.fail(new RedisConfigError({ issues }))
    return makeWith(conn, {
      tokenKey: conn.key("token", valid.name),
      lockKey: conn.key("token", valid.name, "lock"),
      leaseMillis: valid.leaseMillis,
      lockTimeoutMillis: valid.lockTimeoutMillis,
      operationTimeout: Duration.millis(valid.operationTimeoutMillis),
      key: valid.key
    })
  })

const makeWith = (conn: Connection, settings: Settings): TokenStore.Service => {
  const { key, lockKey, tokenKey } = settings

  // Token store failures are warned about by the provider (which falls back to its local token); here
  // they are counted.
  const failed = (
    operation: TokenStore.TokenStoreError["operation"],
    metricName: string
  ) =>
  (error: RedisError) =>
    Effect.zipRight(
      Metric.increment(connection.fallbacksFor(metricName)),
      Effect.fail(storeError(operation, error.message))
    )

  const toToken = (record: Record, pttl: number, now: number): Option.Option<AccessToken.AccessToken> => {
    const value = record.e !== undefined && key !== undefined
      ? crypto.decrypt(key, record.e, tokenKey)
      : record.e === undefined
      ? record.x
      : undefined
    if (value === undefined) return Option.none()
    // The expiry is rebuilt from Redis' own TTL, not from the writer's clock: replicas whose clocks
    // disagree still agree on how long the token has left.
    // (Never beyond the token's lifetime, even if Redis' clock stepped back and stretched the TTL.)
    const expiresAt = now + Math.min(pttl, record.l)
    return Option.some(
      new AccessToken.AccessToken({
        value: Redacted.make(value),
        type: record.t,
        issuedAt: expiresAt - record.l,
        expiresAt,
        scope: record.s
      })
    )
  }

  const get: TokenStore.Service["get"] = conn.run(
    "token.get",
    async (redis: Redis) => {
      const replies = await redis.multi().get(tokenKey).pttl(tokenKey).exec()
      // A transaction reports each command's error in its reply.
      const failure = replies?.find(([error]) => error !== null)?.[0]
      if (failure) throw failure
      return replies
    },
    settings.operationTimeout
  ).pipe(
    Effect.catchAll(failed("get", "token.get")),
    Effect.flatMap((replies) => {
      const raw = replies?.[0]?.[1]
      const pttl = replies?.[1]?.[1]
      if (raw === null || raw === undefined || typeof pttl !== "number" || pttl <= 0) {
        return Effect.succeed(Option.none())
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const record = decodeRecord(raw)
        if (Option.isNone(record)) {
          return Effect.zipRight(
            Metric.increment(connection.fallbacksFor("token.get")),
            Effect.fail(storeError("get", "the stored token record is not in the expected format"))
          )
        }
        const token = toToken(record.value, pttl, now)
        if (Option.isNone(token)) {
          return Effect.zipRight(
            Metric.increment(connection.fallbacksFor("token.get")),
            Effect.fail(
              storeError(
                "get",
                record.value.e === undefined
                  ? "the stored token has no value"
                  : "the stored token cannot be decrypted: it was written with another encryptionKey (or none), or altered"
              )
            )
          )
        }
        return Effect.succeed(token)
      })
    })
  )

  const set: TokenStore.Service["set"] = (token) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const ttl = Math.floor(token.expiresAt - now)
      if (ttl <= 0) return Effect.void
      const value = Redacted.value(token.value)
      const record: Record = {
        v: 1,
        f: crypto.fingerprint(key, value),
        t: token.type,
        l: Math.max(1, Math.round(token.lifetimeMillis)),
        ...(token.scope === undefined ? {} : { s: token.scope }),
        ...(key === undefined ? { x: value } : { e: crypto.encrypt(key, value, tokenKey) })
      }
      const encoded = encodeRecord(record)
      return conn.run("token.set", (redis) => redis.set(tokenKey, encoded, "PX", ttl), settings.operationTimeout).pipe(
        Effect.catchAll(failed("set", "token.set")),
        Effect.asVoid
      )
    })

  const compareAndDelete: TokenStore.Service["compareAndDelete"] = (token) =>
    conn.script(
      "token.compareAndDelete",
      compareAndDeleteScript,
      [tokenKey],
      [crypto.fingerprint(key, Redacted.value(token.value))],
      settings.operationTimeout
    ).pipe(
      Effect.catchAll(failed("compareAndDelete", "token.compareAndDelete")),
      Effect.map((deleted) => deleted === 1)
    )

  const tryLock = (fence: string) =>
    conn.run(
      "token.lock",
      (redis) => redis.set(lockKey, fence, "PX", settings.leaseMillis, "NX"),
      settings.operationTimeout
    ).pipe(
      Effect.map((reply) => reply === "OK")
    )

  // Polls with a small, growing, jittered delay (5 ms doubling up to 50 ms) until the lock is free,
  // for at most `lockTimeout`. A holder that crashed frees it when its lease runs out.
  const acquire = (fence: string): Effect.Effect<void, TokenStore.TokenStoreError> =>
    Effect.flatMap(Clock.currentTimeMillis, (start) => {
      const loop = (attempt: number): Effect.Effect<void, TokenStore.TokenStoreError> =>
        Effect.flatMap(tryLock(fence).pipe(Effect.catchAll(failed("lock", "token.lock"))), (acquired) => {
          if (acquired) return Effect.void
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const waited = now - start
            if (waited >= settings.lockTimeoutMillis) {
              return Effect.zipRight(
                Metric.increment(connection.fallbacksFor("token.lock")),
                Effect.fail(
                  storeError(
                    "lock",
                    `another replica held the refresh lock for more than ${settings.lockTimeoutMillis} ms`
                  )
                )
              )
            }
            const cap = Math.min(defaults.pollCap, defaults.pollBase * 2 ** Math.min(attempt, 10))
            return Effect.flatMap(Random.next, (u) => {
              const delay = Math.min(cap * (0.5 + u / 2), settings.lockTimeoutMillis - waited)
              return Effect.zipRight(Effect.sleep(Duration.millis(Math.max(1, delay))), loop(attempt + 1))
            })
          })
        })
      return loop(0)
    })

  const release = (fence: string): Effect.Effect<void> =>
    conn.script("token.unlock", releaseScript, [lockKey], [fence], settings.operationTimeout).pipe(
      Effect.asVoid,
      // Not released: the lease frees it.
      Effect.catchAll(() => Metric.increment(connection.fallbacksFor("token.unlock")))
    )

  const withRefreshLock: TokenStore.Service["withRefreshLock"] = (effect) =>
    Effect.uninterruptibleMask((restore) => {
      const fence = crypto.fence()
      return restore(acquire(fence)).pipe(
        // A failed or interrupted acquisition may still have set the lock (a reply lost to the timeout):
        // releasing with our own fencing token is harmless either way.
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : release(fence))),
        Effect.zipRight(restore(effect).pipe(Effect.ensuring(release(fence))))
      )
    })

  return { get, set, compareAndDelete, withRefreshLock }
}

/** @internal */
export const layerWithConnection = (
  options?: Options
): Layer.Layer<TokenStore.TokenStore, RedisConfigError, RedisConnection> =>
  Layer.effect(TokenStore.TokenStore, make(options))

const own = connection.ownConnectionLayers(layerWithConnection, tokenStoreIssues)

/** @internal */
export const layer: (options?: Options & LayerOptions) => Layer.Layer<TokenStore.TokenStore, RedisConfigError> =
  own.layer

/** @internal */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<TokenStore.TokenStore, RedisConfigError> = own.layerClient
