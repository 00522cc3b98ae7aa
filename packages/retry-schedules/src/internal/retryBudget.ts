import { ApiError } from "@bulwark/core-errors"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
// The Tag lives in the public module; it is only read inside functions, so the import cycle is harmless.
import { type Options, RetryBudget, type Service, type Snapshot } from "../RetryBudget.js"

/** @internal */
export const defaults = {
  capacity: 500,
  retryCost: 5,
  timeoutCost: 10,
  successRefill: 1
} as const

const validate = (options?: Options) => {
  const resolved = {
    capacity: options?.capacity ?? defaults.capacity,
    retryCost: options?.retryCost ?? defaults.retryCost,
    timeoutCost: options?.timeoutCost ?? defaults.timeoutCost,
    successRefill: options?.successRefill ?? defaults.successRefill
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`RetryBudget: ${name} must be a finite number >= 0, got ${value}`)
    }
  }
  return resolved
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync((): Service => {
    const config = validate(options)
    // Plain counters, changed in place: a success is counted on every call, and one fiber runs at a time,
    // so each update is atomic without a Ref (and allocates nothing).
    const counters = {
      tokens: config.capacity,
      retriesGranted: 0,
      retriesDenied: 0,
      successes: 0
    }
    const costOf = (input: unknown): number =>
      ApiError.isApiError(input) && input._tag === "Timeout" ? config.timeoutCost : config.retryCost
    return {
      costOf,
      tryAcquire: (input) =>
        Effect.sync(() => {
          const cost = costOf(input)
          if (counters.tokens >= cost) {
            counters.tokens -= cost
            counters.retriesGranted += 1
            return true
          }
          counters.retriesDenied += 1
          return false
        }),
      recordSuccess: Effect.sync(() => {
        counters.tokens = Math.min(config.capacity, counters.tokens + config.successRefill)
        counters.successes += 1
      }),
      snapshot: Effect.sync((): Snapshot => ({ ...counters, capacity: config.capacity }))
    }
  })

/** @internal */
export const layer = (options?: Options): Layer.Layer<RetryBudget> => Layer.effect(RetryBudget, make(options))

/** @internal */
export const withBudget = <Out, In, R>(
  self: Schedule.Schedule<Out, In, R>
): Schedule.Schedule<Out, In, R | RetryBudget> =>
  Schedule.makeWithState(
    self.initial,
    (now, input, state) =>
      Effect.flatMap(self.step(now, input, state), ([next, out, decision]) => {
        if (ScheduleDecision.isDone(decision)) return Effect.succeed([next, out, decision] as const)
        return Effect.flatMap(RetryBudget, (budget) =>
          Effect.map(
            budget.tryAcquire(input),
            (granted) => [next, out, granted ? decision : ScheduleDecision.done] as const
          ))
      })
  )

/** @internal */
export const retry = dual<
  <Out, E, R2>(
    schedule: Schedule.Schedule<Out, E, R2>
  ) => <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2 | RetryBudget>,
  <A, E, R, Out, R2>(
    self: Effect.Effect<A, E, R>,
    schedule: Schedule.Schedule<Out, E, R2>
  ) => Effect.Effect<A, E, R | R2 | RetryBudget>
>(2, (self, schedule) =>
  Effect.flatMap(RetryBudget, (budget) =>
    self.pipe(
      Effect.tap(() => budget.recordSuccess),
      Effect.retry(withBudget(schedule))
    )))
