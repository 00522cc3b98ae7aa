/**
 * An ambient deadline for a call, carried in a `FiberRef` so that every retry schedule built with
 * `RetrySchedule.withDeadline` (including `RetrySchedule.standard`) stops instead of sleeping past it.
 * Nested deadlines only ever tighten: the earliest wins.
 *
 * The deadline is advisory for schedules: it stops retries, it does not interrupt a running attempt.
 * Wrap the call in `Effect.timeout` (as `@bulwark/http-client` does) to enforce it.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import type * as Option from "effect/Option"
import * as internal from "./internal/deadline.js"

/**
 * The current deadline in epoch milliseconds (of Effect's `Clock`), if any.
 *
 * @since 0.1.0
 * @category references
 */
export const currentDeadline: FiberRef.FiberRef<Option.Option<number>> = internal.currentDeadline

/**
 * Runs an effect with a deadline `budget` from now (by the `Clock`), or the enclosing deadline if
 * that is earlier.
 *
 * @example
 * ```ts
 * import { Deadline, RetrySchedule } from "@bulwark/retry-schedules"
 * import type { ApiError } from "@bulwark/core-errors"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, ApiError.ApiError>
 *
 * // Retries stop rather than start a wait that would end more than 5 seconds from now.
 * const bounded = call.pipe(Effect.retry(RetrySchedule.standard()), Deadline.within("5 seconds"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const within: {
  (budget: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, budget: Duration.DurationInput): Effect.Effect<A, E, R>
} = internal.within

/**
 * Runs an effect with an absolute deadline (epoch milliseconds of the `Clock`), or the enclosing
 * deadline if that is earlier.
 *
 * @since 0.1.0
 * @category combinators
 */
export const at: {
  (deadlineMillis: number): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, deadlineMillis: number): Effect.Effect<A, E, R>
} = internal.at

/**
 * The time left before the current deadline (zero once it has passed), or `None` without one.
 *
 * @since 0.1.0
 * @category getters
 */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = internal.remaining
