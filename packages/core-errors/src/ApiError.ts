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
export class BadRequest extends Schema.TaggedError<BadRequest>("@bulwark/core-errors/BadRequest")(
  "BadRequest",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * 401: the access token was missing, expired or revoked. The client refreshes the token and retries
 * once. `challenge` is the response's `WWW-Authenticate` header; an `insufficient_scope` challenge
 * is not fixed by a new token and is not retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("@bulwark/core-errors/Unauthorized")(
  "Unauthorized",
  { ...ResponseFields, challenge: Schema.optional(Schema.String) }
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * 403: the service account lacks a role for the operation. Fix the roles; never refreshed, never
 * retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Schema.TaggedError<Forbidden>("@bulwark/core-errors/Forbidden")(
  "Forbidden",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * 404: the resource does not exist, or is not visible to this account.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("@bulwark/core-errors/NotFound")(
  "NotFound",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * 409: the request conflicts with the resource's current state.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedError<Conflict>("@bulwark/core-errors/Conflict")(
  "Conflict",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
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
export class RateLimited extends Schema.TaggedError<RateLimited>("@bulwark/core-errors/RateLimited")(
  "RateLimited",
  { ...ResponseFields, retryAt: Schema.optional(Schema.Number) }
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * Any other 4xx (405, 408, 410, 413, 415, 422, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientError extends Schema.TaggedError<ClientError>("@bulwark/core-errors/ClientError")(
  "ClientError",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * A 5xx. 500/502/503/504 are normal at under 1% of traffic and retried with backoff.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("@bulwark/core-errors/ServerError")(
  "ServerError",
  ResponseFields
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
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
export class Timeout extends Schema.TaggedError<Timeout>("@bulwark/core-errors/Timeout")("Timeout", {
  ...RequestFields,
  phase: TimeoutPhase,
  /** The limit that elapsed, when known. */
  timeout: Schema.optional(Schema.DurationFromMillis)
}) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
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
export class NetworkError extends Schema.TaggedError<NetworkError>("@bulwark/core-errors/NetworkError")(
  "NetworkError",
  {
    ...RequestFields,
    reason: NetworkErrorReason,
    code: Schema.optional(Schema.String),
    sent: Schema.Boolean
  }
) {
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
}

/**
 * A response the client cannot use: a 2xx whose body does not decode as expected (`problem` says
 * what did not match), or a redirect (3xx) the client did not follow (`location` says where it
 * pointed).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>("@bulwark/core-errors/InvalidResponse")(
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
  override get message(): string {
    return internal.describe(this)
  }
  override toJSON(): unknown {
    return internal.toJSON(this)
  }
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

const classes = [
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
] as const

/**
 * @since 0.1.0
 * @category guards
 */
export const isApiError = (u: unknown): u is ApiError =>
  Predicate.isObject(u) && classes.some((errorClass) => u instanceof errorClass)

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
