/**
 * The deadline stage: bounds the whole call, waits and retries included; the retry schedule and the traffic
 * controller never plan a wait past it. It sits outside the retries (below observe), so one deadline covers
 * every attempt of the call.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import { Deadline } from "@bulwark/retry-schedules"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { type CallState, currentCallState } from "./callState.js"
import { type Client, plugin, requestUrl, type Stage } from "./stage.js"
import { timeoutFail } from "./timeout.js"

/**
 * The deadline stage. With `enforcement: "attempts"` (the standard pipeline) it only records the deadline: the
 * attempt timeout enforces it, one timer per attempt, and every wait between attempts is planned inside it.
 *
 * @internal
 */
export const deadlineStage = (
  budget: Duration.DurationInput,
  redactor: Redaction.Redactor,
  enforcement: "timer" | "attempts" = "timer"
): Stage => {
  const configured = Duration.decode(budget)
  return (next) => (request, call) =>
    Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const duration = call.deadlineOverride ?? configured
      const at = now + Duration.toMillis(duration)
      if (call.deadline === undefined || call.deadline.at > at) call.deadline = { at, budget: duration }
      if (enforcement === "attempts") return next(request, call)
      return Deadline.at(
        timeoutFail(next(request, call), duration, () =>
          new ApiError.Timeout({
            method: request.method,
            url: Redaction.url(requestUrl(request), redactor),
            phase: "deadline",
            timeout: duration
          })),
        at
      )
    })
}

/** @internal */
export const deadline = (
  budget: Duration.DurationInput,
  redactor: Redaction.Redactor,
  enforcement: "timer" | "attempts" = "timer"
) =>
<E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
  plugin(deadlineStage(budget, redactor, enforcement), self)

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
