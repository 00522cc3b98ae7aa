/**
 * The resilient client for a partner HTTP API, composing `@bulwark/core-errors`,
 * `@bulwark/retry-schedules` and `@bulwark/auth-token`.
 *
 * @since 0.1.0
 */

/**
 * The standard pipeline from one config object, and typed helpers.
 *
 * @since 0.1.0
 */
export * as ApiClient from "./ApiClient.js"

/**
 * Each concern of the pipeline as its own plugin.
 *
 * @since 0.1.0
 */
export * as Plugins from "./Plugins.js"

/**
 * The per-origin 429 cool-down shared by all requests of a client.
 *
 * @since 0.1.0
 */
export * as RateLimitGate from "./RateLimitGate.js"

/**
 * The quota an API advertises in its response headers (IETF `RateLimit`/`RateLimit-Policy`, the older
 * `RateLimit-*` and `X-RateLimit-*`), parsed leniently: garbage means "no information".
 *
 * @since 0.2.0
 */
export * as RateLimitHeaders from "./RateLimitHeaders.js"

/**
 * Where the per-origin traffic controller keeps its state when several clients or replicas share one quota:
 * in memory, or on Redis with `@bulwark/redis`.
 *
 * @since 0.2.0
 */
export * as TrafficStore from "./TrafficStore.js"

/**
 * One policy document for a partner API: client settings and ordered route rules (`GET /reports/**`) with
 * per-route timeouts, deadlines, retries, idempotency, queueing, breaker and hedged reads; loaded from a file or
 * inline, secrets only from the `Config` provider.
 *
 * @since 0.2.0
 */
export * as Policy from "./Policy.js"
