/**
 * The observe stage: one span (`bulwark.http.call`) and one outcome metric per logical call, around
 * everything it costs. It sits right below the base URL, outside every other stage.
 */
import type { Redaction } from "@bulwark/core-errors"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { callsByOutcome, metrics } from "./metrics.js"
import { redactedUrl, spanWithoutValue } from "./spans.js"
import { type Client, plugin, requestUrl, type Stage } from "./stage.js"
import { nativeTracer } from "./transport.js"

const outcomeOf = (exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>): string => {
  if (Exit.isSuccess(exit)) return `${exit.value.status}`
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => (Exit.isInterrupted(exit) ? "interrupted" : "defect"),
    onSome: (error) => (typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "error")
  })
}

/** The series of a call that no route rule matched. */
const unrouted = { callsByOutcome, callDuration: metrics.callDuration }

/** The observe stage: one span and one outcome metric per logical call. @internal */
export const observeStage = (redactor: Redaction.Redactor): Stage => (next) => (request, call) =>
  Effect.withFiberRuntime((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const start = clock.unsafeCurrentTimeMillis()
    const traced = fiber.currentTracer !== nativeTracer
    const observed = Effect.onExit(next(request, call), (exit) =>
      Effect.withFiberRuntime((fiber) => {
        const outcome = outcomeOf(exit)
        // Both metrics in one step, with the fiber's metric labels (what `Metric.increment` would read).
        const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
        const elapsed = Duration.millis(clock.unsafeCurrentTimeMillis() - start)
        // Each call is counted once: under its route rule's name when one matched (never its raw path), so a
        // sum over every series of the metric is the number of calls.
        const counted = call.route?.metrics ?? unrouted
        counted.callsByOutcome(outcome).unsafeUpdate(1, labels)
        counted.callDuration.unsafeUpdate(elapsed, labels)
        return traced
          ? Effect.annotateCurrentSpan({ "bulwark.outcome": outcome, "bulwark.attempts": call.attempt })
          : Effect.void
      }))
    return traced
      ? spanWithoutValue(observed, "bulwark.http.call", {
        captureStackTrace: false,
        kind: "internal",
        attributes: {
          "http.request.method": request.method,
          "url.full": redactedUrl(requestUrl(request), redactor),
          ...(call.route === undefined ? {} : { "bulwark.route": call.route.label })
        }
      })
      : observed
  })

/** @internal */
export const observe = (redactor: Redaction.Redactor) => <E, R>(self: Client<E, R>): Client<E, R> =>
  plugin(observeStage(redactor), self)
