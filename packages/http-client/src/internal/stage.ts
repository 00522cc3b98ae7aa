/**
 * The shape every stage of the pipeline shares, and the URL helpers the stages use. A stage sees each request
 * it is asked to send and may send it to the inner client any number of times (or with changes). The base URL
 * stage sits outermost: it resolves relative paths once; every stage below sees the absolute URL and its origin.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"

export type Client<E, R> = HttpClient.HttpClient.With<E, R>

/**
 * Builds a stage that sees each request it is asked to send and may send it to the inner client any
 * number of times (or with changes). The inner client's own request mapping applies to each send.
 */
export const stage = <E, R, E2, R2>(
  self: Client<E, R>,
  f: (
    request: HttpClientRequest.HttpClientRequest,
    send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, E2, R2>
): Client<E2, R2> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (request) => f(request, (r) => self.execute(r))),
    Effect.succeed
  )

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i

/** @internal */
export const resolveUrl = (base: string, url: string): string => {
  if (ABSOLUTE.test(url)) return url
  if (url === "") return base
  return base.endsWith("/")
    ? url.startsWith("/") ? base + url.slice(1) : base + url
    : url.startsWith("/") || url.startsWith("?")
    ? base + url
    : `${base}/${url}`
}

/** @internal */
export const baseUrl = (base: string) => <E, R>(self: Client<E, R>): Client<E, R> =>
  HttpClient.mapRequest(self, (request) => HttpClientRequest.setUrl(request, resolveUrl(base, request.url)))

/** @internal */
export const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/** @internal */
export const requestUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = request.urlParams.length === 0
    ? ""
    : `?${new URLSearchParams(request.urlParams.map(([k, v]) => [k, v] as [string, string])).toString()}`
  return `${request.url}${query}`
}
