/**
 * A fleet-wide 429 gate for `@bulwark/http-client`: a 429 with `Retry-After` seen by one replica pauses
 * that origin for every replica, instead of each one collecting its own 429.
 *
 * It implements http-client's `RateLimitGate` (the client's gate stage asks `closedUntil(origin)` before
 * every attempt and calls `close(origin, until)` after a 429):
 *
 * - `close` stores the cool-down as the TTL of `bulwark:<keyPrefix>:gate:<origin>` with a Lua script that
 *   only ever extends it (a shorter Retry-After never shortens a longer cool-down);
 * - `closedUntil` reads the key's `PTTL`, so the end of the cool-down is measured on Redis' clock and
 *   converted to the reader's: clock skew between replicas does not matter;
 * - by default Redis is read on every attempt (one `PTTL`, about 0.1 ms on a local Redis; concurrent
 *   attempts share the read in flight), so another replica's cool-down is honoured by the attempts that start
 *   after it was stored, give or take one round trip. `refreshInterval`
 *   trades that for fewer reads: a replica then reuses what it read for that long (the delay with which it
 *   may notice another replica's 429). Its own 429s are honoured at once either way.
 *
 * When Redis is down or slow the gate degrades to the in-memory behaviour: the replica honours its own
 * 429s (and the last cool-down it read), logs a rate-limited warning and counts
 * `bulwark_redis_fallbacks_total{operation="gate.read" | "gate.close"}`.
 *
 * @since 0.1.0
 */
import type { RateLimitGate } from "@bulwark/http-client"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import * as internal from "./internal/gate.js"
import type { ConnectionOptions, LayerOptions, RedisConfigError, RedisConnection } from "./RedisConnection.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How long a replica reuses what it read from Redis about an origin: the longest delay before it honours
   * another replica's 429. `0` reads Redis before every attempt. Default: 0.
   */
  readonly refreshInterval?: Duration.DurationInput | undefined
  /** The longest cool-down stored, whatever the Retry-After. Default: 1 hour. */
  readonly maxCooldown?: Duration.DurationInput | undefined
}

/**
 * The gate, on the `RedisConnection` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<RateLimitGate.Service, RedisConfigError, RedisConnection> = internal.make

/**
 * The gate on the `RedisConnection` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithConnection: (
  options?: Options
) => Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError, RedisConnection> = internal.layerWithConnection

/**
 * The gate on a connection of its own, opened for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  options?: Options & LayerOptions
) => Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError> = internal.layer

/**
 * The gate on an ioredis client you own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError> = internal.layerClient
