/**
 * Span helpers shared by the observe stage (the call's span) and the retry stage (each attempt's span):
 * spans that never hold the response, and URLs redacted only when there is something to redact.
 */
import { Redaction } from "@bulwark/core-errors"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"
import { nativeTracer } from "./transport.js"

/**
 * Runs `effect` inside a span that ends with no value: the response (whose request holds the
 * Authorization header and the raw URL) must not be reachable from a span's exit, which tracers may
 * record or print. Failures are `ApiError`s and other redacted errors, so they are kept.
 */
export const spanWithoutValue = <E, R>(
  effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  name: string,
  options: Tracer.SpanOptions | (() => Tracer.SpanOptions),
  /** What to do inside the span only when there is one (annotations). */
  traced?: (
    effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    // No tracer was installed: the span would go nowhere, so it is not made (nor its attributes).
    if (fiber.currentTracer === nativeTracer) return effect
    let response: HttpClientResponse.HttpClientResponse | undefined
    return Effect.map(
      Effect.withSpan(
        Effect.map(traced === undefined ? effect : traced(effect), (value) => {
          response = value
        }),
        name,
        typeof options === "function" ? options() : options
      ),
      () => response!
    )
  })

/** URLs without a query, fragment or user info have nothing to redact: skip the parse. */
export const redactedUrl = (url: string, redactor: Redaction.Redactor) =>
  url.includes("?") || url.includes("#") || url.includes("@") ? Redaction.url(url, redactor) : url
