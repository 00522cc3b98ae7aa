/**
 * The innermost `Send` of the standard pipeline: the platform transport with classification, without the
 * platform's own transport span, and with the attempt's own `AbortController` when the attempt timeout armed
 * one (so a timeout ends the exchange by aborting it, with no fiber per attempt).
 */
import { type ApiError, Classify } from "@bulwark/core-errors"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import { constTrue } from "effect/Function"
import * as GlobalValue from "effect/GlobalValue"
import * as Tracer from "effect/Tracer"
import type { Client, Send } from "./stage.js"

/** The tracer of a runtime nobody gave a tracer: its spans go nowhere, so Bulwark skips making them. */
export const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * The platform's registry of requests whose `AbortController` the caller owns (`HttpClient.withScope` fills
 * it). A request found there is sent with that controller's signal, and the platform neither wraps the
 * response nor aborts on its own. `undefined` when this platform version keeps no such registry (the key is
 * the platform's own; a value made here instead means nobody reads it), and the attempt timeout then forks.
 */
const scopedRequests: WeakMap<HttpClientRequest.HttpClientRequest, AbortController> | undefined = (() => {
  const mine = new WeakMap<HttpClientRequest.HttpClientRequest, AbortController>()
  const found = GlobalValue.globalValue("@effect/platform/HttpClient/scopedRequests", () => mine)
  return found === mine ? undefined : found
})()

/** Whether attempts can be ended by aborting their request (the platform reads caller-owned controllers). */
export const abortable = scopedRequests !== undefined

/**
 * The transport as the innermost `Send`. The platform's `http.client` span is off: it records every request
 * header and the full URL with its query in clear (Bulwark's redactor does not reach it), and Bulwark's
 * attempt span describes the attempt. The W3C `traceparent` header is still sent, from the current span.
 */
export const transportSend = (
  transport: Client<any, never>,
  options: Classify.Options
): Send<ApiError.ApiError, never> =>
(request, call) =>
  Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, ApiError.ApiError>((fiber) => {
    let traced = request
    if (fiber.currentTracer !== nativeTracer) {
      const span = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
      if (
        span._tag === "Some" && span.value._tag === "Span" && fiber.getFiberRef(HttpClient.currentTracerPropagation)
      ) {
        traced = HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span.value))
      }
    }
    const controller = call.abort
    if (controller !== undefined) scopedRequests!.set(traced, controller)
    return Effect.locally(transport.execute(traced), HttpClient.currentTracerDisabledWhen, constTrue).pipe(
      Effect.matchEffect({
        onFailure: (error) =>
          HttpClientError.isHttpClientError(error)
            ? Effect.flip(Classify.httpClientError(error, options))
            : Effect.fail(error as ApiError.ApiError),
        onSuccess: (response) => Classify.response(response, options)
      })
    )
  })
