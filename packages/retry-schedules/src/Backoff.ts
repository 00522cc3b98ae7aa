/**
 * Capped exponential backoff with jitter, after the AWS Architecture Blog's "Exponential Backoff and
 * Jitter". For retry `n` (0 for the first retry), with `ceiling(n) = min(cap, base * factor^n)`:
 *
 * | jitter | delay of retry n |
 * |---|---|
 * | `none` | `ceiling(n)` |
 * | `full` | uniform in `[0, ceiling(n)]` |
 * | `equal` | `ceiling(n) / 2` + uniform in `[0, ceiling(n) / 2]` |
 * | `decorrelated` | `min(cap, uniform in [base, previous * 3])`, with `previous` starting at `base` |
 *
 * Defaults: `base` 200 ms, `factor` 2, `cap` 10 s, `jitter` `"full"`. Full jitter is the default
 * because it spreads a burst of clients that failed together the most, and so does the least total
 * work (the blog's measurements); 200 ms is long enough for a transient 5xx or a dropped connection
 * to clear and short enough that three retries cost well under two seconds on average; 10 s caps a
 * single wait far below any sensible overall deadline.
 *
 * Randomness comes from Effect's `Random` service: run with `Effect.withRandom(Random.make(seed))` and
 * the delays are reproducible.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/backoff.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The first delay's ceiling. Default: 200 ms. */
  readonly base?: Duration.DurationInput | undefined
  /** Growth per retry, at least 1. Default: 2. */
  readonly factor?: number | undefined
  /** No delay exceeds this; must be at least `base`. Default: 10 seconds. */
  readonly cap?: Duration.DurationInput | undefined
  /** Default: `"full"`. */
  readonly jitter?: Jitter | undefined
}

/**
 * The defaults: `{ base: 200 ms, factor: 2, cap: 10 s, jitter: "full" }`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly base: Duration.Duration
  readonly factor: number
  readonly cap: Duration.Duration
  readonly jitter: Jitter
} = internal.defaults

/**
 * A schedule that recurs forever with capped, jittered exponential delays and outputs each delay.
 * Bound it with `Schedule.recurs`, `RetrySchedule.withDeadline` or use `RetrySchedule.standard`.
 *
 * Invalid options (a negative base, a cap below the base, a factor below 1) throw a `RangeError`
 * naming the option when the schedule is built: they are programming errors, not runtime conditions.
 *
 * @example
 * ```ts
 * import { Backoff } from "@bulwark/retry-schedules"
 * import { Effect, Random, Schedule } from "effect"
 *
 * declare const flaky: Effect.Effect<string, Error>
 *
 * const policy = Backoff.backoff({ base: "100 millis", cap: "5 seconds", jitter: "full" }).pipe(
 *   Schedule.intersect(Schedule.recurs(4))
 * )
 * // Reproducible: the same seed gives the same delays.
 * const program = flaky.pipe(Effect.retry(policy), Effect.withRandom(Random.make(7)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const backoff: (options?: Options) => Schedule.Schedule<Duration.Duration> = internal.backoff
