/**
 * The redirect stage: follows redirects with an origin check on every hop. It sits above the bearer stage, so
 * every hop is checked against the API's origin before a token is attached.
 */
import { type ApiError, Classify, Redaction } from "@bulwark/core-errors"
import * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { type Client, originOf, plugin, requestUrl, type Send, type Stage } from "./stage.js"

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

const secretsOf = (request: HttpClientRequest.HttpClientRequest, redactor: Redaction.Redactor) => {
  const out: Array<string> = []
  for (const [name, value] of Object.entries(request.headers)) {
    if (redactor.headerNames.has(name)) out.push(value)
  }
  for (const [name, value] of request.urlParams) {
    if (redactor.queryParams.has(name.toLowerCase())) out.push(value)
  }
  return out
}

/**
 * Follows redirects with an origin check on every hop. Sits above the bearer stage, so each hop is sent
 * through it and gets the token only when it goes to the API's origin; a hop to another origin fails, or
 * (when allowed) goes without the token and without any header the redactor counts as secret. 303, and
 * 301/302 after a POST, become a GET without a body, as browsers and the Fetch standard do.
 *
 * @internal
 */
export const followRedirectsStage = (options: {
  readonly origin: string
  readonly max: number
  readonly crossOrigin: "fail" | "follow-without-credentials"
  readonly redactor: Redaction.Redactor
}): Stage => {
  const apiOrigin = originOf(options.origin) ?? options.origin
  return (next: Send) => (request, call) => {
    const send = (request: HttpClientRequest.HttpClientRequest) => next(request, call)
    // The secrets the call carries above the bearer stage (API keys, secret query parameters): a hop drops
    // the query and, across origins, the headers, so its own request no longer knows them.
    const secrets = secretsOf(request, options.redactor)
    const loop = (
      current: HttpClientRequest.HttpClientRequest,
      hops: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, unknown, unknown> =>
      Effect.flatMap(send(current), (response) => {
        const location = response.headers["location"]
        if (!REDIRECT_STATUSES.has(response.status) || location === undefined || location === "") {
          return Effect.succeed(response)
        }
        const refuse = Effect.fail(Classify.redirectError(response, { redactor: options.redactor, secrets }))
        if (hops >= options.max) return refuse
        let target: URL
        try {
          target = new URL(location, requestUrl(current))
        } catch {
          return refuse
        }
        // A server that redirects to a URL quoting a credential it received is never followed: the URL
        // would carry the secret to wherever it points, and into every log of the hop.
        if (secrets.length > 0 && Redaction.text(target.href, { secrets }) !== target.href) return refuse
        if (target.protocol !== "https:" && target.protocol !== "http:") return refuse
        const crossOrigin = target.origin !== apiOrigin
        if (crossOrigin && options.crossOrigin === "fail") return refuse
        // HTTPS to HTTP would send the request in clear: never followed.
        if (new URL(requestUrl(current)).protocol === "https:" && target.protocol === "http:") return refuse
        const toGet = response.status === 303 || ((response.status === 301 || response.status === 302) &&
          current.method === "POST")
        let headers = Headers.remove(current.headers, "authorization")
        if (crossOrigin) {
          for (const name of Object.keys(headers)) {
            if (options.redactor.headerNames.has(name)) headers = Headers.remove(headers, name)
          }
        }
        if (toGet) headers = Headers.remove(Headers.remove(headers, "content-type"), "content-length")
        const next = HttpClientRequest.setUrl(
          HttpClientRequest.make(toGet ? "GET" : current.method)(target.href, {
            headers,
            ...(toGet ? {} : { body: current.body })
          }),
          target
        )
        return loop(next, hops + 1)
      })
    return loop(request, 0)
  }
}

/** @internal */
export const followRedirects = (options: {
  readonly origin: string
  readonly max: number
  readonly crossOrigin: "fail" | "follow-without-credentials"
  readonly redactor: Redaction.Redactor
}) =>
<E, R>(self: Client<E, R>): Client<E | ApiError.ApiError, R> => plugin(followRedirectsStage(options), self)
