import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AccessToken } from "../AccessToken.js"

/** @internal */
export const maxLifetime = Duration.days(366)

/**
 * The shortest lifetime a token response may declare: 1 second. A token that expires sooner cannot be
 * sent before it expires, and a provider refreshing it would ask for a new one at once, forever.
 *
 * @internal
 */
export const minLifetime = Duration.seconds(1)

/** RFC 6749 §5.2 `error`: 1*( %x20-21 / %x23-5B / %x5D-7E ), bounded to 64 characters. */
const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/

/**
 * An OAuth `error` code as the server sent it, if it is one: a string of RFC 6749's charset, at most 64
 * characters, with any secret removed by `scrub`. Anything else is dropped rather than cut.
 *
 * @internal
 */
export const oauthErrorCode = (value: unknown, scrub: (text: string) => string): string | undefined => {
  if (typeof value !== "string" || !OAUTH_ERROR_CODE.test(value)) return undefined
  const scrubbed = scrub(value).trim()
  return scrubbed === "" || scrubbed.length > 64 ? undefined : scrubbed
}

/** A `token_type` short and plain enough to quote back (never a value that could be the token). */
const quotableType = (type: string, token: string): boolean =>
  /^[A-Za-z][A-Za-z0-9_.-]{0,19}$/.test(type) && !token.includes(type) && !type.includes(token)

const ExpiresIn = Schema.Union(Schema.Number, Schema.compose(Schema.NumberFromString, Schema.Number))

/** @internal */
export const TokenResponse = Schema.Struct({
  access_token: Schema.String.pipe(Schema.minLength(1)),
  token_type: Schema.optional(Schema.String),
  expires_in: Schema.optional(ExpiresIn),
  scope: Schema.optional(Schema.String)
}).annotations({ identifier: "TokenResponse", description: "An RFC 6749 §5.1 access token response" })

/** @internal */
export type TokenResponse = typeof TokenResponse.Type

const decode = Schema.decodeUnknownEither(TokenResponse, { errors: "all" })

/** Describes what is wrong with a token response by field, never quoting a value (it may be the token). */
const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const field = issue.path.length === 0 ? "the body" : issue.path.join(".")
      switch (issue._tag) {
        case "Missing":
          return `${field} is missing`
        case "Unexpected":
          return `${field} is unexpected`
        default:
          return `${field} is not valid`
      }
    })
    .filter((line, index, all) => all.indexOf(line) === index)
    .join("; ")

/** @internal */
export type Decoded =
  | { readonly _tag: "Token"; readonly token: AccessToken }
  | { readonly _tag: "Invalid"; readonly detail: string; readonly oauthError?: string | undefined }

/** @internal */
export const toAccessToken = (
  json: unknown,
  now: number,
  options: {
    readonly defaultExpiresIn: Duration.Duration
    readonly requestedScope: string | undefined
    /** Removes secrets from server text that is quoted back. */
    readonly scrub: (text: string) => string
  }
): Decoded => {
  if (typeof json === "object" && json !== null && "error" in json && typeof json.error === "string") {
    return {
      _tag: "Invalid",
      detail: "a success status carried an OAuth error body",
      oauthError: oauthErrorCode(json.error, options.scrub)
    }
  }
  const result = decode(json)
  if (Either.isLeft(result)) return { _tag: "Invalid", detail: describeIssues(result.left) }
  const body = result.right
  const type = body.token_type ?? "Bearer"
  if (type.toLowerCase() !== "bearer") {
    const quoted = quotableType(type, body.access_token) ? ` "${options.scrub(type)}"` : ""
    return { _tag: "Invalid", detail: `token_type is${quoted} not Bearer, and only Bearer tokens are supported` }
  }
  const lifetimeMillis = body.expires_in === undefined
    ? Duration.toMillis(options.defaultExpiresIn)
    : body.expires_in * 1000
  if (!(Number.isFinite(lifetimeMillis) && lifetimeMillis > 0)) {
    return { _tag: "Invalid", detail: "expires_in must be a positive number of seconds" }
  }
  if (lifetimeMillis < Duration.toMillis(minLifetime)) {
    return {
      _tag: "Invalid",
      detail:
        "expires_in is below the 1 second minimum (it is in seconds): raise the token lifetime the identity provider issues to this client"
    }
  }
  if (lifetimeMillis > Duration.toMillis(maxLifetime)) {
    return { _tag: "Invalid", detail: "expires_in is absurd (more than a year)" }
  }
  return {
    _tag: "Token",
    token: new AccessToken({
      value: Redacted.make(body.access_token),
      type: "Bearer",
      issuedAt: now,
      expiresAt: now + lifetimeMillis,
      scope: body.scope ?? options.requestedScope
    })
  }
}
