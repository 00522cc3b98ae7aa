/**
 * The classification stage, right above the transport: turns statuses and transport failures into `ApiError`s
 * for every stage above, and turns the platform's transport span off (it records URLs and headers unredacted)
 * while still sending `traceparent` from the attempt span. Redirects are handed on by classification and
 * followed (or refused) by the redirect stage above the bearer stage.
 */
import { type ApiError, Classify } from "@bulwark/core-errors"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { constTrue } from "effect/Function"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { Client } from "./stage.js"

/**
 * The transport without the platform's own `http.client` span: that span records every request header and
 * the full URL with its query in clear (Bulwark's redactor does not reach it), and Bulwark's attempt span
 * already describes the attempt. The W3C `traceparent` header is still sent, from the current span.
 *
 * @internal
 */
export const untracedTransport = <E, R>(self: Client<E, R>): Client<E, R> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest, E, R>) =>
      Effect.flatMap(request, (request) =>
        Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, E, R>((fiber) => {
          const span = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
          const traced = Option.isSome(span) && fiber.getFiberRef(HttpClient.currentTracerPropagation) &&
              span.value._tag === "Span"
            ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span.value))
            : request
          return Effect.locally(self.execute(traced), HttpClient.currentTracerDisabledWhen, constTrue)
        })),
    Effect.succeed
  )

/** @internal */
export const classify =
  (options?: Classify.Options) =>
  <E, R>(self: Client<E, R>): Client<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R> =>
    Classify.client(untracedTransport(self), options)
