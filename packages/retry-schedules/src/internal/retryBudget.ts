import { ApiError } from "@bulwark/core-errors"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
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
  Effect.sync(() => validate(options)).pipe(
    Effect.flatMap((config) =>
      Effect.map(
        Ref.make<Snapshot>({
          tokens: config.capacity,
          capacity: config.capacity,
          retriesGranted: 0,
          retriesDenied: 0,
          successes: 0
        }),
        (ref): Service => {
          const costOf = (input: unknown): number =>
            ApiError.isApiError(input) && input._tag === "Timeout" ? config.timeoutCost : config.retryCost
          return {
            costOf,
            tryAcquire: (input) =>
              Ref.modify(ref, (s) => {
                const cost = costOf(input)
                return s.tokens >= cost
                  ? [true, { ...s, tokens: s.tokens - cost, retriesGranted: s.retriesGranted + 1 }]
                  : [false, { ...s, retriesDenied: s.retriesDenied + 1 }]
              }),
            recordSuccess: Ref.update(ref, (s) => ({
              ...s,
              tokens: Math.min(s.capacity, s.tokens + config.successRefill),
              successes: s.successes + 1
            })),
            snapshot: Ref.get(ref)
          }
        }
      )
    )
  )

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
