/**
 * The typed errors of a partner HTTP API call, one per documented failure, and their union
 * {@link ApiError}.
 *
 * | error | when | {@link retryDecision} |
 * |---|---|---|
 * | `BadRequest` | 400 | `fail` |
 * | `Unauthorized` | 401 | `refresh-auth` (`fail` on an `insufficient_scope` challenge) |
 * | `Forbidden` | 403 | `fail` |
 * | `NotFound` | 404 | `fail` |
 * | `Conflict` | 409 | `fail` |
 * | `RateLimited` | 429 | `retry-after` |
 * | `ClientError` | other 4xx | `fail` (`retry` for 408 Request Timeout) |
 * | `ServerError` | 5xx | `retry` for 500/502/503/504 and other transient 5xx, `retry-after` when the response had a Retry-After, `fail` for 501/505/506/508/510/511 |
 * | `Timeout` | a phase of the exchange took too long | `retry` (`fail` for phase `deadline`) |
 * | `NetworkError` | the transport failed | `retry` (`fail` for an invalid URL or an unencodable body) |
 * | `InvalidResponse` | a 2xx whose body does not decode | `fail` |
 *
 * Every error carries the method, the URL with its secrets redacted, the status where there is one,
 * the decoded error body when it decodes (otherwise a snippet of at most 4 KiB), the request id the
 * response carried, the `Retry-After` it asked for and a sanitized cause. Its `message` says what
 * happened and what to do. No error ever prints or serializes a token, a secret or an
 * `Authorization` header.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { ApiErrorBodySchema } from "./internal/errorBody.js"
import * as internal from "./internal/messages.js"

/**
 * The mark every {@link ApiError} carries: {@link isApiError} is one property check.
 *
 * @since 0.2.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("@bulwark/core-errors/ApiError")

/**
 * @since 0.2.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The one base of the 11 error classes (as the platform's `TypeIdError`): a `Schema.TaggedError` whose prototype
 * carries {@link TypeId}, the shared `message` (what happened and what to do) and `toJSON` (never a secret).
 * An expected API error captures no stack trace: it is a value the caller handles, the call's span says where
 * it came from, and capturing one was a large part of the cost of a 4xx.
 */
const ApiErrorClass =
  <Self>(identifier: string) => <Tag extends string, Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields) => {
    const Base = Schema.TaggedError<Self>(identifier)(tag, fields)
    const Untyped = Base as unknown as new(props: unknown, options?: unknown) => object
    class ApiErrorBase extends Untyped {
      constructor(props: unknown, options?: unknown) {
        const limit = Error.stackTraceLimit
        Error.stackTraceLimit = 0
        try {
          super(props, options)
        } finally {
          Error.stackTraceLimit = limit
        }
      }
      get message(): string {
        return internal.describe(this as never)
      }
      toJSON(): unknown {
        return internal.toJSON(this as never)
      }
    }
    Object.defineProperty(ApiErrorBase.prototype, TypeId, { value: TypeId })
    return ApiErrorBase as unknown as typeof Base
  }

const RequestFields = {
  /** The HTTP method. */
  method: Schema.String,
  /** The request URL with secret query parameters and credentials redacted. */
  url: Schema.String,
  /** A sanitized description of the underlying failure (no secrets). */
  cause: Schema.optional(Schema.Defect)
}

const ResponseFields = {
  ...RequestFields,
  /** The response status. */
  status: Schema.Number,
  /** The decoded error body, when the response had one. */
  body: Schema.optional(ApiErrorBodySchema),
  /** At most 4 KiB of the body's text, when it was not an error body (an HTML gateway page, say). */
  snippet: Schema.optional(Schema.String),
  /** The response's `x-request-id`, `request-id` or `x-correlation-id`: quote it to the API provider. */
  requestId: Schema.optional(Schema.String),
  /** How long the response asked the client to wait (`Retry-After`), capped. */
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}

/**
 * 400: something is wrong with the request; the body's `details` say what. Never retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends ApiErrorClass<BadRequest>("@bulwark/core-errors/BadRequest")(
  "BadRequest",
  ResponseFields
) {
}

/**
 * 401: the access token was missing, expired or revoked. The client refreshes the token and retries
 * once. `challenge` is the response's `WWW-Authenticate` header; an `insufficient_scope` challenge
 * is not fixed by a new token and is not retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends ApiErrorClass<Unauthorized>("@bulwark/core-errors/Unauthorized")(
  "Unauthorized",
  { ...ResponseFields, challenge: Schema.optional(Schema.String) }
) {
}

/**
 * 403: the service account lacks a role for the operation. Fix the roles; never refreshed, never
 * retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends ApiErrorClass<Forbidden>("@bulwark/core-errors/Forbidden")(
  "Forbidden",
  ResponseFields
) {
}

/**
 * 404: the resource does not exist, or is not visible to this account.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends ApiErrorClass<NotFound>("@bulwark/core-errors/NotFound")(
  "NotFound",
  ResponseFields
) {
}

/**
 * 409: the request conflicts with the resource's current state.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends ApiErrorClass<Conflict>("@bulwark/core-errors/Conflict")(
  "Conflict",
  ResponseFields
) {
}

/**
 * 429: the API's quota was exceeded. Wait at least `retryAfter` before the next request to the same
 * origin. `retryAt` (epoch milliseconds) is the instant before which nothing should be sent to the
 * origin again: set on every `RateLimited` whose wait is known (classification sets it from the
 * response's `Retry-After` and the moment it arrived; a client that fails fast because the origin is
 * paused sets it to the end of the pause). Absent when the API gave no `Retry-After`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends ApiErrorClass<RateLimited>("@bulwark/core-errors/RateLimited")(
  "RateLimited",
  { ...ResponseFields, retryAt: Schema.optional(Schema.Number) }
) {
}

/**
 * Any other 4xx (405, 408, 410, 413, 415, 422, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientError extends ApiErrorClass<ClientError>("@bulwark/core-errors/ClientError")(
  "ClientError",
  ResponseFields
) {
}

/**
 * A 5xx. 500/502/503/504 are normal at under 1% of traffic and retried with backoff.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends ApiErrorClass<ServerError>("@bulwark/core-errors/ServerError")(
  "ServerError",
  ResponseFields
) {
}

/**
 * Where in the exchange a timeout struck.
 *
 * - `connect`: the TCP/TLS connection was not established in time (nothing was sent);
 * - `headers`: the response headers did not arrive in time;
 * - `body`: the response body stalled;
 * - `attempt`: the per-attempt timeout elapsed;
 * - `deadline`: the call's overall deadline passed (not retried).
 *
 * @since 0.1.0
 * @category models
 */
export const TimeoutPhase = Schema.Literal("connect", "headers", "body", "attempt", "deadline")

/**
 * @since 0.1.0
 * @category models
 */
export type TimeoutPhase = typeof TimeoutPhase.Type

/**
 * A phase of the exchange took too long. Retried like a 5xx, except at the overall deadline.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends ApiErrorClass<Timeout>("@bulwark/core-errors/Timeout")("Timeout", {
  ...RequestFields,
  phase: TimeoutPhase,
  /** The limit that elapsed, when known. */
  timeout: Schema.optional(Schema.DurationFromMillis)
}) {
}

/**
 * Why a request produced no response: `Transport` (connection refused or reset, DNS, TLS, ...),
 * `Encode` (the body could not be encoded) or `InvalidUrl`.
 *
 * @since 0.1.0
 * @category models
 */
export const NetworkErrorReason = Schema.Literal("Transport", "Encode", "InvalidUrl")

/**
 * @since 0.1.0
 * @category models
 */
export type NetworkErrorReason = typeof NetworkErrorReason.Type

/**
 * The request produced no response. `code` is the system or undici error code (`ECONNREFUSED`,
 * `ECONNRESET`, `UND_ERR_SOCKET`, ...). `sent` is `false` when the failure happened before the
 * request could have reached the server (DNS failure, connection refused), so even a
 * non-idempotent request can be retried safely; when `true`, the server may have applied it.
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkError extends ApiErrorClass<NetworkError>("@bulwark/core-errors/NetworkError")(
  "NetworkError",
  {
    ...RequestFields,
    reason: NetworkErrorReason,
    code: Schema.optional(Schema.String),
    sent: Schema.Boolean
  }
) {
}

/**
 * A response the client cannot use: a 2xx whose body does not decode as expected (`problem` says
 * what did not match), or a redirect (3xx) the client did not follow (`location` says where it
 * pointed).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponse extends ApiErrorClass<InvalidResponse>("@bulwark/core-errors/InvalidResponse")(
  "InvalidResponse",
  {
    ...RequestFields,
    status: Schema.Number,
    problem: Schema.String,
    snippet: Schema.optional(Schema.String),
    requestId: Schema.optional(Schema.String),
    /** Where a redirect (3xx) pointed, redacted: the client does not follow it. */
    location: Schema.optional(Schema.String)
  }
) {
}

/**
 * Every error a partner API call can fail with.
 *
 * @example
 * ```ts
 * import { ApiError } from "@bulwark/core-errors"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, ApiError.ApiError>
 *
 * const recovered = call.pipe(
 *   Effect.catchTags({
 *     NotFound: () => Effect.succeed("absent"),
 *     Forbidden: (e) => Effect.logError(e.message).pipe(Effect.as("forbidden"))
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | RateLimited
  | ClientError
  | ServerError
  | Timeout
  | NetworkError
  | InvalidResponse

/**
 * The schema of the union, for serializing errors across process boundaries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApiError: Schema.Union<
  [
    typeof BadRequest,
    typeof Unauthorized,
    typeof Forbidden,
    typeof NotFound,
    typeof Conflict,
    typeof RateLimited,
    typeof ClientError,
    typeof ServerError,
    typeof Timeout,
    typeof NetworkError,
    typeof InvalidResponse
  ]
> = Schema.Union(
  BadRequest,
  Unauthorized,
  Forbidden,
  NotFound,
  Conflict,
  RateLimited,
  ClientError,
  ServerError,
  Timeout,
  NetworkError,
  InvalidResponse
)

/**
 * The tags of {@link ApiError}.
 *
 * @since 0.1.0
 * @category models
 */
export type Tag = ApiError["_tag"]

/**
 * @since 0.1.0
 * @category guards
 */
export const isApiError = (u: unknown): u is ApiError => Predicate.hasProperty(u, TypeId)

/**
 * What an error means for a retry, following the API's documented advice:
 *
 * - `retry`: transient; retry an idempotent request with backoff;
 * - `retry-after`: wait for the `Retry-After` the response asked for (or back off when it gave none);
 * - `refresh-auth`: invalidate the rejected token, fetch a new one and retry once;
 * - `fail`: retrying cannot help; surface the error.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryDecision = "retry" | "retry-after" | "refresh-auth" | "fail"

/**
 * Decides what an error means for a retry (see the table at the top of this module).
 *
 * @example
 * ```ts
 * import { ApiError } from "@bulwark/core-errors"
 *
 * ApiError.retryDecision(new ApiError.ServerError({ method: "GET", url: "https://api.example.com/v1", status: 503 }))
 * // "retry"
 * ```
 *
 * @since 0.1.0
 * @category retry
 */
export const retryDecision = (error: ApiError): RetryDecision => internal.retryDecision(error)

/**
 * `true` when the client may retry the error at all (its decision is not `fail`).
 *
 * @since 0.1.0
 * @category retry
 */
export const isRetryable = (error: ApiError): boolean => internal.retryDecision(error) !== "fail"

/**
 * Why a retry of the error is made, as metrics label it: `5xx`, `timeout`, `network`, `401-refresh`, `429`
 * or `other`.
 *
 * @since 0.2.0
 * @category retry
 */
export type RetryReason = "5xx" | "timeout" | "network" | "401-refresh" | "429" | "other"

/**
 * The {@link RetryReason} of an error.
 *
 * @example
 * ```ts
 * import { ApiError } from "@bulwark/core-errors"
 *
 * ApiError.retryReason(new ApiError.Timeout({ method: "GET", url: "https://api.example.com/v1", phase: "headers" }))
 * // "timeout"
 * ```
 *
 * @since 0.2.0
 * @category retry
 */
export const retryReason = (error: ApiError): RetryReason => {
  switch (error._tag) {
    case "ServerError":
      return "5xx"
    case "Timeout":
      return "timeout"
    case "NetworkError":
      return "network"
    case "Unauthorized":
      return "401-refresh"
    case "RateLimited":
      return "429"
    default:
      return "other"
  }
}

/**
 * Whether the request was certainly not processed, so even a non-idempotent request may be sent again: nothing
 * was sent (a transport failure before sending, a connect timeout), or the server refused it before acting on
 * it (429, or 401 for the token).
 *
 * @since 0.2.0
 * @category retry
 */
export const certainlyNotProcessed = (error: ApiError): boolean =>
  (error._tag === "NetworkError" && !error.sent) ||
  (error._tag === "Timeout" && error.phase === "connect") ||
  error._tag === "RateLimited" ||
  error._tag === "Unauthorized"

/**
 * Whether the error says the origin is unhealthy (what a circuit breaker counts): a 5xx without
 * `Retry-After` (one with it is load shedding, which the traffic controller waits out), a timeout of the
 * exchange (not the caller's own deadline), a transport failure. Any 4xx proves the server is up.
 *
 * @since 0.2.0
 * @category retry
 */
export const isOriginFailure = (error: ApiError): boolean => {
  switch (error._tag) {
    case "ServerError":
      return error.retryAfter === undefined
    case "Timeout":
      return error.phase !== "deadline"
    case "NetworkError":
      return error.reason === "Transport"
    default:
      return false
  }
}
