/**
 * Effect `Schedule`s and services for retrying calls to a partner HTTP API correctly and boundedly.
 *
 * @since 0.1.0
 */

/**
 * Capped exponential backoff with `none`, `full`, `equal` or `decorrelated` jitter.
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * An ambient deadline that retry schedules never sleep past.
 *
 * @since 0.1.0
 */
export * as Deadline from "./Deadline.js"

/**
 * A retry budget (token bucket) shared by all requests of a client.
 *
 * @since 0.1.0
 */
export * as RetryBudget from "./RetryBudget.js"

/**
 * `honorRetryAfter`, `withDeadline`, `whileRetryable` and the `standard` policy.
 *
 * @since 0.1.0
 */
export * as RetrySchedule from "./RetrySchedule.js"
