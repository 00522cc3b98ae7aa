/**
 * Redaction of secrets in everything Bulwark prints or serializes: header values, URL query
 * parameters, URL credentials and bearer credentials in free text.
 *
 * Every `ApiError` is built through a {@link Redactor}; the default one knows the usual suspects
 * and can be extended with the names a particular API uses.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/redaction.js"

/**
 * The placeholder that replaces a secret: `<redacted>`.
 *
 * @since 0.1.0
 * @category constants
 */
export const REDACTED: string = internal.REDACTED

/**
 * Header names whose values are always redacted (lower case): `authorization`,
 * `proxy-authorization`, `cookie`, `set-cookie`, `x-api-key`, `api-key`, `x-auth-token`,
 * `x-amz-security-token`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHeaderNames: ReadonlyArray<string> = internal.defaultHeaderNames

/**
 * Query parameter names whose values are always redacted (matched case-insensitively):
 * `access_token`, `refresh_token`, `id_token`, `token`, `client_secret`, `api_key`, `apikey`, `key`,
 * `password`, `secret`, `signature`, `sig`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultQueryParams: ReadonlyArray<string> = internal.defaultQueryParams

/**
 * Which header names and query parameters count as secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface Redactor {
  readonly headerNames: ReadonlySet<string>
  readonly queryParams: ReadonlySet<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Extra header names to redact, in any case. */
  readonly headers?: Iterable<string> | undefined
  /** Extra query parameter names to redact, in any case. */
  readonly queryParams?: Iterable<string> | undefined
  /** Use only the names given here instead of adding them to the defaults. Default: `false`. */
  readonly replaceDefaults?: boolean | undefined
}

/**
 * Builds a redactor: the defaults plus the given names.
 *
 * @example
 * ```ts
 * import { Redaction } from "@bulwark/core-errors"
 *
 * const redactor = Redaction.make({ headers: ["X-Partner-Signature"], queryParams: ["session"] })
 * Redaction.url("https://api.example.com/v1/items?session=abc&page=2", redactor)
 * // "https://api.example.com/v1/items?session=<redacted>&page=2"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Redactor = internal.make

/**
 * The redactor with only the default names.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRedactor: Redactor = internal.defaultRedactor

/**
 * Returns a plain record of the headers with secret values replaced by `<redacted>`. Keys are
 * lower-cased.
 *
 * @example
 * ```ts
 * import { Redaction } from "@bulwark/core-errors"
 *
 * Redaction.headers({ Authorization: "Bearer abc", Accept: "application/json" })
 * // { authorization: "<redacted>", accept: "application/json" }
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const headers = (
  input: Iterable<readonly [string, string]> | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  redactor: Redactor = internal.defaultRedactor
): Record<string, string> => internal.headers(redactor, input)

/**
 * Returns the URL as a string with secret query parameters, user info and token-bearing fragments
 * replaced by `<redacted>`. Relative URLs and unparsable input are redacted as text.
 *
 * @since 0.1.0
 * @category redaction
 */
export const url = (input: string | URL, redactor: Redactor = internal.defaultRedactor): string =>
  internal.url(redactor, input)

/**
 * Redacts free text (an error message from a transport, a message an API echoed back): each of the
 * given secret values is replaced wherever it appears in any form it may have travelled in (see
 * {@link secretForms}); URLs in it are redacted as by {@link url}; `Bearer`/`Basic` credentials, JSON
 * Web Tokens and `name=value` / `"name": "value"` pairs whose name is a secret query parameter's are
 * replaced.
 *
 * @example
 * ```ts
 * import { Redaction } from "@bulwark/core-errors"
 *
 * Redaction.text("invalid client_secret=s3cr%2Ft!", { secrets: ["s3cr/t!"] })
 * // "invalid client_secret=<redacted>"
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const text = (
  input: string,
  options?: { readonly redactor?: Redactor | undefined; readonly secrets?: ReadonlyArray<string> | undefined }
): string => internal.text(options?.redactor ?? internal.defaultRedactor, input, options?.secrets ?? [])

/**
 * Every form in which a secret may have travelled and come back: as it is, percent-encoded (URL and
 * form encoding, upper- and lower-case hex) and base64 (standard and URL alphabets, alone or at any
 * alignment inside a longer base64 run such as a `Basic` header). Longest first.
 *
 * @since 0.2.0
 * @category redaction
 */
export const secretForms: (secret: string) => ReadonlyArray<string> = internal.secretForms

/**
 * Redacts a `WWW-Authenticate` value and keeps it parseable: auth-params outside the challenge
 * vocabulary (`realm`, `scope`, `error`, `error_description`, `error_uri`, ...) are replaced — a
 * server that echoes `token="..."` does not leak it — and the rest is redacted as by {@link text}.
 *
 * @example
 * ```ts
 * import { Redaction } from "@bulwark/core-errors"
 *
 * Redaction.challenge('Bearer realm="api", error="invalid_token", token="eyJhbGciOi..."')
 * // 'Bearer realm="api", error="invalid_token", token="<redacted>"'
 * ```
 *
 * @since 0.2.0
 * @category redaction
 */
export const challenge = (
  input: string,
  options?: { readonly redactor?: Redactor | undefined; readonly secrets?: ReadonlyArray<string> | undefined }
): string => internal.challenge(options?.redactor ?? internal.defaultRedactor, input, options?.secrets ?? [])
