import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { ConnectionControl } from "./connection.js"
import type { FieldIssue } from "./items.js"
import type { StoredResponse } from "./state.js"
import type { State } from "./state.js"

/** @internal */
export type Response = HttpServerResponse.HttpServerResponse
/** @internal */
export type Handler = (ctx: Ctx) => Effect.Effect<Response, never, ConnectionControl>

/** @internal */
export interface Ctx {
  readonly state: State
  readonly request: HttpServerRequest.HttpServerRequest
  readonly query: string
  readonly params: ReadonlyArray<string>
  readonly route: string
  /** Records the request's outcome now (for responses that never complete: hangs, resets). */
  readonly record: (outcome: string) => void
  /** Overrides the outcome recorded when the response is sent (a stalled body). */
  outcome: string | undefined
}

/**
 * The realm named in `WWW-Authenticate` challenges.
 *
 * @internal
 */
export const REALM = "bulwark-sandbox"

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------

/**
 * The API's error codes (gRPC canonical codes, as many partner APIs use) by HTTP status.
 *
 * @internal
 */
export const errorCodes: Readonly<Record<number, number>> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  405: 12,
  413: 3,
  415: 3,
  422: 9,
  429: 8,
  500: 13,
  502: 14,
  503: 14,
  504: 4
}

/** @internal */
export const errorResponse = (
  status: number,
  message: string,
  details: ReadonlyArray<unknown> = [],
  headers?: Record<string, string>
): Response => HttpServerResponse.unsafeJson({ code: errorCodes[status] ?? 2, message, details }, { status, headers })

/** @internal */
export const badRequest = (issues: ReadonlyArray<FieldIssue>, message?: string): Response =>
  errorResponse(
    400,
    message ?? `The request is invalid: ${issues.map((i) => `${i.field} ${i.issue}`).join("; ")}`,
    issues
  )

/** @internal */
export const oauthError = (
  status: number,
  error: string,
  description: string,
  headers?: Record<string, string>
): Response =>
  HttpServerResponse.unsafeJson({ error, error_description: description }, {
    status,
    headers: { "cache-control": "no-store", pragma: "no-cache", ...headers }
  })

/** @internal */
export const fromStored = (stored: StoredResponse, extra?: Record<string, string>): Response =>
  HttpServerResponse.unsafeJson(stored.body, { status: stored.status, headers: { ...stored.headers, ...extra } })

let dateCache = { second: Number.NaN, value: "" }
/** @internal */
export const httpDate = (now: number): string => {
  const second = Math.floor(now / 1000)
  if (second !== dateCache.second) dateCache = { second, value: new Date(second * 1000).toUTCString() }
  return dateCache.value
}

/**
 * Formats a Retry-After asking the client to come back at `at` (epoch millis), and returns the instant the
 * header actually names, which is when a client honouring it comes back: delta-seconds are rounded up to
 * whole seconds from now (and are at least `minSeconds`), an HTTP-date up to the next whole second.
 *
 * A quota's 429 passes `minSeconds: 1`, as real APIs do: a client told "0" would come straight back.
 *
 * @internal
 */
export const retryAfterAt = (
  state: State,
  now: number,
  at: number,
  minSeconds = 0
): { readonly value: string; readonly at: number } => {
  if (state.policy.retryAfterFormat === "delta-seconds") {
    const seconds = Math.max(minSeconds, Math.ceil((at - now) / 1000))
    return { value: String(seconds), at: now + seconds * 1000 }
  }
  const rounded = Math.ceil(at / 1000) * 1000
  return { value: new Date(rounded).toUTCString(), at: rounded }
}

/** @internal */
export const retryAfter = (state: State, now: number, seconds: number) => retryAfterAt(state, now, now + seconds * 1000)

// ---------------------------------------------------------------------------------------------
// request bodies
// ---------------------------------------------------------------------------------------------

type BodyError = "TooLarge" | "Unreadable"

/**
 * How much of a body beyond the limit is read and discarded so the 413 can be sent on a healthy connection
 * (stopping to read destroys it). A body larger still makes the sandbox drop the connection, as gateways do.
 */
const DRAIN_BYTES = 64 * 1024 * 1024

interface BodyAcc {
  chunks: Array<Uint8Array>
  size: number
}

/** @internal */
export const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<Uint8Array, BodyError> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined) {
    const length = Number(declared)
    // Node discards a declared body the handler does not read, and keeps the connection.
    if (!(length <= maxBytes)) return Effect.fail("TooLarge")
    // HTTP framing guarantees no more than Content-Length bytes: read the body in one go.
    if (length === 0) return Effect.succeed(new Uint8Array(0))
    return Effect.mapBoth(request.arrayBuffer, {
      onFailure: (): BodyError => "Unreadable",
      onSuccess: (buffer) => new Uint8Array(buffer)
    })
  }
  return request.stream.pipe(
    Stream.mapError((): BodyError => "Unreadable"),
    Stream.runFoldEffect({ chunks: [], size: 0 } as BodyAcc, (acc, chunk): Effect.Effect<BodyAcc, BodyError> => {
      acc.size += chunk.byteLength
      if (acc.size > maxBytes) {
        acc.chunks = []
        return acc.size > maxBytes + DRAIN_BYTES ? Effect.fail("TooLarge") : Effect.succeed(acc)
      }
      acc.chunks.push(chunk)
      return Effect.succeed(acc)
    }),
    Effect.flatMap(({ chunks, size }) => {
      if (size > maxBytes) return Effect.fail("TooLarge" as const)
      if (chunks.length === 1) return Effect.succeed(chunks[0]!)
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        bytes.set(chunk, offset)
        offset += chunk.byteLength
      }
      return Effect.succeed(bytes)
    })
  )
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** @internal */
export const decodeText = (bytes: Uint8Array): string | undefined => {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** @internal */
export const tooLarge = (maxBytes: number): Response =>
  errorResponse(413, `The request body is larger than the limit of ${maxBytes} bytes; send a smaller body`, [
    { field: "body", issue: `must be at most ${maxBytes} bytes` }
  ])

const isJsonContentType = (value: string): boolean => /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(value)

/**
 * Reads and parses a JSON body; `Left` is the error response to send.
 *
 * @internal
 */
export const readJson = (ctx: Ctx): Effect.Effect<Either.Either<unknown, Response>> => {
  const contentType = ctx.request.headers["content-type"]
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    return Effect.succeed(Either.left(errorResponse(
      415,
      `The request body must be JSON (Content-Type: application/json), not ${contentType.slice(0, 100)}`,
      [{ field: "Content-Type", issue: "must be application/json" }]
    )))
  }
  const maxBytes = ctx.state.config.maxBodyBytes
  return readBody(ctx.request, maxBytes).pipe(
    Effect.map((bytes): Either.Either<unknown, Response> => {
      if (bytes.byteLength === 0) return Either.left(badRequest([{ field: "body", issue: "is required" }]))
      const text = decodeText(bytes)
      if (text === undefined) return Either.left(badRequest([{ field: "body", issue: "is not valid UTF-8" }]))
      try {
        return Either.right(JSON.parse(text) as unknown)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return Either.left(badRequest([{ field: "body", issue: `is not valid JSON (${reason.slice(0, 200)})` }]))
      }
    }),
    Effect.catchAll((error) =>
      Effect.succeed(Either.left(
        error === "TooLarge" ? tooLarge(maxBytes) : badRequest([{ field: "body", issue: "could not be read" }])
      ))
    )
  )
}
