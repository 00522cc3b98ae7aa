/**
 * The bearer token stage: a token per attempt (a replay after a 401 carries the new one), sent only to the
 * API's origin. It sits below the redirect stage, so every hop is checked against the API's origin before a
 * token is attached.
 */
import type { AccessToken } from "@bulwark/auth-token"
import { type TokenError, TokenProvider } from "@bulwark/auth-token"
import { ApiError, Redaction } from "@bulwark/core-errors"
import * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type Client, originOf, plugin, requestUrl, sendVia, type Stage, toClient } from "./stage.js"
import { untilAborted } from "./timeout.js"

const withoutAuthorization = (request: HttpClientRequest.HttpClientRequest) => {
  if (request.headers["authorization"] === undefined) return request
  // Header setters merge, so the request is rebuilt without the header.
  return HttpClientRequest.make(request.method)(request.url, {
    urlParams: request.urlParams,
    headers: Headers.remove(request.headers, "authorization"),
    body: request.body,
    ...(Option.isSome(request.hash) ? { hash: request.hash.value } : {})
  })
}

const bearerHeader = (token: AccessToken.AccessToken): string =>
  `${token.type.toLowerCase() === "bearer" ? "Bearer" : token.type} ${Redacted.value(token.value)}`

/** The bearer token stage, with the token provider resolved when the pipeline is built. @internal */
export const bearerTokenStage = (options: {
  readonly origin: string
  readonly tokens: TokenProvider.Service
}): Stage => {
  const apiOrigin = originOf(options.origin) ?? options.origin
  const tokens = options.tokens
  return (next) => (request, call) => {
    // Only the API's own origin (scheme, host and port) ever sees the token; any other origin,
    // including one reached by a redirect, gets the request without an Authorization header.
    if (originOf(request.url) !== apiOrigin) return next(withoutAuthorization(request), call)
    const send = (token: AccessToken.AccessToken) => {
      call.tokenUsed = token
      return next(HttpClientRequest.setHeader(request, "authorization", bearerHeader(token)), call).pipe(
        Effect.flatMap((response) => {
          const reached = originOf(response.request.url)
          if (reached === undefined || reached === apiOrigin) return Effect.succeed(response)
          return leakedByTransport(tokens, token, request, response.request.url, response.status)
        }),
        Effect.catchIf(
          (error): error is ApiError.ApiError =>
            ApiError.isApiError(error) && originOf(error.url) !== undefined &&
            originOf(error.url) !== apiOrigin,
          (error) => leakedByTransport(tokens, token, request, error.url, "status" in error ? error.status : 0)
        )
      )
    }
    const abort = call.abort
    if (abort === undefined) return Effect.flatMap(tokens.get, send)
    // The attempt ends by aborting its request: a token already at hand is sent at once; a wait for a fetch
    // (not a request of this attempt) is cut short by the same abort.
    return Effect.clockWith((clock) => {
      const cached = tokens.peek?.(clock.unsafeCurrentTimeMillis())
      return cached !== undefined ? send(cached) : Effect.flatMap(untilAborted(tokens.get, abort.signal), send)
    })
  }
}

/** @internal */
export const bearerToken = (options: {
  readonly origin: string
  readonly tokens?: TokenProvider.Service | undefined
}) =>
<E, R>(
  self: Client<E, R>
): Client<E | TokenError.TokenError | ApiError.NetworkError, R | TokenProvider.TokenProvider> => {
  if (options.tokens !== undefined) {
    return plugin(bearerTokenStage({ origin: options.origin, tokens: options.tokens }), self)
  }
  // No provider given: the one in the context of each call.
  const inner = sendVia(self)
  return toClient((request, call) =>
    Effect.flatMap(
      TokenProvider.TokenProvider,
      (tokens) => bearerTokenStage({ origin: options.origin, tokens })(inner)(request, call)
    )
  )
}

/**
 * The transport under the pipeline followed a redirect to another origin by itself (the platform's
 * `HttpClient.followRedirects`), re-sending the Authorization header there before Bulwark could see the hop.
 * The token is treated as exposed: it is invalidated (the next call fetches a new one) and the call fails
 * with an error that says what happened and how to fix it.
 */
const leakedByTransport = (
  tokens: TokenProvider.Service,
  token: AccessToken.AccessToken,
  request: HttpClientRequest.HttpClientRequest,
  reachedUrl: string,
  status: number
) =>
  Effect.zipRight(
    Effect.zipRight(
      tokens.invalidate(token),
      Effect.logWarning(
        "The HttpClient under @bulwark/http-client followed a redirect to another origin and sent the access token there; the token was discarded. Remove HttpClient.followRedirects from the transport: the ApiClient follows redirects itself and never sends the token to another origin."
      )
    ),
    Effect.fail(
      new ApiError.NetworkError({
        method: request.method,
        url: Redaction.url(requestUrl(request)),
        reason: "Transport",
        sent: true,
        cause: new Error(
          `the transport followed a redirect to ${
            Redaction.url(reachedUrl)
          } (status ${status}) and re-sent the request there with the access token, which has been discarded; remove HttpClient.followRedirects from the transport given to the ApiClient (it follows same-origin redirects itself, see the redirects option)`
        )
      })
    )
  )
