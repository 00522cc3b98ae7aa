import { ApiError } from "@bulwark/core-errors"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as Backoff from "../Backoff.js"
import * as backoffInternal from "./backoff.js"
import * as deadline from "./deadline.js"

/** @internal */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(60)

/** @internal */
export const defaultMaxRetries = 3

/** @internal */
export const readApiErrorRetryAfter = (input: unknown): Option.Option<Duration.Duration | { readonly at: number }> => {
  if (!ApiError.isApiError(input)) return Option.none()
  if (input._tag === "RateLimited" && input.retryAt !== undefined) return Option.some({ at: input.retryAt })
  return "retryAfter" in input && input.retryAfter !== undefined ? Option.some(input.retryAfter) : Option.none()
}

/** Replaces the delay of a continuing decision, or keeps a `done` decision. */
const withDelay = (now: number, millis: number) => ScheduleDecision.continueWith(ScheduleInterval.after(now + millis))

const delayOf = (now: number, decision: ScheduleDecision.ScheduleDecision): number =>
  ScheduleDecision.isDone(decision) ? 0 : Math.max(0, ScheduleIntervals.start(decision.intervals) - now)

/** @internal */
export const honorRetryAfter = dual<
  <In>(options?: {
    readonly maxRetryAfter?: Duration.DurationInput | undefined
    readonly read?: ((input: In) => Option.Option<Duration.Duration | { readonly at: number }>) | undefined
  }) => <Out, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>,
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, options?: {
    readonly maxRetryAfter?: Duration.DurationInput | undefined
    readonly read?: ((input: In) => Option.Option<Duration.Duration | { readonly at: number }>) | undefined
  }) => Schedule.Schedule<Out, In, R>
>((args) => Schedule.isSchedule(args[0]), (self, options) => {
  const maxMillis = Duration.toMillis(Duration.decode(options?.maxRetryAfter ?? defaultMaxRetryAfter))
  const read = options?.read ??
    (readApiErrorRetryAfter as (input: unknown) => ReturnType<typeof readApiErrorRetryAfter>)
  return Schedule.makeWithState(
    self.initial,
    (now, input, state) =>
      Effect.map(self.step(now, input, state), ([next, out, decision]) => {
        if (ScheduleDecision.isDone(decision)) return [next, out, decision] as const
        let requested: Option.Option<Duration.Duration | { readonly at: number }>
        try {
          requested = read(input)
        } catch {
          // A faulty reader must not turn a retry into a defect: fall back to the plain schedule.
          requested = Option.none()
        }
        if (Option.isNone(requested)) return [next, out, decision] as const
        const value = requested.value
        const wait = Duration.isDuration(value) ? Duration.toMillis(value) : Math.max(0, value.at - now)
        // Waiting longer than the caller allows is never done silently: stop and surface the error.
        if (!(wait <= maxMillis)) return [next, out, ScheduleDecision.done] as const
        return [next, out, withDelay(now, Math.max(delayOf(now, decision), wait))] as const
      })
  )
})

/** @internal */
export interface DeadlineOptions {
  readonly deadline?: number | undefined
  readonly reserve?: Duration.DurationInput | undefined
}

/** @internal */
export const withDeadline = dual<
  (options?: DeadlineOptions) => <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>,
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, options?: DeadlineOptions) => Schedule.Schedule<Out, In, R>
>((args) => Schedule.isSchedule(args[0]), (self, options) => {
  const reserveMillis = Duration.toMillis(Duration.decode(options?.reserve ?? Duration.zero))
  return Schedule.makeWithState(
    self.initial,
    (now, input, state) =>
      Effect.flatMap(self.step(now, input, state), ([next, out, decision]) => {
        if (ScheduleDecision.isDone(decision)) return Effect.succeed([next, out, decision] as const)
        return Effect.map(FiberRef.get(deadline.currentDeadline), (ambient) => {
          const candidates = [options?.deadline, Option.getOrUndefined(ambient)].filter((d): d is number =>
            d !== undefined
          )
          if (candidates.length === 0) return [next, out, decision] as const
          const limit = Math.min(...candidates)
          const wakeUp = now + delayOf(now, decision)
          return wakeUp + reserveMillis > limit
            ? [next, out, ScheduleDecision.done] as const
            : [next, out, decision] as const
        })
      })
  )
})

/** @internal */
export const withTimeBudget = dual<
  (
    budget: Duration.DurationInput,
    options?: { readonly reserve?: Duration.DurationInput | undefined }
  ) => <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>,
  <Out, In, R>(
    self: Schedule.Schedule<Out, In, R>,
    budget: Duration.DurationInput,
    options?: { readonly reserve?: Duration.DurationInput | undefined }
  ) => Schedule.Schedule<Out, In, R>
>((args) => Schedule.isSchedule(args[0]), (self, budget, options) => {
  const budgetMillis = Duration.toMillis(Duration.decode(budget))
  const reserveMillis = Duration.toMillis(Duration.decode(options?.reserve ?? Duration.zero))
  return Schedule.makeWithState(
    [self.initial, undefined as number | undefined] as const,
    (now, input, [innerState, startedAt]) =>
      Effect.map(self.step(now, input, innerState), ([next, out, decision]) => {
        const start = startedAt ?? now
        const state = [next, start] as const
        if (ScheduleDecision.isDone(decision)) return [state, out, decision] as const
        const wakeUp = now + delayOf(now, decision)
        return wakeUp + reserveMillis > start + budgetMillis
          ? [state, out, ScheduleDecision.done] as const
          : [state, out, decision] as const
      })
  )
})

/** @internal */
export const isRetryableDecision = (decision: ApiError.RetryDecision): boolean =>
  decision === "retry" || decision === "retry-after"

/** @internal */
export const whileRetryable = <Out, R>(
  self: Schedule.Schedule<Out, unknown, R>
): Schedule.Schedule<Out, ApiError.ApiError, R> =>
  Schedule.whileInput(self, (error: ApiError.ApiError) => isRetryableDecision(ApiError.retryDecision(error)))

/** @internal */
export interface StandardOptions extends Backoff.Options {
  readonly maxRetries?: number | undefined
  readonly maxRateLimitRetries?: number | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/** @internal */
export const defaultMaxRateLimitRetries = 10

const wholeNumber = (name: string, value: number) => {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new RangeError(`standard: ${name} must be a whole number >= 0, got ${value}`)
  }
  return value
}

/** @internal */
export const standard = (options?: StandardOptions): Schedule.Schedule<Duration.Duration, ApiError.ApiError> => {
  const maxRetries = wholeNumber("maxRetries", options?.maxRetries ?? defaultMaxRetries)
  const maxRateLimitRetries = wholeNumber(
    "maxRateLimitRetries",
    options?.maxRateLimitRetries ?? defaultMaxRateLimitRetries
  )
  const backoff = backoffInternal.backoff(options)
  // Transient failures and rate limits are counted apart: a 429 says "not now", not "broken", so waiting
  // it out does not use up the retries a 5xx or a timeout may need (both stay bounded, and the deadline
  // bounds the total time).
  const counted = Schedule.makeWithState(
    { transient: 0, rateLimited: 0, backoff: backoff.initial as unknown },
    (now, error: ApiError.ApiError, state) => {
      const decision = ApiError.retryDecision(error)
      const isRateLimit = decision === "retry-after"
      const allowed = decision === "retry"
        ? state.transient < maxRetries
        : isRateLimit && state.rateLimited < maxRateLimitRetries
      if (!allowed) return Effect.succeed([state, Duration.zero, ScheduleDecision.done] as const)
      return Effect.map(backoff.step(now, error, state.backoff), ([next, delay, decision]) =>
        [
          {
            transient: state.transient + (isRateLimit ? 0 : 1),
            rateLimited: state.rateLimited + (isRateLimit ? 1 : 0),
            backoff: next
          },
          delay,
          decision
        ] as const)
    }
  )
  return counted.pipe(
    honorRetryAfter<ApiError.ApiError>({ maxRetryAfter: options?.maxRetryAfter }),
    withDeadline()
  )
}

/** @internal */
export const delays = <Out, In, R>(
  self: Schedule.Schedule<Out, In, R>,
  inputs: Iterable<In>,
  startMillis = 0
): Effect.Effect<Array<Duration.Duration>, never, R> =>
  Effect.gen(function*() {
    const out: Array<Duration.Duration> = []
    let state: unknown = self.initial
    let now = startMillis
    for (const input of inputs) {
      const [next, , decision] = yield* self.step(now, input, state)
      if (ScheduleDecision.isDone(decision)) break
      const delay = delayOf(now, decision)
      out.push(Duration.millis(delay))
      state = next
      now += delay
    }
    return out
  })
