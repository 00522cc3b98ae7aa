/**
 * Retry policies for a partner HTTP API, as Effect `Schedule`s whose input is the error of the
 * failed attempt. They compose with `Effect.retry` and with `@effect/platform`'s `HttpClient.retry`.
 *
 * - {@link honorRetryAfter}: the next delay is `max(schedule's delay, Retry-After)`; a Retry-After
 *   above `maxRetryAfter` stops the retries so the caller sees the original error.
 * - {@link withDeadline} / {@link withTimeBudget}: never start a delay that would end past the
 *   deadline; stop instead.
 * - {@link whileRetryable}: retry only what `@bulwark/core-errors`' `retryDecision` calls `retry`
 *   or `retry-after`.
 * - {@link standard}: all of the above with full-jitter backoff: the default policy of an API client.
 *
 * @since 0.1.0
 */
import type { ApiError } from "@bulwark/core-errors"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Backoff from "./Backoff.js"
import * as internal from "./internal/schedules.js"

/**
 * How long {@link honorRetryAfter} waits at most for a Retry-After by default: 60 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxRetryAfter: Duration.Duration = internal.defaultMaxRetryAfter

/**
 * How many retries after rate limits {@link standard} makes by default: 10.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxRateLimitRetries: number = internal.defaultMaxRateLimitRetries

/**
 * How many retries of transient failures {@link standard} makes by default: 3 (so at most 4 attempts).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxRetries: number = internal.defaultMaxRetries

/**
 * What a Retry-After asks for: a duration from now, or an absolute instant (`{ at }`, epoch
 * milliseconds of the `Clock`).
 *
 * @since 0.1.0
 * @category models
 */
export type RetryAfterRequest = Duration.Duration | { readonly at: number }

/**
 * @since 0.1.0
 * @category models
 */
export interface HonorRetryAfterOptions<In> {
  /** A Retry-After longer than this stops the retries. Default: 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * Reads the Retry-After carried by an input. Default: the `retryAfter` of an `ApiError` (or the
   * `retryAt` of a `RateLimited`). A reader that throws is treated as reading none.
   */
  readonly read?: ((input: In) => Option.Option<RetryAfterRequest>) | undefined
}

/**
 * Makes a schedule wait at least as long as the Retry-After its input carries.
 *
 * With `backoff({ jitter: "none" })` (200 ms, 400 ms, ...) and a 429 asking for 3 s, the next delay
 * is 3 s; with a 503 asking for 0 s it stays 200 ms; with a 429 asking for 2 minutes (above the
 * default `maxRetryAfter` of 60 s) the schedule stops and the `RateLimited` error is surfaced.
 *
 * @example
 * ```ts
 * import { Backoff, RetrySchedule } from "@bulwark/retry-schedules"
 * import type { ApiError } from "@bulwark/core-errors"
 * import { Effect, Schedule } from "effect"
 *
 * declare const call: Effect.Effect<string, ApiError.ApiError>
 *
 * const policy = Backoff.backoff().pipe(
 *   Schedule.intersect(Schedule.recurs(5)),
 *   RetrySchedule.honorRetryAfter({ maxRetryAfter: "30 seconds" })
 * )
 * const program = call.pipe(Effect.retry(policy))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const honorRetryAfter: {
  <In>(
    options?: HonorRetryAfterOptions<In>
  ): <Out, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, options?: HonorRetryAfterOptions<In>): Schedule.Schedule<Out, In, R>
} = internal.honorRetryAfter

/**
 * @since 0.1.0
 * @category models
 */
export interface DeadlineOptions {
  /** An absolute deadline, epoch milliseconds of the `Clock`. Without it, `Deadline.currentDeadline` is used. */
  readonly deadline?: number | undefined
  /** Time an attempt needs: a delay is started only if it ends at least this long before the deadline. */
  readonly reserve?: Duration.DurationInput | undefined
}

/**
 * Stops instead of starting a delay that would end past the deadline: the explicit `deadline`, the
 * ambient one set with `Deadline.within`, whichever is earlier. Without either, it changes nothing.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withDeadline: {
  (options?: DeadlineOptions): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, options?: DeadlineOptions): Schedule.Schedule<Out, In, R>
} = internal.withDeadline

/**
 * Like {@link withDeadline} with a deadline `budget` after the schedule's first step (the first
 * failure). To count the first attempt too, use `Deadline.within` around the whole call.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeBudget: {
  (
    budget: Duration.DurationInput,
    options?: { readonly reserve?: Duration.DurationInput | undefined }
  ): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>
  <Out, In, R>(
    self: Schedule.Schedule<Out, In, R>,
    budget: Duration.DurationInput,
    options?: { readonly reserve?: Duration.DurationInput | undefined }
  ): Schedule.Schedule<Out, In, R>
} = internal.withTimeBudget

/**
 * Continues only while the error's `retryDecision` is `retry` or `retry-after`: a `fail` error is
 * never retried and a `refresh-auth` one is left to the token layer (which refreshes once).
 *
 * @since 0.1.0
 * @category combinators
 */
export const whileRetryable: <Out, R>(
  self: Schedule.Schedule<Out, unknown, R>
) => Schedule.Schedule<Out, ApiError.ApiError, R> = internal.whileRetryable

/**
 * @since 0.1.0
 * @category models
 */
export interface StandardOptions extends Backoff.Options {
  /** Retries of transient failures (5xx, timeouts, network errors). Default: 3. */
  readonly maxRetries?: number | undefined
  /** Retries after rate limits (429, 503 with Retry-After), counted apart. Default: 10. */
  readonly maxRateLimitRetries?: number | undefined
  /** Default: 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * The policy an API client wants by default, driven by `ApiError.retryDecision`:
 *
 * - `retry` errors (5xx, timeouts, network errors) are retried with full-jitter backoff (base 200 ms,
 *   cap 10 s), at most 3 times;
 * - `retry-after` errors (429, 503 with Retry-After) wait `max(backoff, Retry-After)`, at most 10 times
 *   (counted apart from the transient retries: a rate limit says "not now", not "broken"), and stop when
 *   the Retry-After exceeds 60 s;
 * - `fail` errors are never retried; `refresh-auth` (401) is left to the client's token handling;
 * - an ambient `Deadline` is honoured.
 *
 * Add `RetryBudget.retry` (or `RetryBudget.withBudget`) to share a retry budget between calls.
 *
 * @example
 * ```ts
 * import { RetrySchedule } from "@bulwark/retry-schedules"
 * import type { ApiError } from "@bulwark/core-errors"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, ApiError.ApiError>
 *
 * const program = call.pipe(Effect.retry(RetrySchedule.standard({ maxRetries: 2 })))
 * ```
 *
 * @since 0.1.0
 * @category policies
 */
export const standard: (options?: StandardOptions) => Schedule.Schedule<Duration.Duration, ApiError.ApiError> =
  internal.standard

/**
 * The delays a schedule would take for the given inputs, stepping it without sleeping. Stops at the
 * first input the schedule declines. Handy in tests and for documenting a policy.
 *
 * @example
 * ```ts
 * import { Backoff, RetrySchedule } from "@bulwark/retry-schedules"
 * import { Effect } from "effect"
 *
 * const delays = RetrySchedule.delays(Backoff.backoff({ jitter: "none" }), [1, 2, 3, 4, 5])
 * // Effect resolving to [200 ms, 400 ms, 800 ms, 1.6 s, 3.2 s]
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const delays: <Out, In, R>(
  self: Schedule.Schedule<Out, In, R>,
  inputs: Iterable<In>,
  startMillis?: number
) => Effect.Effect<Array<Duration.Duration>, never, R> = internal.delays
