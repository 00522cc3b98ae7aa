/**
 * A scoped, refreshing OAuth2 access-token layer for Effect.
 *
 * @since 0.1.0
 */

/**
 * The `AccessToken` model: a `Redacted` value with its type, expiry and scope.
 *
 * @since 0.1.0
 */
export * as AccessToken from "./AccessToken.js"

/**
 * RFC 6750 `WWW-Authenticate: Bearer` challenge parsing.
 *
 * @since 0.1.0
 */
export * as BearerChallenge from "./BearerChallenge.js"

/**
 * `TokenError`: why no token could be had.
 *
 * @since 0.1.0
 */
export * as TokenError from "./TokenError.js"

/**
 * The `TokenProvider` service and its scoped, refreshing layer.
 *
 * @since 0.1.0
 */
export * as TokenProvider from "./TokenProvider.js"

/**
 * Token sources: OAuth2 client credentials, any effect, a fixed token.
 *
 * @since 0.1.0
 */
export * as TokenSource from "./TokenSource.js"

/**
 * The `TokenStore` interface for sharing tokens, and its in-memory implementation.
 *
 * @since 0.1.0
 */
export * as TokenStore from "./TokenStore.js"
