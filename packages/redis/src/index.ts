/**
 * Fleet-wide state for `@bulwark/http-client` on Redis (ioredis): one shared access token with a refresh
 * lock, the traffic controller's shared state (floor, pace, learned rate, outage probe), a shared 429
 * cool-down gate and a shared client-side rate limit, each degrading to per-process behaviour when Redis is
 * down or slow.
 *
 * @since 0.1.0
 */

/**
 * The Redis connection the components run on: key namespace, per-operation timeout, fallback metric.
 *
 * @since 0.1.0
 */
export * as RedisConnection from "./RedisConnection.js"

/**
 * Everything on one connection: token store, 429 gate and (optionally) the rate limiter.
 *
 * @since 0.1.0
 */
export * as RedisFleet from "./RedisFleet.js"

/**
 * The fleet-wide 429 gate (`RateLimitGate` of `@bulwark/http-client`).
 *
 * @since 0.1.0
 */
export * as RedisRateLimitGate from "./RedisRateLimitGate.js"

/**
 * The fleet-wide client-side rate limit (GCRA in Redis), as a per-attempt plugin and a combinator.
 *
 * @since 0.1.0
 */
export * as RedisRateLimiter from "./RedisRateLimiter.js"

/**
 * The traffic controller's state on Redis (`TrafficStore` of `@bulwark/http-client`): one floor, one pace,
 * one learned rate and one outage probe for the whole fleet.
 *
 * @since 0.2.0
 */
export * as RedisTrafficStore from "./RedisTrafficStore.js"

/**
 * The shared `TokenStore` of `@bulwark/auth-token`, with a refresh lock.
 *
 * @since 0.1.0
 */
export * as RedisTokenStore from "./RedisTokenStore.js"
