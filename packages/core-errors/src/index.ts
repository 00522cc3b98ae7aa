/**
 * The error vocabulary of a partner HTTP API: the typed errors, what each one means for a retry,
 * how responses and transport failures are classified into them, `Retry-After` parsing and the
 * redaction of secrets in everything they print.
 *
 * @since 0.1.0
 */

/**
 * The typed errors (`BadRequest`, `Unauthorized`, ..., `InvalidResponse`), their union `ApiError`
 * and `retryDecision`.
 *
 * @since 0.1.0
 */
export * as ApiError from "./ApiError.js"

/**
 * The `{ code, message, details }` error body schema and its lenient decoder.
 *
 * @since 0.1.0
 */
export * as ApiErrorBody from "./ApiErrorBody.js"

/**
 * Classification of responses and `HttpClientError`s into `ApiError`.
 *
 * @since 0.1.0
 */
export * as Classify from "./Classify.js"

/**
 * Redaction of secret headers, query parameters and credentials.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * RFC 9110 `Retry-After` parsing.
 *
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"
