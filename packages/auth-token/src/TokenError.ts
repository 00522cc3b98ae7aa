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
 * | `MalformedResponse` | a 2xx whose body is not a usable token response (or a redirect) | no |
 * | `SourceFailed` | a custom token source failed | no |
 * | `InvalidConfig` | the provider or source was given invalid options; nothing was sent | no: fix the options |
 *
 * Every message says what happened at the token endpoint and what to do, in plain sentences. Messages,
 * `String(error)`, `JSON.stringify(error)`, `util.inspect(error)` and `Cause.pretty` never contain the
 * client secret or a token, raw or encoded, for errors built by `TokenSource.clientCredentials` and
 * `TokenProvider` (a custom source's own error text is its own responsibility).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
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
  "SourceFailed",
  "InvalidConfig"
)

/**
 * @since 0.1.0
 * @category models
 */
export type TokenErrorReason = typeof TokenErrorReason.Type

/** Server or transport text as one clause: one line, no doubled or trailing punctuation. */
const clause = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").replace(/[\s.,;:!?]+$/, "").replace(/\.{2,}/g, "…").trim()
  return flat.length > max ? `${flat.slice(0, max).trimEnd()}…` : flat
}

const formatWait = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  if (millis < 1000) return `${Math.round(millis)} ms`
  const seconds = millis / 1000
  return Number.isInteger(seconds) ? `${seconds} s` : `${seconds.toFixed(1)} s`
}

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
    const at = `the token endpoint ${this.source}`
    const status = this.status === undefined ? "" : `HTTP ${this.status}`
    const oauth = this.oauthError === undefined ? "" : `OAuth error "${clause(this.oauthError, 64)}"`
    const answer = [status, oauth].filter((part) => part !== "").join(" and ")
    const limit = this.reason === "InvalidConfig" ? 2000 : 600
    const detail = this.detail === undefined || clause(this.detail, limit) === ""
      ? ""
      : `: ${clause(this.detail, limit)}`
    const withAnswer = answer === "" ? "" : ` with ${answer}`
    switch (this.reason) {
      case "Unreachable":
        return `No access token: ${at} could not be reached${detail}. The token request is retried with backoff; if this persists, check the token URL, DNS, proxy settings and that the identity provider is up.`
      case "Timeout":
        return `No access token: ${at} did not answer in time${
          answer === "" ? "" : ` (${answer})`
        }${detail}. The token request is retried with backoff; if this persists, check the network path to the identity provider or raise the token request timeout.`
      case "ServerError": {
        const wait = this.retryAfter === undefined
          ? "with backoff"
          : `after its Retry-After (${formatWait(this.retryAfter)})`
        return `No access token: ${at} failed${withAnswer}${detail}. The token request is retried ${wait}; if this persists, report it to the identity provider.`
      }
      case "RateLimited": {
        const wait = this.retryAfter === undefined
          ? "after a backoff (the answer gave no Retry-After)"
          : `after its Retry-After (${formatWait(this.retryAfter)})`
        return `No access token: ${at} refused the token request as too frequent${withAnswer}${detail}. The token request is retried ${wait}; tokens are reused until they expire, so frequent 429s mean many processes fetch their own tokens: share one through a TokenStore.`
      }
      case "Rejected":
        return `No access token: ${at} rejected the token request${withAnswer}${detail}. Nothing is retried: check the client id and secret, the client authentication method (basic or body), the scope and the audience.`
      case "MalformedResponse":
        return `No access token: ${at} answered${withAnswer} but not with a usable OAuth2 token response${detail}. Nothing is retried: check that the token URL points at the OAuth2 token endpoint and how the identity provider is configured to answer this client.`
      case "SourceFailed":
        return `No access token: the token source "${this.source}" failed${detail}. Nothing is retried: see the error's cause for what the source reported.`
      case "InvalidConfig":
        return `No access token from ${this.source}: its options are invalid${detail}. Nothing was sent: fix these options where the token provider and its source are built.`
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
