/**
 * The buffer body stage, innermost above classification: reads a 2xx body inside the attempt, so a stalled
 * or reset body is timed out and retried. When the body is not buffered, `callWithBody` bounds its read by
 * what is left of the call's deadline and by the attempt timeout.
 */
import { ApiError, Classify } from "@bulwark/core-errors"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { currentCallState, makeCallState, withCallOptions } from "./callState.js"
import { type Client, stage } from "./stage.js"
import { timeoutFail } from "./timeout.js"

/** @internal */
export const bufferBody = <E, R>(self: Client<E, R>): Client<E | ApiError.ApiError, R> =>
  stage(self, (request, send) =>
    Effect.flatMap(send(request), (response) =>
      // Read the body inside the attempt, so its timeout and its retries cover a stalled or reset body.
      // The platform response caches the text: later `.json`/`.text` reuse it.
      response.text.pipe(
        Effect.as(response),
        Effect.catchAll((error) => Effect.flip(Classify.httpClientError(error)))
      )))

/**
 * One call of a typed helper. The pipeline runs in a call state made here (carrying the per-call
 * deadline and attempt timeout), so that after it returns the call's deadline is known: when the body was
 * not buffered inside the attempt, decoding it (which reads it) is bounded by what is left of the deadline
 * and by the attempt timeout.
 *
 * @internal
 */
export const callWithBody = <A, E, R>(options: {
  readonly execute: Effect.Effect<HttpClientResponse.HttpClientResponse, E>
  readonly decode: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E, R>
  readonly bodyAlreadyRead: boolean
  readonly deadline: Duration.Duration | undefined
  readonly attemptTimeout: Duration.Duration | undefined
  readonly configuredAttemptTimeout: Duration.Duration
  readonly method: string
  readonly url: string
}): Effect.Effect<A, E | ApiError.Timeout, R> => {
  if (options.bodyAlreadyRead) {
    return withCallOptions(Effect.flatMap(options.execute, options.decode), options)
  }
  const state = makeCallState()
  state.deadlineOverride = options.deadline
  state.attemptTimeoutOverride = options.attemptTimeout
  const attemptTimeout = options.attemptTimeout ?? options.configuredAttemptTimeout
  return Effect.locally(
    Effect.flatMap(options.execute, (response) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const remaining = state.deadline === undefined ? Infinity : Math.max(0, state.deadline.at - now)
        const byDeadline = remaining < Duration.toMillis(attemptTimeout)
        return timeoutFail(
          options.decode(response),
          byDeadline ? Duration.millis(remaining) : attemptTimeout,
          () =>
            new ApiError.Timeout({
              method: options.method,
              url: options.url,
              phase: byDeadline ? "deadline" : "body",
              timeout: byDeadline ? state.deadline!.budget : attemptTimeout
            })
        )
      })),
    currentCallState,
    state
  )
}
