/**
 * A failure-ratio circuit breaker for Effect and `@bulwark/http-client`.
 *
 * @since 0.1.0
 */

/**
 * The breaker: service, layer, `withBreaker` combinator and http-client plugin.
 *
 * @since 0.1.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * The `CircuitOpen` error.
 *
 * @since 0.1.0
 */
export * as CircuitOpen from "./CircuitOpen.js"
