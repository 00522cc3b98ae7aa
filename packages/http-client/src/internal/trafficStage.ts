/**
 * The traffic controller as a stage (the controller itself is in `trafficControl.ts`). It sits inside the
 * retries, so every attempt of every call respects the origin's state: Retry-After floor, pace, outage probes,
 * queue bounded by the call's deadline.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as RateLimitHeaders from "./rateLimitHeaders.js"
import { type Client, originOf, plugin, requestUrl, type Stage } from "./stage.js"
import * as trafficDecisions from "./traffic.js"
import type { Controller as TrafficController } from "./trafficControl.js"

/** What an attempt's outcome tells the traffic controller about its origin. */
/** What an attempt's exit tells the traffic controller. @internal */
export const answerOf = (
  exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>,
  now: number
): trafficDecisions.Answer => {
  if (Exit.isSuccess(exit)) {
    return { kind: "accepted", quota: RateLimitHeaders.parse(exit.value.headers, now) }
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure) || !ApiError.isApiError(failure.value)) {
    // Interrupted, or refused before the network (a breaker, a token that could not be fetched).
    return { kind: "not-sent" }
  }
  const error = failure.value
  const retryAfterMillis = "retryAfter" in error && error.retryAfter !== undefined
    ? Duration.toMillis(error.retryAfter)
    : undefined
  switch (error._tag) {
    case "RateLimited":
      return { kind: "rate-limited", retryAfterMillis }
    case "ServerError":
      return retryAfterMillis === undefined ? { kind: "failed" } : { kind: "unavailable", retryAfterMillis }
    case "Timeout":
      // The call's own deadline ran out: that says nothing of the origin (a probe cut short by its caller is
      // no failed probe, which would back the next one off).
      return error.phase === "deadline" ? { kind: "not-sent" } : { kind: "failed" }
    case "NetworkError":
      return { kind: "failed" }
    default:
      return { kind: "accepted" }
  }
}

/**
 * The per-origin traffic controller as a stage: each attempt takes its origin's next slot (or waits for it
 * in the origin's queue, in the order calls started, or is refused at once with `RateLimited` and `retryAt`
 * when the slot would come after its deadline), and reports what the answer said.
 *
 * @internal
 */
export const trafficControlStage =
  (controller: TrafficController, redactor: Redaction.Redactor): Stage => (next) => (request, call) =>
    Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const origin = originOf(request.url) ?? request.url
      if (call.startedAt === undefined) call.startedAt = now
      // A route's `traffic.maxWait`: the call waits for its origin at most that long from its first arrival here.
      const maxWait = call.route?.maxWaitMillis
      const deadline = maxWait === undefined
        ? call.deadline?.at
        : Math.min(call.deadline?.at ?? Infinity, call.startedAt + maxWait)
      // Between a ticket and its answer nothing may interrupt but the send itself: a ticket never
      // answered would count as in flight forever (and a probe would hold the origin).
      return Effect.uninterruptibleMask((restore) =>
        Effect.matchEffect(restore(controller.acquire(origin, call.startedAt ?? now, deadline)), {
          onFailure: (refusal): Effect.Effect<never, ApiError.RateLimited> =>
            Effect.fail(
              new ApiError.RateLimited({
                method: request.method,
                url: Redaction.url(requestUrl(request), redactor),
                status: 429,
                retryAfter: Duration.millis(Math.max(0, refusal.retryAt - clock.unsafeCurrentTimeMillis())),
                retryAt: refusal.retryAt
              })
            ),
          onSuccess: (ticket) =>
            Effect.onExit(restore(next(request, call)), (exit) => {
              const at = clock.unsafeCurrentTimeMillis()
              return Effect.flatMap(
                controller.answer(origin, ticket, answerOf(exit, at)),
                (changed) => changed ? rateEvent(controller, origin, at) : Effect.void
              )
            })
        })
      )
    })

/** @internal */
export const trafficControl =
  (controller: TrafficController, redactor: Redaction.Redactor) =>
  <E, R>(self: Client<E, R>): Client<E | ApiError.RateLimited, R> =>
    plugin(trafficControlStage(controller, redactor), self)

/** A span event on the attempt when the origin's pace or pause changed. */
const rateEvent = (controller: TrafficController, origin: string, at: number) =>
  Effect.flatMap(Effect.currentSpan, (span) => {
    const state = controller.inspect(origin)
    if (state === undefined) return Effect.void
    return Effect.sync(() =>
      span.event("bulwark.traffic.changed", BigInt(at) * 1_000_000n, {
        "bulwark.traffic.rate_per_second": trafficDecisions.ratePerSecond(state),
        "bulwark.traffic.not_before": state.notBefore,
        "bulwark.traffic.outage": state.outage
      })
    )
  }).pipe(Effect.catchAll(() => Effect.void))
