/**
 * A retry budget shared by all requests of a client: a token bucket in the spirit of the AWS SDK's
 * retry quota and gRPC's retry throttling, so an outage is not multiplied by retries.
 *
 * - The bucket starts full with `capacity` tokens (default 500).
 * - A retry costs `retryCost` tokens (default 5); a retry after a `Timeout` costs `timeoutCost`
 *   (default 10), because timeouts hold resources on both sides for longest.
 * - Every successful call refills `successRefill` tokens (default 1), up to the capacity.
 * - A retry that cannot be paid for is not made: the error is surfaced.
 *
 * What that guarantees, with the defaults:
 *
 * - Total retries ≤ (capacity + successRefill × successes) / retryCost = 100 + 0.2 × successes.
 * - During a full outage (no successes) at most 100 retries are made in all; once the bucket is
 *   empty, retries add 0% to the first attempts until calls succeed again.
 * - In steady state retries are at most 20% of successful calls (successRefill / retryCost), so
 *   amplification stays ≤ 1.2 however bad a partial outage gets.
 * - A healthy client never starves: at a 1% failure rate each failure costs 5 tokens while the 99
 *   successes around it refill 99, so every failure is retried.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/retryBudget.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Tokens in a full bucket (and at start). Default: 500. */
  readonly capacity?: number | undefined
  /** Tokens a retry costs. Default: 5. */
  readonly retryCost?: number | undefined
  /** Tokens a retry after a `Timeout` costs. Default: 10. */
  readonly timeoutCost?: number | undefined
  /** Tokens a successful call returns. Default: 1. */
  readonly successRefill?: number | undefined
}

/**
 * `{ capacity: 500, retryCost: 5, timeoutCost: 10, successRefill: 1 }`: the AWS SDK's standard retry
 * quota.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly capacity: number
  readonly retryCost: number
  readonly timeoutCost: number
  readonly successRefill: number
} = internal.defaults

/**
 * The state of a budget.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly tokens: number
  readonly capacity: number
  readonly retriesGranted: number
  readonly retriesDenied: number
  readonly successes: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The tokens a retry after this error would cost. */
  readonly costOf: (input: unknown) => number
  /** Pays for one retry after this error, if the bucket holds enough; `false` means: do not retry. */
  readonly tryAcquire: (input: unknown) => Effect.Effect<boolean>
  /** Records a successful call. */
  readonly recordSuccess: Effect.Effect<void>
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * The budget service. Provide one per client (one per origin), so that every request of that client
 * draws on the same bucket.
 *
 * @since 0.1.0
 * @category tags
 */
export class RetryBudget extends Context.Tag("@bulwark/retry-schedules/RetryBudget")<RetryBudget, Service>() {}

/**
 * A fresh budget. Invalid options (negative or non-finite numbers) throw a `RangeError` naming the
 * option when the effect runs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service> = internal.make

/**
 * A layer providing a fresh budget.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<RetryBudget> = internal.layer

/**
 * Makes a schedule pay for each retry from the budget, stopping when it cannot.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withBudget: <Out, In, R>(
  self: Schedule.Schedule<Out, In, R>
) => Schedule.Schedule<Out, In, R | RetryBudget> = internal.withBudget

/**
 * Retries an effect with the schedule under the budget, and refills the budget when it succeeds.
 *
 * @example
 * ```ts
 * import { RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
 * import type { ApiError } from "@bulwark/core-errors"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, ApiError.ApiError>
 *
 * const program = call.pipe(
 *   RetryBudget.retry(RetrySchedule.standard()),
 *   Effect.provide(RetryBudget.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry: {
  <Out, E, R2>(
    schedule: Schedule.Schedule<Out, E, R2>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2 | RetryBudget>
  <A, E, R, Out, R2>(
    self: Effect.Effect<A, E, R>,
    schedule: Schedule.Schedule<Out, E, R2>
  ): Effect.Effect<A, E, R | R2 | RetryBudget>
} = internal.retry
