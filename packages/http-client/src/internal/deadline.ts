/**
 * The deadline stage: bounds the whole call, waits and retries included; the retry schedule and the traffic
 * controller never plan a wait past it. It sits outside the retries (below observe), so one deadline covers
 * every attempt of the call.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import { Deadline } from "@bulwark/retry-schedules"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { type CallState, currentCallState, withState } from "./callState.js"
import { type Client, requestUrl, stage } from "./stage.js"
import { timeoutFail } from "./timeout.js"

/** @internal */
export const deadline = (
  budget: Duration.DurationInput,
  redactor: Redaction.Redactor,
  enforcement: "timer" | "attempts" = "timer"
) => {
  const configured = Duration.decode(budget)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      withState((state) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const duration = state.deadlineOverride ?? configured
          const budgetMillis = Duration.toMillis(duration)
          const at = now + budgetMillis
          if (state.deadline === undefined || state.deadline.at > at) state.deadline = { at, budget: duration }
          // "attempts": the attempt timeout enforces it (the standard pipeline, one timer per attempt).
          if (enforcement === "attempts") return send(request)
          return Deadline.at(
            timeoutFail(send(request), duration, () =>
              new ApiError.Timeout({
                method: request.method,
                url: Redaction.url(requestUrl(request), redactor),
                phase: "deadline",
                timeout: duration
              })),
            at
          )
        })
      ))
}

/** The earliest of the call's deadline and the ambient `Deadline`, if any. */
export const deadlineOf = (state: CallState | undefined): Effect.Effect<number | undefined> =>
  Effect.map(FiberRef.get(Deadline.currentDeadline), (ambient) => {
    const own = state?.deadline?.at
    if (Option.isNone(ambient)) return own
    return own === undefined ? ambient.value : Math.min(own, ambient.value)
  })

/** @internal */
export const callDeadline: Effect.Effect<Option.Option<number>> = Effect.flatMap(
  FiberRef.get(currentCallState),
  (state) => Effect.map(deadlineOf(state), Option.fromNullable)
)
