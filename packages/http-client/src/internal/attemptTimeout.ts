/**
 * The attempt timeout stage: bounds one exchange (token fetch, redirects, headers and buffered body) and also
 * enforces the call's deadline, one timer per attempt. It sits inside the retries and the traffic controller,
 * above the redirect and bearer stages.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type Client, plugin, requestUrl, type Stage } from "./stage.js"
import { abortAfter, liveTimersOf, timeoutFail } from "./timeout.js"

/**
 * The attempt timeout stage. `"abort"` (the standard pipeline over the platform transport, with the body read
 * inside the attempt): the timer aborts the attempt's request through the `AbortController` it puts in the call,
 * on the caller's fiber. `"fiber"`: the attempt runs in a fiber the timer interrupts, whatever the client below
 * is (a plugin composed by hand cannot know that its transport reads the call's controller).
 *
 * @internal
 */
export const attemptTimeoutStage = (
  timeout: Duration.DurationInput,
  redactor: Redaction.Redactor,
  mode: "abort" | "fiber" = "fiber"
): Stage => {
  const configured = Duration.decode(timeout)
  const configuredMillis = Duration.toMillis(configured)
  return (next) => (request, call) =>
    Effect.clockWith((clock) => {
      let duration = call.attemptTimeoutOverride ?? configured
      const attemptMillis = call.attemptTimeoutOverride === undefined ? configuredMillis : Duration.toMillis(duration)
      // The call's deadline is enforced here, by the attempt, rather than by a second timer: every
      // other moment of a call is a wait that the retry schedule and the gate keep inside it.
      const deadline = call.deadline
      let byDeadline = false
      if (deadline !== undefined) {
        const remaining = Math.max(0, deadline.at - clock.unsafeCurrentTimeMillis())
        if (remaining < attemptMillis) {
          byDeadline = true
          duration = Duration.millis(remaining)
        }
      }
      const onTimeout = () =>
        new ApiError.Timeout({
          method: request.method,
          url: Redaction.url(requestUrl(request), redactor),
          phase: byDeadline ? "deadline" : "attempt",
          timeout: byDeadline ? deadline!.budget : duration
        })
      const timers = mode === "abort" ? liveTimersOf(clock) : undefined
      if (timers === undefined) return timeoutFail(next(request, call), duration, onTimeout)
      const controller = new AbortController()
      call.abort = controller
      return abortAfter(next(request, call), timers, duration, controller, onTimeout)
    })
}

/** @internal */
export const attemptTimeout =
  (timeout: Duration.DurationInput, redactor: Redaction.Redactor) =>
  <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> => plugin(attemptTimeoutStage(timeout, redactor), self)
