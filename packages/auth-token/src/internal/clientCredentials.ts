import type { ApiError } from "@bulwark/core-errors"
import { Classify, Redaction, RetryAfter } from "@bulwark/core-errors"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constTrue } from "effect/Function"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { TokenError } from "../TokenError.js"
import type { ClientCredentialsOptions, TokenSource } from "../TokenSource.js"
import * as options_ from "./options.js"
import * as tokenResponse from "./tokenResponse.js"

/** RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined and encoded. */
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+")

const MAX_BODY_BYTES = 64 * 1024

/**
 * The body's text, or `undefined` when it is over 64 KiB. A declared `content-length` over the limit is
 * not read at all; otherwise the body is read whole (the token request's timeout bounds how long).
 */
const readBounded = (response: HttpClientResponse.HttpClientResponse) => {
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Effect.succeed(undefined)
  return Effect.map(response.text, (text) => (text.length > MAX_BODY_BYTES ? undefined : text))
}

const HttpUrl = Schema.Union(Schema.String, Schema.instanceOf(URL)).pipe(
  Schema.filter((value) => {
    try {
      const url = new URL(String(value))
      return url.protocol === "http:" || url.protocol === "https:"
    } catch {
      return false
    }
  })
)

const ScopeSchema = Schema.Union(Schema.String, Schema.Array(Schema.String))

const Method = Schema.Literal("basic", "body")

const ConfigSchema = Schema.Struct({
  tokenUrl: HttpUrl,
  clientId: Schema.String.pipe(Schema.minLength(1)),
  clientSecret: Schema.RedactedFromSelf(Schema.String),
  scope: Schema.optional(ScopeSchema),
  audience: Schema.optional(Schema.String),
  method: Schema.optional(Method),
  auth: Schema.optional(Method),
  timeout: Schema.optional(options_.durationInput(1)),
  defaultExpiresIn: Schema.optional(
    options_.durationInput(Duration.toMillis(tokenResponse.minLifetime), Duration.toMillis(tokenResponse.maxLifetime))
  ),
  extraParams: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

const problems: Record<string, string> = {
  tokenUrl: "must be an absolute http: or https: URL",
  clientId: "must be a non-empty string",
  clientSecret: "must be a Redacted string (Redacted.make or Config.redacted)",
  scope: "must be a string or a list of strings",
  audience: "must be a string",
  method: "must be \"basic\" or \"body\"",
  auth: "must be \"basic\" or \"body\"",
  timeout: "must be a finite, positive duration",
  defaultExpiresIn: "must be a finite duration between 1 second and a year",
  extraParams: "must be a record of strings"
}

/** The source's name: the token URL with its secrets redacted and the client id, bounded after redaction. */
const sourceName = (options: ClientCredentialsOptions, secrets: ReadonlyArray<string>): string => {
  const bound = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)
  const url = typeof options.tokenUrl === "string" || options.tokenUrl instanceof URL
    ? bound(Redaction.text(Redaction.url(String(options.tokenUrl)), { secrets }), 300)
    : "an invalid token URL"
  const id = typeof options.clientId === "string"
    ? bound(Redaction.text(options.clientId.replace(/\s+/g, " "), { secrets }), 100)
    : "?"
  return `${url} (client ${id})`
}

/**
 * Every form the client secret travels in, for redaction: as given, form-encoded as in the `Basic`
 * credentials (RFC 6749 §2.3.1) and as in the form body (WHATWG `application/x-www-form-urlencoded`),
 * and the whole `Basic` credential string. `Redaction.text` also finds each one percent-encoded and
 * base64-encoded at any alignment.
 */
const secretsOf = (clientId: string, secret: string): ReadonlyArray<string> => {
  const form = new URLSearchParams({ s: secret }).toString().slice(2)
  const all = [secret, formEncode(secret), form, `${formEncode(clientId)}:${formEncode(secret)}`]
  return all.filter((value, index) => all.indexOf(value) === index)
}

/** The `access_token` a response body carried, if any: it is redacted from everything quoted back. */
const accessTokenIn = (json: unknown): ReadonlyArray<string> =>
  typeof json === "object" && json !== null && "access_token" in json && typeof json.access_token === "string"
    ? [json.access_token]
    : []

const asRecord = (json: unknown): Record<string, unknown> | undefined =>
  typeof json === "object" && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : undefined

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const phaseText: Record<ApiError.TimeoutPhase, string> = {
  connect: "connecting timed out",
  headers: "the response headers did not arrive in time",
  body: "the response body did not arrive in time",
  attempt: "the request timed out",
  deadline: "the request timed out"
}

/** @internal */
export const clientCredentials = (options: ClientCredentialsOptions): TokenSource<HttpClient.HttpClient> => {
  // Scrubbed even when the options are invalid (a secret passed as a plain string, say).
  const secretValue: unknown = Redacted.isRedacted(options.clientSecret)
    ? Redacted.value(options.clientSecret)
    : options.clientSecret
  const secrets = typeof secretValue === "string"
    ? secretsOf(typeof options.clientId === "string" ? options.clientId : "", secretValue)
    : []
  const source = sourceName(options, secrets)
  const config = options_.decodeOptions(ConfigSchema, options, problems)
  if (Either.isLeft(config)) {
    return {
      name: source,
      fetch: Effect.fail(
        new TokenError({ source, reason: "InvalidConfig", detail: config.left })
      )
    }
  }
  const valid = config.right
  const tokenUrl = String(valid.tokenUrl)
  const method = valid.method ?? valid.auth ?? "basic"
  const scope = typeof valid.scope === "string" ? valid.scope : valid.scope?.join(" ")
  const timeout = valid.timeout ?? Duration.seconds(10)
  const defaultExpiresIn = valid.defaultExpiresIn ?? Duration.hours(1)
  const secret = () => Redacted.value(valid.clientSecret)
  /** Removes every form of the client secret (and of `extra` values, such as a token) from server text. */
  const scrub = (text: string, extra: ReadonlyArray<string> = []) =>
    Redaction.text(text, { secrets: extra.length === 0 ? secrets : [...secrets, ...extra] })
  /**
   * Scrubs the whole text (at most a 64 KiB body), then bounds it: cutting first could leave part of a
   * secret that no longer matches any of its forms.
   */
  const quote = (text: string, max: number, extra?: ReadonlyArray<string>) => {
    const scrubbed = scrub(text, extra)
    return scrubbed.length > max ? `${scrubbed.slice(0, max)}…` : scrubbed
  }

  const fail = (fields: Omit<ConstructorParameters<typeof TokenError>[0], "source">) =>
    Effect.fail(new TokenError({ source, ...fields }))

  /** A cause to keep: a plain error with a scrubbed message, never the platform error (it holds the request). */
  const causeOf = (name: string, message: string) => {
    const cause = new Error(message)
    cause.name = name
    return cause
  }

  const buildRequest = () => {
    const params: Record<string, string> = { grant_type: "client_credentials" }
    if (scope !== undefined && scope !== "") params.scope = scope
    if (valid.audience !== undefined) params.audience = valid.audience
    Object.assign(params, valid.extraParams ?? {})
    let request = HttpClientRequest.post(tokenUrl).pipe(HttpClientRequest.acceptJson)
    if (method === "basic") {
      const credentials = Buffer.from(`${formEncode(valid.clientId)}:${formEncode(secret())}`).toString("base64")
      request = HttpClientRequest.setHeader(request, "authorization", `Basic ${credentials}`)
    } else {
      params.client_id = valid.clientId
      params.client_secret = secret()
    }
    return HttpClientRequest.bodyUrlParams(request, params)
  }

  const contentTypeOf = (response: HttpClientResponse.HttpClientResponse): string => {
    const header = response.headers["content-type"]
    if (header === undefined) return "none"
    const mediaType = /^\s*([A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64})\s*(?:;|$)/.exec(
      scrub(header)
    )
    return mediaType === null ? "not a media type" : mediaType[1]!
  }

  const onSuccess = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const text = yield* readBounded(response).pipe(
        Effect.mapError((error) =>
          new TokenError({
            source,
            reason: "Unreachable",
            status: response.status,
            detail: "the response body could not be read",
            cause: causeOf("ResponseError", quote(error.message, 500))
          })
        )
      )
      if (text === undefined) {
        return yield* fail({ reason: "MalformedResponse", status: response.status, detail: "the body is over 64 KiB" })
      }
      const json = parseJson(text)
      if (json === undefined) {
        return yield* fail({
          reason: "MalformedResponse",
          status: response.status,
          detail: `the body is not JSON (content-type ${contentTypeOf(response)})`
        })
      }
      const extra = accessTokenIn(json)
      const now = yield* Clock.currentTimeMillis
      const decoded = tokenResponse.toAccessToken(json, now, {
        defaultExpiresIn,
        requestedScope: scope,
        scrub: (text) => scrub(text, extra)
      })
      if (decoded._tag === "Token") return decoded.token
      return yield* fail({
        reason: "MalformedResponse",
        status: response.status,
        detail: scrub(decoded.detail, extra),
        oauthError: decoded.oauthError
      })
    })

  const onRedirect = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const location = response.headers["location"]
      // The body may carry a token that the Location repeats.
      const text = location === undefined
        ? undefined
        : yield* readBounded(response).pipe(Effect.orElseSucceed(() => undefined))
      const extra = text === undefined ? [] : accessTokenIn(parseJson(text))
      const to = location === undefined ? "" : ` to ${quote(Redaction.url(location), 200, extra)}`
      return yield* fail({
        reason: "MalformedResponse",
        status: response.status,
        detail: `the token endpoint redirected${to}, and token requests do not follow redirects: update the token URL`
      })
    })

  const onError = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      // An OAuth error body (RFC 6749 §5.2) is read here, not through the API error classification: its
      // redaction would hide an `access_token` the body carried, which must be scrubbed from the rest.
      const text = yield* readBounded(response).pipe(Effect.orElseSucceed(() => undefined))
      const body = text === undefined ? undefined : asRecord(parseJson(text))
      const extra = accessTokenIn(body)
      const oauthError = tokenResponse.oauthErrorCode(body?.error, (text) => scrub(text, extra))
      const description = typeof body?.error_description === "string"
        ? quote(body.error_description, 300, extra)
        : undefined
      const retryAfterHeader = response.headers["retry-after"]
      const retryAfter = retryAfterHeader === undefined || (response.status !== 429 && response.status < 500)
        ? undefined
        : Option.getOrUndefined(RetryAfter.parse(retryAfterHeader, yield* Clock.currentTimeMillis))
      const reason = response.status === 429
        ? "RateLimited"
        : response.status >= 500
        ? "ServerError"
        : response.status === 408
        ? "Timeout"
        : "Rejected"
      return yield* fail({ reason, status: response.status, oauthError, detail: description, retryAfter })
    })

  /** A failure before any answer, described from the classified error's fields (not its API-call advice). */
  const onTransportError = (apiError: ApiError.ApiError) => {
    const cause = apiError.cause instanceof Error ? apiError.cause.message : ""
    switch (apiError._tag) {
      case "Timeout": {
        const detail = phaseText[apiError.phase]
        return fail({ reason: "Timeout", detail, cause: causeOf("Timeout", quote(cause || detail, 500)) })
      }
      case "NetworkError": {
        if (apiError.reason === "InvalidUrl") {
          return fail({ reason: "InvalidConfig", detail: "the token URL is not a valid URL" })
        }
        if (apiError.reason === "Encode") {
          return fail({ reason: "InvalidConfig", detail: "the token request could not be encoded (check extraParams)" })
        }
        const what = apiError.sent ? "the connection was lost before an answer arrived" : "the connection failed"
        const code = apiError.code === undefined ? "" : quote(apiError.code, 40)
        const because = quote(cause.replace(/\s+/g, " "), 300).replace(/[\s.;:,]+$/, "")
        const detail = code === "" && because === ""
          ? what
          : `${what} (${code !== "" && because !== "" && !because.includes(code) ? `${code}: ` : ""}${because || code})`
        return fail({ reason: "Unreachable", detail, cause: causeOf("NetworkError", detail) })
      }
      default:
        return fail({
          reason: "Unreachable",
          detail: "the transport failed",
          cause: causeOf(apiError._tag, quote(cause || apiError._tag, 500))
        })
    }
  }

  const fetch = Effect.gen(function*() {
    // The platform's own transport span would end with the response as its exit value, and the response
    // holds the request: the Basic credentials or the client secret in the form body. It is turned off for
    // the token request; the provider's `bulwark.auth_token.fetch` span describes it without secrets.
    const client = HttpClient.withTracerDisabledWhen(yield* HttpClient.HttpClient, constTrue)
    const response = yield* client.execute(buildRequest()).pipe(
      Effect.catchAll((error) => Effect.flatMap(Classify.httpClientError(error), onTransportError))
    )
    if (response.status >= 200 && response.status < 300) return yield* onSuccess(response)
    if (response.status >= 300 && response.status < 400) return yield* onRedirect(response)
    return yield* onError(response)
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
