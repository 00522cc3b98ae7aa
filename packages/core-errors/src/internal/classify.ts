import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Errors from "../ApiError.js"
import type { Options } from "../Classify.js"
import * as errorBody from "./errorBody.js"
import * as redaction from "./redaction.js"
import * as retryAfter from "./retryAfter.js"

/** @internal */
export const defaultBodyReadTimeout: Duration.Duration = Duration.seconds(10)

const REQUEST_ID_HEADERS = ["x-request-id", "request-id", "x-correlation-id"] as const

/** Codes of failures that happen before a request can have reached the server. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_HAS_EXPIRED"
])

interface RequestInfo {
  readonly method: string
  readonly url: string
  readonly secrets: ReadonlyArray<string>
}

/** The method, the redacted URL and the secret values a request carries (to scrub from causes). */
export const requestInfo = (
  request: HttpClientRequest.HttpClientRequest,
  redactor: redaction.Redactor
): RequestInfo => {
  const full = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
  const rawUrl = Either.isRight(full) ? full.right.href : request.url
  const secrets: Array<string> = []
  for (const [name, value] of Object.entries(request.headers)) {
    if (!redactor.headerNames.has(name.toLowerCase())) continue
    secrets.push(value)
    const space = value.indexOf(" ")
    if (space !== -1) secrets.push(value.slice(space + 1).trim())
  }
  for (const [name, value] of request.urlParams) {
    if (redactor.queryParams.has(name.toLowerCase())) secrets.push(value)
  }
  // A secret can also stand in the path (a server that redirected to a URL quoting the token, say).
  const url = redaction.url(redactor, rawUrl)
  return { method: request.method, url: secrets.length === 0 ? url : redaction.text(redactor, url, secrets), secrets }
}

/** @internal */
export class SanitizedCause extends Error {
  readonly code: string | undefined
  constructor(name: string, message: string, code: string | undefined, stack: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = name
    this.code = code
    if (stack !== undefined) this.stack = stack
  }
}

/**
 * Copies an arbitrary failure into an `Error` whose message, stack and nested causes have had every
 * URL redacted and every known secret removed. Platform errors hold the request (and with it the
 * Authorization header and the full URL), so they are never kept as they are.
 */
export const sanitizeCause = (
  cause: unknown,
  redactor: redaction.Redactor,
  secrets: ReadonlyArray<string>,
  depth = 0
): SanitizedCause | undefined => {
  if (cause === undefined || cause === null || depth > 4) return undefined
  const scrub = (text: string) => redaction.text(redactor, text, secrets)
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    const nested = sanitizeCause((cause as { cause?: unknown }).cause, redactor, secrets, depth + 1)
    return new SanitizedCause(
      cause.name,
      scrub(cause.message),
      typeof code === "string" ? code : undefined,
      cause.stack === undefined ? undefined : scrub(cause.stack),
      nested
    )
  }
  let text: string
  try {
    text = typeof cause === "string" ? cause : JSON.stringify(cause) ?? String(cause)
  } catch {
    text = String(cause)
  }
  return new SanitizedCause("Error", scrub(text.slice(0, 2000)), undefined, undefined)
}

interface ChainInfo {
  readonly codes: ReadonlyArray<string>
  readonly names: ReadonlyArray<string>
}

const chainOf = (cause: unknown): ChainInfo => {
  const codes: Array<string> = []
  const names: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 6 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    const name = (current as { name?: unknown }).name
    if (typeof code === "string") codes.push(code)
    if (typeof name === "string") names.push(name)
    current = (current as { cause?: unknown }).cause
  }
  return { codes, names }
}

const timeoutPhaseOf = (chain: ChainInfo): Errors.TimeoutPhase | undefined => {
  for (const code of chain.codes) {
    if (code === "UND_ERR_CONNECT_TIMEOUT") return "connect"
    if (code === "UND_ERR_HEADERS_TIMEOUT") return "headers"
    if (code === "UND_ERR_BODY_TIMEOUT") return "body"
    if (code === "ETIMEDOUT") return "connect"
  }
  if (chain.names.includes("TimeoutError")) return "attempt"
  return undefined
}

/** The request id the server sent, redacted: a server may echo anything into a header. */
const requestIdOf = (headers: Readonly<Record<string, string>>, redactor: redaction.Redactor, info: RequestInfo) => {
  for (const name of REQUEST_ID_HEADERS) {
    const value = headers[name]
    if (value !== undefined && value !== "") return redaction.text(redactor, value.slice(0, 200), info.secrets)
  }
  return undefined
}

interface BodyRead {
  readonly bytes: Uint8Array
  readonly incomplete: boolean
  readonly problem: string | undefined
}

const concat = (chunks: Chunk.Chunk<Uint8Array>, size: number): Uint8Array => {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk.subarray(0, Math.min(chunk.byteLength, size - offset)), offset)
    offset += Math.min(chunk.byteLength, size - offset)
    if (offset >= size) break
  }
  return out
}

/** What a body that could not be read leaves: nothing, and the reason. */
const unreadable: BodyRead = { bytes: new Uint8Array(0), incomplete: true, problem: "the body could not be read" }

/**
 * Reads at most `limit + 1` bytes of the body (the extra byte tells whether there is more), then
 * stops pulling, which cancels the rest of the body. Never fails: an unreadable or stalled body is
 * reported as a problem next to whatever bytes did arrive.
 *
 * A body whose `content-length` is within the limit (the usual small JSON error body) is read whole, in one
 * step: no stream to pull and finalize (with its abort of a body that has already arrived). Measured on a
 * burst of 1,000 calls answered 401: about a quarter of the client's CPU per call on that path.
 */
const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  timeout: Duration.DurationInput | false
): Effect.Effect<BodyRead> => {
  const length = Number(response.headers["content-length"])
  const read: Effect.Effect<BodyRead, unknown> = Number.isInteger(length) && length >= 0 && length <= limit
    ? Effect.map(
      response.arrayBuffer,
      (buffer): BodyRead => ({ bytes: new Uint8Array(buffer), incomplete: false, problem: undefined })
    )
    : response.stream.pipe(
      Stream.runFoldWhile(
        { chunks: Chunk.empty<Uint8Array>(), size: 0 },
        (state) => state.size <= limit,
        (state, chunk: Uint8Array) => ({
          chunks: Chunk.append(state.chunks, chunk),
          size: state.size + chunk.byteLength
        })
      ),
      Effect.map((state): BodyRead => ({
        bytes: concat(state.chunks, Math.min(state.size, limit)),
        incomplete: state.size > limit,
        problem: undefined
      }))
    )
  const bounded = timeout === false ? read : Effect.timeoutTo(read, {
    duration: timeout,
    onSuccess: (read) => read,
    onTimeout: (): BodyRead => ({
      bytes: new Uint8Array(0),
      incomplete: true,
      problem: `the body did not arrive within ${Duration.format(Duration.decode(timeout))}`
    })
  })
  return Effect.catchAllCause(bounded, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.succeed<BodyRead>(unreadable))
}

/** @internal */
export const fromResponse = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
): Effect.Effect<Errors.ApiError> => {
  const redactor = options?.redactor ?? redaction.defaultRedactor
  // Two steps, no generator: an error response is a hot path too (a burst of 401s after a revocation).
  return Effect.flatMap(
    readBounded(
      response,
      options?.maxBodyBytes ?? errorBody.defaultMaxBodyBytes,
      options?.bodyReadTimeout ?? defaultBodyReadTimeout
    ),
    (read) =>
      Effect.clockWith((clock) => {
        const info = requestInfo(response.request, redactor)
        const decoded = errorBody.fromBytes(read.bytes, {
          readCategory: options?.readCategory,
          snippetBytes: options?.snippetBytes,
          incomplete: read.incomplete
        })
        const now = clock.unsafeCurrentTimeMillis()
        const headers = response.headers
        const retryAfterHeader = headers["retry-after"]
        const wait = retryAfterHeader === undefined
          ? Option.none()
          : retryAfter.parse(retryAfterHeader, now, options?.retryAfterCap ?? retryAfter.defaultCap)
        const snippet = Option.getOrUndefined(decoded.snippet)
        const body = Option.getOrUndefined(decoded.body)
        const fields = {
          method: info.method,
          url: info.url,
          status: response.status,
          // A server may quote what it received (the token, a secret parameter) in anything it sends back.
          body: body === undefined ? undefined : redactBody(body, redactor, info.secrets),
          snippet: snippet === undefined ? undefined : redaction.text(redactor, snippet, info.secrets),
          requestId: requestIdOf(headers, redactor, info),
          retryAfter: Option.getOrUndefined(wait),
          cause: read.problem === undefined
            ? undefined
            : new SanitizedCause("BodyReadError", read.problem, undefined, "")
        }
        const challenge = headers["www-authenticate"]
        return Effect.succeed(fromStatus(
          response.status,
          fields,
          challenge === undefined ? undefined : redaction.challenge(redactor, challenge.slice(0, 500), info.secrets),
          now
        ))
      })
  )
}

/** Redacts every string in an error body (keys are the API's vocabulary and kept). */
const redactBody = (
  body: errorBody.ApiErrorBody,
  redactor: redaction.Redactor,
  secrets: ReadonlyArray<string>
): errorBody.ApiErrorBody => {
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return redaction.text(redactor, value, secrets)
    if (value === null || typeof value !== "object") return value
    // Deeper than any error body needs: dropped rather than walked, so a hostile body cannot recurse.
    if (depth > 8) return "[nested too deep]"
    if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1))
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key from JSON must stay data, not become a prototype.
      Object.defineProperty(out, key, {
        value: scrub(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    return out
  }
  return scrub(body, 0) as errorBody.ApiErrorBody
}

/**
 * The fields are built above from a decoded body and parsed headers: re-validating them with the error's
 * schema on every 4xx/5xx would only repeat that work (it was a tenth of the CPU of an error response).
 */
const validated = { disableValidation: true } as const

const fromStatus = (
  status: number,
  fields: ConstructorParameters<typeof Errors.BadRequest>[0],
  challenge: string | undefined,
  now: number
): Errors.ApiError => {
  switch (status) {
    case 400:
      return new Errors.BadRequest(fields, validated)
    case 401:
      return new Errors.Unauthorized({ ...fields, challenge }, validated)
    case 403:
      return new Errors.Forbidden(fields, validated)
    case 404:
      return new Errors.NotFound(fields, validated)
    case 409:
      return new Errors.Conflict(fields, validated)
    case 429:
      return new Errors.RateLimited(
        fields.retryAfter === undefined ? fields : { ...fields, retryAt: now + Duration.toMillis(fields.retryAfter) },
        validated
      )
    default:
      return status >= 500 ? new Errors.ServerError(fields, validated) : new Errors.ClientError(fields, validated)
  }
}

/** @internal */
export const response = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
): Effect.Effect<HttpClientResponse.HttpClientResponse, Errors.ApiError> => {
  if (response.status >= 400) return Effect.flip(fromResponse(response, options))
  if (isRedirect(response.status) && options?.redirects !== "response") {
    return Effect.fail(redirectError(response, options))
  }
  return Effect.succeed(response)
}

/** 3xx statuses that point elsewhere; 304 Not Modified is an answer to a conditional request. */
const isRedirect = (status: number) => status >= 300 && status < 400 && status !== 304

/** @internal */
export const redirectError = (
  response: HttpClientResponse.HttpClientResponse,
  options?: Pick<Options, "redactor"> & { readonly secrets?: ReadonlyArray<string> | undefined }
): Errors.InvalidResponse => {
  const redactor = options?.redactor ?? redaction.defaultRedactor
  const own = requestInfo(response.request, redactor)
  const secrets = [...own.secrets, ...(options?.secrets ?? [])]
  const info = { ...own, url: redaction.text(redactor, own.url, secrets), secrets }
  const location = response.headers["location"]
  let resolved: string | undefined
  if (location !== undefined && location !== "") {
    try {
      resolved = new URL(location, response.request.url).href
    } catch {
      resolved = location
    }
  }
  return new Errors.InvalidResponse({
    method: info.method,
    url: info.url,
    status: response.status,
    problem: "the response is a redirect",
    location: resolved === undefined ? undefined : redaction.text(redactor, resolved.slice(0, 2000), info.secrets),
    requestId: requestIdOf(response.headers, redactor, info)
  })
}

const transportError = (
  request: HttpClientRequest.HttpClientRequest,
  cause: unknown,
  fallback: "Transport" | "Encode" | "InvalidUrl",
  redactor: redaction.Redactor,
  sentByDefault: boolean
): Errors.Timeout | Errors.NetworkError => {
  const info = requestInfo(request, redactor)
  const chain = chainOf(cause)
  const sanitized = sanitizeCause(cause, redactor, info.secrets)
  const phase = fallback === "Transport" ? timeoutPhaseOf(chain) : undefined
  if (phase !== undefined) {
    return new Errors.Timeout({ method: info.method, url: info.url, phase, cause: sanitized })
  }
  const code = chain.codes[0]
  return new Errors.NetworkError({
    method: info.method,
    url: info.url,
    reason: fallback,
    code,
    sent: fallback === "Transport" && !(code !== undefined && NOT_SENT_CODES.has(code)) && sentByDefault,
    cause: sanitized
  })
}

/** @internal */
export const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  options?: Options
): Effect.Effect<Errors.ApiError> => {
  const redactor = options?.redactor ?? redaction.defaultRedactor
  if (error._tag === "RequestError") {
    return Effect.succeed(transportError(error.request, error.cause, error.reason, redactor, true))
  }
  const response = error.response
  if (error.reason === "StatusCode" || response.status >= 400) return fromResponse(response, options)
  // A 2xx/3xx whose body failed: either the transport broke while reading it, or it did not decode.
  const chain = chainOf(error.cause)
  if (timeoutPhaseOf(chain) !== undefined || chain.codes.length > 0) {
    return Effect.succeed(transportError(error.request, error.cause, "Transport", redactor, true))
  }
  const info = requestInfo(error.request, redactor)
  const problem = error.description ?? (error.cause instanceof Error ? error.cause.message : error.reason)
  return Effect.succeed(
    new Errors.InvalidResponse({
      method: info.method,
      url: info.url,
      status: response.status,
      problem: redaction.text(redactor, problem, info.secrets),
      requestId: requestIdOf(response.headers, redactor, info),
      cause: sanitizeCause(error.cause, redactor, info.secrets)
    })
  )
}

/** @internal */
export const invalidResponse = (
  response: HttpClientResponse.HttpClientResponse,
  problem: string,
  options?: Pick<Options, "redactor">
): Errors.InvalidResponse => {
  const redactor = options?.redactor ?? redaction.defaultRedactor
  const info = requestInfo(response.request, redactor)
  return new Errors.InvalidResponse({
    method: info.method,
    url: info.url,
    status: response.status,
    problem: redaction.text(redactor, problem, info.secrets),
    requestId: requestIdOf(response.headers, redactor, info)
  })
}

/** @internal */
export const schemaBodyJson = <A, I, R>(schema: Schema.Schema<A, I, R>, options?: Options) => {
  const decode = Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "ignore" })
  return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, Errors.ApiError, R> =>
    response.json.pipe(
      Effect.catchAll((error) => Effect.flip(fromHttpClientError(error, options))),
      Effect.flatMap((json) =>
        decode(json).pipe(
          Effect.mapError((parseError) =>
            invalidResponse(response, ParseResult.TreeFormatter.formatErrorSync(parseError), options)
          )
        )
      )
    )
}
