import { ApiError, Redaction } from "@bulwark/core-errors"
import type { ApiClient } from "@bulwark/http-client"
import { Plugins } from "@bulwark/http-client"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import {
  type ConnectionOptions,
  type LayerOptions,
  RedisConfigError,
  RedisConnection,
  type Service as Connection
} from "../RedisConnection.js"
import { type Options, RateLimitExceeded, RedisRateLimiter, type Service } from "../RedisRateLimiter.js"
import * as connection from "./connection.js"
import { rateLimiterIssues, type RateLimiterSettings, validateRateLimiter } from "./options.js"

// GCRA (the generic cell rate algorithm, a token bucket without a refill timer): one key per limit holds
// the "theoretical arrival time" of the next request, in microseconds of Redis' own clock (TIME), with a TTL
// of exactly the time it takes to drain. A request may go at TAT - tau; it reserves its slot (TAT += T)
// only when its wait fits in max_wait, so requests that give up never use slots others could have had.
// Times come from Redis alone: replicas' clocks play no part.
const gcraScript = connection.script(`
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
-- The caller's own limit (the time left before its deadline), never above max_wait. The clock-step guard
-- below must use max_wait: other callers may have booked up to it.
local caller_wait = tonumber(ARGV[4])
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call("GET", KEYS[1]))
-- A TAT further ahead than any booking can reach means Redis' clock stepped back: start afresh.
if not tat or tat < now or tat > now + max_wait + tau + interval then tat = now end
local wait = tat - tau - now
if wait < 0 then wait = 0 end
if wait > caller_wait then return { 0, wait } end
local next_tat = tat + interval
redis.call("SET", KEYS[1], string.format("%.0f", next_tat), "PX", math.ceil((next_tat - now) / 1000))
return { 1, wait }
`)

/** @internal */
export const make = (options: Options): Effect.Effect<Service, RedisConfigError, RedisConnection> =>
  Effect.gen(function*() {
    const conn = yield* RedisConnection
    const settings = validateRateLimiter(options)
    if (!("limit" in settings)) return yield* Effect.fail(new RedisConfigError({ issues: settings }))
    return makeWith(conn, settings)
  })

const makeWith = (conn: Connection, settings: RateLimiterSettings): Service => {
  const intervalMicros = Math.ceil((settings.windowMillis * 1000) / settings.limit)
  const tauMicros = (settings.burst - 1) * intervalMicros
  const fallbackInterval = settings.windowMillis / settings.fallbackLimit
  const fallbackTau = (settings.burst - 1) * fallbackInterval
  const local = new Map<string, number>()

  const exceeded = (key: string, waitMillis: number, maxWaitMillis: number) =>
    new RateLimitExceeded({
      key,
      wait: Duration.millis(waitMillis),
      maxWait: Duration.millis(maxWaitMillis)
    })

  // A caller may allow less than `maxWait` (the time left before its deadline), never more.
  const capOf = (maxWait: Duration.Duration | undefined) =>
    maxWait === undefined
      ? settings.maxWaitMillis
      : Math.max(0, Math.min(settings.maxWaitMillis, Duration.toMillis(maxWait)))

  // The same algorithm in this process, at `fallbackLimit`, while Redis is unavailable.
  const reserveLocally = (key: string, capMillis: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const tat = Math.max(local.get(key) ?? now, now)
      const wait = Math.max(0, tat - fallbackTau - now)
      if (wait > capMillis) return Effect.fail(exceeded(key, wait, capMillis))
      local.set(key, tat + fallbackInterval)
      if (local.size > 1000) {
        for (const [k, t] of local) if (t < now) local.delete(k)
      }
      return Effect.succeed(Duration.millis(wait))
    })

  const reserve = (key: string, maxWait?: Duration.Duration): Effect.Effect<Duration.Duration, RateLimitExceeded> => {
    const capMillis = capOf(maxWait)
    return conn.script(
      "ratelimit.acquire",
      gcraScript,
      [conn.key("ratelimit", settings.name, key)],
      [intervalMicros, tauMicros, Math.floor(settings.maxWaitMillis * 1000), Math.floor(capMillis * 1000)]
    ).pipe(
      Effect.matchEffect({
        onFailure: (error) =>
          Effect.zipRight(conn.fallback("ratelimit.acquire", error), reserveLocally(key, capMillis)),
        onSuccess: (reply) => {
          const [admitted, waitMicros] = Array.isArray(reply) ? reply as Array<unknown> : []
          if (typeof admitted !== "number" || typeof waitMicros !== "number") return reserveLocally(key, capMillis)
          const wait = waitMicros / 1000
          return admitted === 1 ? Effect.succeed(Duration.millis(wait)) : Effect.fail(exceeded(key, wait, capMillis))
        }
      })
    )
  }

  const acquire = (key: string, maxWait?: Duration.Duration): Effect.Effect<void, RateLimitExceeded> =>
    Effect.flatMap(reserve(key, maxWait), (wait) => (Duration.isZero(wait) ? Effect.void : Effect.sleep(wait)))

  return {
    reserve,
    acquire,
    limit: settings.limit,
    window: Duration.millis(settings.windowMillis),
    burst: settings.burst,
    maxWait: Duration.millis(settings.maxWaitMillis)
  }
}

/** @internal */
export const layerWithConnection = (
  options: Options
): Layer.Layer<RedisRateLimiter, RedisConfigError, RedisConnection> => Layer.effect(RedisRateLimiter, make(options))

const own = connection.ownConnectionLayers(layerWithConnection, rateLimiterIssues)

/** @internal */
export const layer: (options: Options & LayerOptions) => Layer.Layer<RedisRateLimiter, RedisConfigError> = own.layer

/** @internal */
export const layerClient: (
  client: Redis,
  options: Options & ConnectionOptions
) => Layer.Layer<RedisRateLimiter, RedisConfigError> = own.layerClient

/** @internal */
export const withRateLimit = dual<
  (
    key: string
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded, R | RedisRateLimiter>,
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string) => Effect.Effect<A, E | RateLimitExceeded, R | RedisRateLimiter>
>(2, (self, key) => Effect.flatMap(RedisRateLimiter, (limiter) => Effect.zipRight(limiter.acquire(key), self)))

/** @internal */
export const pluginWith =
  (limiter: Service, options?: { readonly key?: string | undefined }): ApiClient.Plugin =>
  <E, R>(self: HttpClient.HttpClient.With<E, R>) =>
    Plugins.stage(self, (request, send) =>
      // Never wait past the call's deadline: give up at once instead, so the caller learns it in time.
      Effect.flatMap(Effect.zip(Plugins.callDeadline, Clock.currentTimeMillis), ([deadline, now]) =>
        limiter.acquire(
          options?.key ?? Plugins.originOf(request.url),
          deadline._tag === "Some" ? Duration.millis(deadline.value - now) : undefined
        )).pipe(
          Effect.catchTag("RateLimitExceeded", (error) =>
            Effect.fail(
              new ApiError.Timeout({
                method: request.method,
                url: Redaction.url(request.url, Redaction.defaultRedactor),
                phase: "deadline",
                timeout: error.maxWait,
                cause: new Error(error.message)
              })
            )),
          Effect.zipRight(send(request))
        ))

/** @internal */
export const plugin = (
  options?: { readonly key?: string | undefined }
): Effect.Effect<ApiClient.Plugin, never, RedisRateLimiter> =>
  Effect.map(RedisRateLimiter, (limiter) => pluginWith(limiter, options))
