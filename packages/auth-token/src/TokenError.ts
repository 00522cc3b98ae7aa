/**
 * Why no access token could be had.
 *
 * | reason | when | retried |
 * |---|---|---|
 * | `Unreachable` | the token endpoint could not be reached (refused, reset, DNS) | yes, with backoff |
 * | `Timeout` | the token endpoint did not answer in time | yes, with backoff |
 * | `ServerError` | the token endpoint answered 5xx | yes, with backoff |
 * | `RateLimited` | the token endpoint answered 429 | yes, after its Retry-After |
 * | `Rejected` | a 4xx: the credentials, grant or scope were refused (`invalid_client`, ...) | no: fix the configuration |
 * | `MalformedResponse` | a 2xx whose body is not a usable token response | no |
 * | `SourceFailed` | a custom token source failed | as the source says |
 *
 * Messages never contain the client secret or a token.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export const TokenErrorReason = Schema.Literal(
  "Unreachable",
  "Timeout",
  "ServerError",
  "RateLimited",
  "Rejected",
  "MalformedResponse",
  "SourceFailed"
)

/**
 * @since 0.1.0
 * @category models
 */
export type TokenErrorReason = typeof TokenErrorReason.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class TokenError extends Schema.TaggedError<TokenError>("@bulwark/auth-token/TokenError")("TokenError", {
  reason: TokenErrorReason,
  /** Where the token was requested (secrets redacted), or the source's name. */
  source: Schema.String,
  /** The HTTP status of the token endpoint's answer, when there was one. */
  status: Schema.optional(Schema.Number),
  /** The RFC 6749 §5.2 `error` code (`invalid_client`, `invalid_scope`, ...), when the server sent one. */
  oauthError: Schema.optional(Schema.String),
  /** What went wrong, in words (no secrets). */
  detail: Schema.optional(Schema.String),
  /** The Retry-After of a 429 or 503, capped. */
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  cause: Schema.optional(Schema.Defect)
}) {
  /** Whether fetching again can help. */
  get retryable(): boolean {
    return isRetryableReason(this.reason)
  }

  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const oauth = this.oauthError === undefined ? "" : ` ${this.oauthError}`
    const detail = this.detail === undefined ? "" : `: ${this.detail}`
    const head = `No access token from ${this.source}${status}${oauth}${detail}.`
    switch (this.reason) {
      case "Unreachable":
        return `${head} The token endpoint could not be reached; the request is retried with backoff. Check the token URL, DNS and network.`
      case "Timeout":
        return `${head} The token endpoint did not answer in time; the request is retried with backoff.`
      case "ServerError":
        return `${head} The token endpoint failed; the request is retried with backoff. If it persists, report it to the identity provider.`
      case "RateLimited":
        return `${head} Too many token requests: tokens must be reused until they expire. The request is retried after ${
          this.retryAfter === undefined ? "a backoff" : "its Retry-After"
        }.`
      case "Rejected":
        return `${head} The identity provider refused the request: check the client id and secret, the client authentication method (basic or body), the scope and the audience. It is not retried.`
      case "MalformedResponse":
        return `${head} The token endpoint's answer is not a usable OAuth2 token response. Check the token URL points at the token endpoint. It is not retried.`
      case "SourceFailed":
        return `${head} The token source failed.`
    }
  }
}

/**
 * Whether a reason is transient.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableReason = (reason: TokenErrorReason): boolean =>
  reason === "Unreachable" || reason === "Timeout" || reason === "ServerError" || reason === "RateLimited"

/**
 * @since 0.1.0
 * @category predicates
 */
export const isTokenError = (u: unknown): u is TokenError => u instanceof TokenError

/**
 * The wait a token error asks for, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const retryAfterOf = (error: TokenError): Duration.Duration | undefined => error.retryAfter
