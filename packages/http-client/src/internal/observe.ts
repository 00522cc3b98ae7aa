/**
 * The observe stage: one span (`bulwark.http.call`) and one outcome metric per logical call, around
 * everything it costs. It sits right below the base URL, outside every other stage.
 */
import type { Redaction } from "@bulwark/core-errors"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { withState } from "./callState.js"
import { callsByOutcome, metrics } from "./metrics.js"
import { redactedUrl, spanWithoutValue } from "./spans.js"
import { type Client, requestUrl, stage } from "./stage.js"

const outcomeOf = (exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>): string => {
  if (Exit.isSuccess(exit)) return `${exit.value.status}`
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => (Exit.isInterrupted(exit) ? "interrupted" : "defect"),
    onSome: (error) => (typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "error")
  })
}

/** @internal */
export const observe = (redactor: Redaction.Redactor) => <E, R>(self: Client<E, R>): Client<E, R> =>
  stage(
    self,
    (request, send) =>
      withState((state) =>
        Effect.flatMap(Clock.currentTimeMillis, (start) =>
          send(request).pipe(
            Effect.onExit((exit) =>
              Effect.flatMap(Clock.currentTimeMillis, (end) => {
                const outcome = outcomeOf(exit)
                return Effect.zipRight(
                  Effect.annotateCurrentSpan({ "bulwark.outcome": outcome, "bulwark.attempts": state.attempt }),
                  Effect.zipRight(
                    Metric.increment(callsByOutcome(outcome)),
                    Metric.update(metrics.callDuration, Duration.millis(end - start))
                  )
                )
              })
            ),
            (effect) =>
              spanWithoutValue(effect, "bulwark.http.call", {
                captureStackTrace: false,
                kind: "internal",
                attributes: {
                  "http.request.method": request.method,
                  "url.full": redactedUrl(requestUrl(request), redactor)
                }
              })
          ))
      )
  )
