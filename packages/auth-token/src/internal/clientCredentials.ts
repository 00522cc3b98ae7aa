import { Classify, Redaction } from "@bulwark/core-errors"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { TokenError } from "../TokenError.js"
import type { ClientCredentialsOptions, TokenSource } from "../TokenSource.js"
import * as tokenResponse from "./tokenResponse.js"

/** RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined and encoded. */
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+")

const MAX_BODY_CHARS = 64 * 1024

/** @internal */
export const clientCredentials = (options: ClientCredentialsOptions): TokenSource<HttpClient.HttpClient> => {
  const tokenUrl = String(options.tokenUrl)
  const source = `${Redaction.url(tokenUrl)} (client ${options.clientId})`
  const auth = options.auth ?? "basic"
  const scope = typeof options.scope === "string" ? options.scope : options.scope?.join(" ")
  const timeout = Duration.decode(options.timeout ?? Duration.seconds(10))
  const defaultExpiresIn = Duration.decode(options.defaultExpiresIn ?? Duration.hours(1))
  const secret = () => Redacted.value(options.clientSecret)
  const scrub = (text: string) => Redaction.text(text, { secrets: [secret()] })

  const fail = (fields: Omit<ConstructorParameters<typeof TokenError>[0], "source">) =>
    Effect.fail(new TokenError({ source, ...fields }))

  const buildRequest = () => {
    const params: Record<string, string> = { grant_type: "client_credentials" }
    if (scope !== undefined && scope !== "") params.scope = scope
    if (options.audience !== undefined) params.audience = options.audience
    Object.assign(params, options.extraParams ?? {})
    let request = HttpClientRequest.post(tokenUrl).pipe(HttpClientRequest.acceptJson)
    if (auth === "basic") {
      const credentials = Buffer.from(`${formEncode(options.clientId)}:${formEncode(secret())}`).toString("base64")
      request = HttpClientRequest.setHeader(request, "authorization", `Basic ${credentials}`)
    } else {
      params.client_id = options.clientId
      params.client_secret = secret()
    }
    return HttpClientRequest.bodyUrlParams(request, params)
  }

  const onSuccess = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const text = yield* response.text.pipe(
        Effect.mapError((error) =>
          new TokenError({
            source,
            reason: "Unreachable",
            status: response.status,
            detail: "the response body could not be read",
            cause: new Error(scrub(error.message))
          })
        )
      )
      let json: unknown
      try {
        json = JSON.parse(text.slice(0, MAX_BODY_CHARS))
      } catch {
        return yield* fail({
          reason: "MalformedResponse",
          status: response.status,
          detail: `the body is not JSON (content-type ${response.headers["content-type"] ?? "none"})`
        })
      }
      const now = yield* Clock.currentTimeMillis
      const decoded = tokenResponse.toAccessToken(json, now, { defaultExpiresIn, requestedScope: scope })
      if (decoded._tag === "Token") return decoded.token
      return yield* fail({
        reason: "MalformedResponse",
        status: response.status,
        detail: decoded.detail,
        oauthError: decoded.oauthError
      })
    })

  const onError = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const error = yield* Classify.errorFromResponse(response)
      const snippet = "snippet" in error ? error.snippet : undefined
      let oauthError: string | undefined
      let description: string | undefined
      if (snippet !== undefined) {
        try {
          const body = JSON.parse(snippet) as { error?: unknown; error_description?: unknown }
          if (typeof body.error === "string") oauthError = body.error.slice(0, 64)
          if (typeof body.error_description === "string") description = scrub(body.error_description.slice(0, 300))
        } catch {
          // not an OAuth error body: the status says enough
        }
      }
      const retryAfter = "retryAfter" in error ? error.retryAfter : undefined
      const reason = response.status === 429
        ? "RateLimited"
        : response.status >= 500
        ? "ServerError"
        : response.status === 408
        ? "Timeout"
        : "Rejected"
      return yield* fail({ reason, status: response.status, oauthError, detail: description, retryAfter })
    })

  const fetch = Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(buildRequest()).pipe(
      Effect.catchAll((error) =>
        Effect.flatMap(Classify.httpClientError(error), (apiError) =>
          fail({
            reason: apiError._tag === "Timeout" ? "Timeout" : "Unreachable",
            detail: scrub(apiError.message),
            cause: apiError
          }))
      )
    )
    return yield* (response.status >= 200 && response.status < 300 ? onSuccess(response) : onError(response))
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new TokenError({ source, reason: "Timeout", detail: `no answer within ${Duration.format(timeout)}` })
    })
  )

  return { name: source, fetch }
}
