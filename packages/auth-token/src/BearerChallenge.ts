/**
 * Reads an RFC 6750 §3 `WWW-Authenticate: Bearer ...` challenge, so a client can tell a token that
 * must be refreshed (`invalid_token`) from one that lacks a scope (`insufficient_scope`: refreshing
 * will not help) and from a malformed request (`invalid_request`).
 *
 * The parser follows RFC 9110 §11.6.1 (several challenges in one header, auth-params with tokens or
 * quoted strings with escapes, token68) and never throws: what it cannot read, it skips.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as internal from "./internal/challenge.js"

/**
 * One challenge: its scheme, its auth-params (names lower-cased) or its token68.
 *
 * @since 0.1.0
 * @category models
 */
export interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
  readonly token68: string | undefined
}

/**
 * The Bearer challenge's attributes.
 *
 * @since 0.1.0
 * @category models
 */
export interface BearerChallenge {
  readonly realm: string | undefined
  /** `invalid_request`, `invalid_token`, `insufficient_scope`, or another code. */
  readonly error: string | undefined
  readonly errorDescription: string | undefined
  readonly errorUri: string | undefined
  /** The scope the resource requires (space-separated). */
  readonly scope: string | undefined
}

/**
 * What a 401/403 challenge asks of the client.
 *
 * - `refresh`: no error code or `invalid_token`: get a new token and replay once;
 * - `insufficient-scope`: the token lacks a scope: fail, never refresh, never retry;
 * - `invalid-request`: the request is malformed: fail;
 * - `none`: no Bearer challenge was given.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = "refresh" | "insufficient-scope" | "invalid-request" | "none"

/**
 * Parses every challenge of a `WWW-Authenticate` header value.
 *
 * @example
 * ```ts
 * import { BearerChallenge } from "@bulwark/auth-token"
 *
 * BearerChallenge.parseAll(`Basic realm="a", Bearer realm="api", error="invalid_token"`)
 * // [{ scheme: "Basic", params: { realm: "a" } }, { scheme: "Bearer", params: { realm: "api", error: "invalid_token" } }]
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAll: (header: string) => Array<Challenge> = internal.parse

/**
 * The first Bearer challenge of a `WWW-Authenticate` header value.
 *
 * @example
 * ```ts
 * import { BearerChallenge } from "@bulwark/auth-token"
 *
 * BearerChallenge.parse(`Bearer realm="example", error="insufficient_scope", scope="items:write"`)
 * // Option.some({ realm: "example", error: "insufficient_scope", scope: "items:write", ... })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (header: string): Option.Option<BearerChallenge> => {
  const bearer = internal.parse(header).find((challenge) => challenge.scheme.toLowerCase() === "bearer")
  if (bearer === undefined) return Option.none()
  return Option.some({
    realm: bearer.params["realm"],
    error: bearer.params["error"],
    errorDescription: bearer.params["error_description"],
    errorUri: bearer.params["error_uri"],
    scope: bearer.params["scope"]
  })
}

/**
 * What a 401/403 response's `WWW-Authenticate` header (or its absence) asks of the client.
 *
 * @since 0.1.0
 * @category parsing
 */
export const action = (header: string | undefined): Action => {
  if (header === undefined) return "none"
  // A burst of 401s carries the same challenge over and over: each distinct header is parsed once.
  const known = actions.get(header)
  if (known !== undefined) return known
  const decided = actionOf(header)
  if (actions.size >= 64) actions.clear()
  actions.set(header, decided)
  return decided
}

const actions = new Map<string, Action>()

const actionOf = (header: string): Action =>
  Option.match(parse(header), {
    onNone: () => "none",
    onSome: (challenge) => {
      switch (challenge.error) {
        case "insufficient_scope":
          return "insufficient-scope"
        case "invalid_request":
          return "invalid-request"
        default:
          return "refresh"
      }
    }
  })
