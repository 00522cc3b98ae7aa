/**
 * Where access tokens come from: OAuth2 client credentials (RFC 6749 §4.4), any `Effect` that
 * yields an `AccessToken`, or a static token for tests.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AccessToken from "./AccessToken.js"
import * as internal from "./internal/clientCredentials.js"
import * as tokenResponse from "./internal/tokenResponse.js"
import { TokenError } from "./TokenError.js"

/**
 * A named way to fetch a token. The name (no secrets) appears in errors, logs and spans.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenSource<R = never> {
  readonly name: string
  readonly fetch: Effect.Effect<AccessToken.AccessToken, TokenError, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientCredentialsOptions {
  readonly tokenUrl: string | URL
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** Requested scope: a space-separated string or a list. */
  readonly scope?: string | ReadonlyArray<string> | undefined
  /** Requested audience (an extension many identity providers use). */
  readonly audience?: string | undefined
  /**
   * Client authentication: HTTP Basic (default, RFC 6749 §2.3.1) or `client_id`/`client_secret` form
   * fields. The same name and values as the http-client's `auth.method`.
   */
  readonly method?: "basic" | "body" | undefined
  /**
   * The former name of `method`; `method` wins when both are given.
   *
   * @deprecated use `method`
   */
  readonly auth?: "basic" | "body" | undefined
  /** How long one token request may take. Default: 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Lifetime assumed when the response has no `expires_in`, between 1 second and a year. Default: 1 hour. */
  readonly defaultExpiresIn?: Duration.DurationInput | undefined
  /** More form fields for the token request. */
  readonly extraParams?: Readonly<Record<string, string>> | undefined
}

/**
 * OAuth2 client credentials through the platform `HttpClient`. The response is decoded leniently
 * about `expires_in` (a number or a numeric string) and strictly about `access_token` (required,
 * non-empty); an `expires_in` under 1 second (a token that would expire before it could be used, and
 * would be refreshed at once, forever) or over a year, a non-Bearer `token_type`, a body that is not
 * JSON, a redirect and a 2xx carrying an OAuth `error` are `MalformedResponse`s. Invalid options
 * fail every fetch with reason `InvalidConfig` (nothing is sent) and never throw.
 *
 * Every text the token endpoint or the transport sends back (`error_description`, `error`, causes,
 * content type) is scrubbed of the client secret before it reaches a `TokenError`: raw, percent- and
 * form-encoded, and base64 (alone or as part of the `Basic` credentials), as well as of the
 * `access_token` the same answer carried.
 *
 * @example
 * ```ts
 * import { TokenProvider, TokenSource } from "@bulwark/auth-token"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Effect, Layer } from "effect"
 *
 * const TokensLive = Layer.unwrapEffect(
 *   Effect.gen(function*() {
 *     const clientSecret = yield* Config.redacted("BULWARK_CLIENT_SECRET")
 *     const source = TokenSource.clientCredentials({
 *       tokenUrl: "https://auth.example.com/oauth/token",
 *       clientId: yield* Config.string("BULWARK_CLIENT_ID"),
 *       clientSecret,
 *       scope: ["items:read", "items:write"],
 *       method: "basic"
 *     })
 *     return TokenProvider.layer(source)
 *   })
 * ).pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientCredentials: (options: ClientCredentialsOptions) => TokenSource<HttpClient.HttpClient> =
  internal.clientCredentials

/**
 * The shortest lifetime a client-credentials token response may declare: 1 second. A shorter
 * `expires_in` is a `MalformedResponse`: such a token would expire on its way to the API, and a provider
 * would have to refresh it at once, forever. (A `TokenProvider` also never starts two fetches less than
 * its `minFetchInterval` apart, whatever lifetime a source reports.)
 *
 * @since 0.1.0
 * @category constants
 */
export const minimumLifetime: Duration.Duration = tokenResponse.minLifetime

/**
 * Any effect that yields an `AccessToken`. Failures that are not already `TokenError`s become
 * `TokenError`s with reason `SourceFailed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEffect = <E, R>(
  effect: Effect.Effect<AccessToken.AccessToken, E, R>,
  options?: { readonly name?: string | undefined }
): TokenSource<R> => {
  const name = options?.name ?? "a custom token source"
  return {
    name,
    fetch: Effect.mapError(effect, (error) =>
      error instanceof TokenError
        ? error
        : new TokenError({
          source: name,
          reason: "SourceFailed",
          detail: error instanceof Error ? error.message : undefined,
          cause: error
        }))
  }
}

/**
 * A fixed token, handed out again (as a fresh `AccessToken` valid for `expiresIn`, default 1 hour)
 * every time one is fetched. For tests and for APIs with long-lived keys.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fixed = (
  value: string | Redacted.Redacted<string>,
  options?: { readonly expiresIn?: Duration.DurationInput | undefined; readonly scope?: string | undefined }
): TokenSource => ({
  name: "a fixed token",
  fetch: AccessToken.make({
    value: Redacted.isRedacted(value) ? value : Redacted.make(value),
    expiresIn: options?.expiresIn ?? "1 hour",
    scope: options?.scope
  })
})
