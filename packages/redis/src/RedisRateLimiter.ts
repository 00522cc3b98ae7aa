/**
 * A fleet-wide client-side rate limit: every replica takes its requests' slots from one schedule in Redis,
 * so the fleet as a whole stays under the API's quota instead of discovering it through 429s.
 *
 * The algorithm is GCRA (a token bucket expressed as one timestamp), in one Lua script per request:
 *
 * - one key per limited key (by default the request's origin), `bulwark:<keyPrefix>:ratelimit:<name>:<key>`,
 *   holds the theoretical arrival time of the next request in microseconds of **Redis' clock** (`TIME`), with
 *   a TTL of exactly the time it takes to drain: idle limits leave nothing behind, and replicas' clocks play
 *   no part;
 * - with the default `burst: 1` requests are spaced evenly, `window / limit` apart (rounded up to the
 *   microsecond), so any interval of one `window` holds at most `limit` of them (at most
 *   `limit + burst - 1` with a larger burst): a fixed-window quota on the server is never exceeded by the
 *   fleet's own traffic, whatever the phase of its windows;
 * - a request whose wait would exceed `maxWait` reserves nothing and fails at once with
 *   `RateLimitExceeded`, so under sustained overload callers that give up never consume slots that others
 *   could have used.
 *
 * When Redis is down or slow, each replica applies the same algorithm in memory at `fallbackLimit`
 * (default: `limit`, per process), logs a rate-limited warning and counts
 * `bulwark_redis_fallbacks_total{operation="ratelimit.acquire"}`.
 *
 * Why not `@effect/experimental`'s `RateLimiter` with its Redis store: see the package README.
 *
 * @since 0.1.0
 */
import type { ApiClient } from "@bulwark/http-client"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { Redis } from "ioredis"
import * as internal from "./internal/rateLimiter.js"
import type { ConnectionOptions, LayerOptions, RedisConfigError, RedisConnection } from "./RedisConnection.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests per `window` for the whole fleet. Leave headroom under the API's quota (e.g. 15 of 20). */
  readonly limit: number
  /** The quota's window, e.g. `"1 second"`. */
  readonly window: Duration.DurationInput
  /** Requests that may go back to back after an idle period. Default: 1 (evenly spaced). */
  readonly burst?: number | undefined
  /** The longest a request waits for its slot; beyond it, `RateLimitExceeded` at once. Default: 30 s. */
  readonly maxWait?: Duration.DurationInput | undefined
  /** Each replica's own limit while Redis is unavailable. Default: `limit`. */
  readonly fallbackLimit?: number | undefined
  /** Which limit, when several share one key prefix. Default: `"default"`. */
  readonly name?: string | undefined
}

/**
 * The wait for a slot would have exceeded `maxWait`: the request was not sent and no slot was used.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>(
  "@bulwark/redis/RateLimitExceeded"
)("RateLimitExceeded", {
  key: Schema.String,
  wait: Schema.DurationFromMillis,
  maxWait: Schema.DurationFromMillis
}) {
  override get message(): string {
    const wait = Math.round(Duration.toMillis(this.wait))
    const maxWait = Math.round(Duration.toMillis(this.maxWait))
    return `The fleet-wide rate limit for ${this.key} is booked ${wait} ms ahead, more than maxWait (${maxWait} ms): ` +
      "the request was not sent. Send less, or raise limit (within the API's quota) or maxWait."
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Books the next slot of `key` and returns how long to wait for it (nothing is booked on failure). `maxWait` may lower the configured one, e.g. to the time left before a deadline. */
  readonly reserve: (key: string, maxWait?: Duration.Duration) => Effect.Effect<Duration.Duration, RateLimitExceeded>
  /** Books the next slot of `key` and waits for it. */
  readonly acquire: (key: string, maxWait?: Duration.Duration) => Effect.Effect<void, RateLimitExceeded>
  readonly limit: number
  readonly window: Duration.Duration
  readonly burst: number
  readonly maxWait: Duration.Duration
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RedisRateLimiter extends Context.Tag("@bulwark/redis/RedisRateLimiter")<RedisRateLimiter, Service>() {}

/**
 * A limiter on the `RedisConnection` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Service, RedisConfigError, RedisConnection> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layerWithConnection: (
  options: Options
) => Layer.Layer<RedisRateLimiter, RedisConfigError, RedisConnection> = internal.layerWithConnection

/**
 * A limiter on a connection of its own, opened for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options: Options & LayerOptions) => Layer.Layer<RedisRateLimiter, RedisConfigError> =
  internal.layer

/**
 * A limiter on an ioredis client you own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: (
  client: Redis,
  options: Options & ConnectionOptions
) => Layer.Layer<RedisRateLimiter, RedisConfigError> = internal.layerClient

/**
 * Runs `self` in the next fleet-wide slot of `key`.
 *
 * @example
 * ```ts
 * import { RedisRateLimiter } from "@bulwark/redis"
 * import { Effect } from "effect"
 *
 * const sendReport = Effect.log("POST /reports").pipe(RedisRateLimiter.withRateLimit("reports"))
 * // Effect<void, RateLimitExceeded, RedisRateLimiter>
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRateLimit: {
  (
    key: string
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded, R | RedisRateLimiter>
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | RateLimitExceeded, R | RedisRateLimiter>
} = internal.withRateLimit

/**
 * The limiter as a per-attempt plugin for `ApiClient.make(config, { perAttempt: [plugin] })`: every attempt
 * (first or retry) waits for its slot, keyed by the request's origin (or `key`). It sits inside the 429 gate
 * and outside the attempt timeout, so the wait does not eat into the attempt's time. A wait beyond
 * `maxWait` fails the attempt with `Timeout` (phase `deadline`, not retried), carrying the explanation.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@bulwark/http-client"
 * import { RedisRateLimiter } from "@bulwark/redis"
 * import { Effect } from "effect"
 *
 * const makeApi = Effect.gen(function*() {
 *   const limit = yield* RedisRateLimiter.plugin()
 *   return yield* ApiClient.make({ baseUrl: "https://api.partner.example/v1" }, { perAttempt: [limit] })
 * })
 * ```
 *
 * @since 0.1.0
 * @category plugins
 */
export const plugin: (
  options?: { readonly key?: string | undefined }
) => Effect.Effect<ApiClient.Plugin, never, RedisRateLimiter> = internal.plugin

/**
 * The plugin of a given limiter.
 *
 * @since 0.1.0
 * @category plugins
 */
export const pluginWith: (limiter: Service, options?: { readonly key?: string | undefined }) => ApiClient.Plugin =
  internal.pluginWith
