/**
 * The attempt timeout stage: bounds one exchange (token fetch, redirects, headers and buffered body) and also
 * enforces the call's deadline, one timer per attempt. It sits inside the retries and the traffic controller,
 * above the redirect and bearer stages.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { currentCallState } from "./callState.js"
import { type Client, requestUrl, stage } from "./stage.js"
import { timeoutFail } from "./timeout.js"

/** @internal */
export const attemptTimeout = (timeout: Duration.DurationInput, redactor: Redaction.Redactor) => {
  const configured = Duration.decode(timeout)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      Effect.flatMap(FiberRef.get(currentCallState), (state) => {
        const duration = state?.attemptTimeoutOverride ?? configured
        const attemptMillis = Duration.toMillis(duration)
        const deadline = state?.deadline
        if (deadline === undefined) {
          return timeoutFail(send(request), duration, () =>
            new ApiError.Timeout({
              method: request.method,
              url: Redaction.url(requestUrl(request), redactor),
              phase: "attempt",
              timeout: duration
            }))
        }
        // The call's deadline is enforced here, by the attempt, rather than by a second timer: every
        // other moment of a call is a wait that the retry schedule and the gate keep inside it.
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const remaining = Math.max(0, deadline.at - now)
          const byDeadline = remaining < attemptMillis
          return timeoutFail(send(request), byDeadline ? Duration.millis(remaining) : duration, () =>
            new ApiError.Timeout({
              method: request.method,
              url: Redaction.url(requestUrl(request), redactor),
              phase: byDeadline ? "deadline" : "attempt",
              timeout: byDeadline ? deadline.budget : duration
            }))
        })
      }))
}
