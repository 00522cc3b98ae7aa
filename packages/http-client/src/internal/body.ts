/**
 * The buffer body stage, innermost above classification: reads a 2xx body inside the attempt, so a stalled
 * or reset body is timed out and retried. When the body is not buffered, `callWithBody` bounds its read by
 * what is left of the call's deadline and by the attempt timeout.
 */
import { ApiError, Classify, Redaction } from "@bulwark/core-errors"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { makeCallState } from "./callState.js"
import { type Client, plugin, resolveUrl, type Send, type Stage } from "./stage.js"
import { timeoutFail } from "./timeout.js"

/** The buffer body stage. @internal */
export const bufferBodyStage: Stage = (next) => (request, call) =>
  Effect.flatMap(next(request, call), (response) =>
    // Read the body inside the attempt, so its timeout and its retries cover a stalled or reset body.
    // The platform response caches the text: later `.json`/`.text` reuse it.
    response.text.pipe(
      Effect.as(response),
      Effect.catchAll((error) => Effect.flip(Classify.httpClientError(error)))
    ))

/** @internal */
export const bufferBody = <E, R>(self: Client<E, R>): Client<E | ApiError.ApiError, R> => plugin(bufferBodyStage, self)

/**
 * One call of a typed helper. The call's state is made here (carrying the per-call deadline and attempt
 * timeout) and handed to the pipeline, so that after it returns the call's deadline is known: when the body
 * was not buffered inside the attempt, decoding it (which reads it) is bounded by what is left of the
 * deadline and by the attempt timeout.
 *
 * @internal
 */
export const callWithBody = <A, E, R>(options: {
  readonly send: Send<E, never>
  readonly request: HttpClientRequest.HttpClientRequest
  readonly decode: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E, R>
  readonly bodyAlreadyRead: boolean
  readonly deadline: Duration.Duration | undefined
  readonly attemptTimeout: Duration.Duration | undefined
  readonly configuredAttemptTimeout: Duration.Duration
  readonly redactor: Redaction.Redactor
  readonly baseUrl: string
}): Effect.Effect<A, E | ApiError.Timeout, R> => {
  const call = makeCallState()
  call.deadlineOverride = options.deadline
  call.attemptTimeoutOverride = options.attemptTimeout
  if (options.bodyAlreadyRead) return Effect.flatMap(options.send(options.request, call), options.decode)
  return Effect.flatMap(
    options.send(options.request, call),
    (response) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        // The call's own attempt timeout, or its route's (the route stage put it in the call), or the client's.
        const attemptTimeout = call.attemptTimeoutOverride ?? options.configuredAttemptTimeout
        const remaining = call.deadline === undefined ? Infinity : Math.max(0, call.deadline.at - now)
        const byDeadline = remaining < Duration.toMillis(attemptTimeout)
        return timeoutFail(
          options.decode(response),
          byDeadline ? Duration.millis(remaining) : attemptTimeout,
          () =>
            new ApiError.Timeout({
              method: options.request.method,
              url: Redaction.url(resolveUrl(options.baseUrl, options.request.url), options.redactor),
              phase: byDeadline ? "deadline" : "body",
              timeout: byDeadline ? call.deadline!.budget : attemptTimeout
            })
        )
      })
  )
}
