/**
 * A scoped, refreshing access-token layer.
 *
 * - `get` returns a valid token: the current one while it has more than `expiryMargin` (10 s) left,
 *   otherwise a new one. Any number of concurrent `get`s while no valid token exists cause exactly one
 *   token request (single flight).
 * - `invalidate(token)` discards that token only if it is still the current one (compare-and-invalidate):
 *   50 fibers that all got a 401 with the same token cause one refresh, and a stale token invalidates
 *   nothing.
 * - `refresh` forces a new token (single flight too).
 * - In the background, each token is refreshed when about 80% of its lifetime has passed (±5% of the
 *   lifetime of random jitter, so replicas spread out) and never later than 60 s before it expires, a lead
 *   that shrinks with the lifetime to at most 20% of it (`1 - refreshRatio`), so a short token is refreshed
 *   at its ratio point rather than at half its lifetime. For a 1-hour token: refreshed between 45 and 51 minutes; for a
 *   5-minute token: between 3m45s and 4m; for a 5-second token: between 3.75 s and 4 s.
 * - Fetches are rate limited: two fetches from the source never start less than `minFetchInterval`
 *   (1 s) apart, whatever triggered them (on-demand `get`, background refresh, `refresh`, a `get` after
 *   `invalidate`, retries) and whatever the source answered. Callers waiting for a token join the one
 *   fetch in flight; a token that is still usable is served at once, without waiting.
 * - A failed background refresh keeps the old token in service and is retried with backoff (1 s base,
 *   30 s cap, full jitter, honouring Retry-After) until the old token expires; then `get`s fetch on
 *   demand and fail with a `TokenError` when the source does.
 * - An on-demand fetch retries transient failures twice (200 ms base, 2 s cap; Retry-After up to 10 s),
 *   each attempt no sooner than the fetch rate limit allows.
 * - Closing the layer's scope interrupts every fiber it started, timers included.
 * - Invalid options fail `make` (and the layer) with a `TokenError` with reason `InvalidConfig` that names
 *   each bad option, never its value; nothing throws.
 *
 * Metrics: `bulwark_auth_tokens_fetched_total`, `bulwark_auth_token_fetch_failures_total`,
 * `bulwark_auth_token_refresh_failures_total`, `bulwark_auth_token_age_seconds`. Each fetch runs in a
 * span `bulwark.auth_token.fetch` whose only attribute is the source's name (no secret).
 *
 * @since 0.1.0
 */
import type { Backoff } from "@bulwark/retry-schedules"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as AccessToken from "./AccessToken.js"
import * as internal from "./internal/provider.js"
import type { TokenError } from "./TokenError.js"
import type { TokenSource } from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * A valid token: the current one at once, or a new one fetched once for all concurrent callers (after
   * the fetch rate limit's wait, if the previous fetch started less than `minFetchInterval` ago).
   */
  readonly get: Effect.Effect<AccessToken.AccessToken, TokenError>
  /** The current token, without fetching. */
  readonly current: Effect.Effect<Option.Option<AccessToken.AccessToken>>
  /**
   * The token `get` would return at once at time `now` (epoch ms of the caller's `Clock`), or `undefined`
   * when `get` would have to fetch one. A synchronous fast path for callers on a hot path (the http-client
   * reads it once per attempt); optional, so a hand-written provider need not have it.
   *
   * @since 0.2.0
   */
  readonly peek?: ((now: number) => AccessToken.AccessToken | undefined) | undefined
  /** Discards `token` if it is still the current one; `true` if it was. */
  readonly invalidate: (token: AccessToken.AccessToken) => Effect.Effect<boolean>
  /** Fetches a new token as soon as the fetch rate limit (`minFetchInterval`) allows (single flight). */
  readonly refresh: Effect.Effect<AccessToken.AccessToken, TokenError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenProvider extends Context.Tag("@bulwark/auth-token/TokenProvider")<TokenProvider, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Fetch the first token while the layer is built (failing the layer if it cannot). Default: `false`. */
  readonly eager?: boolean | undefined
  /** Fraction of the lifetime after which a token is refreshed in the background. Default: 0.8. */
  readonly refreshRatio?: number | undefined
  /** Random spread around `refreshRatio`, as a fraction of the lifetime. Default: 0.05. */
  readonly refreshJitter?: number | undefined
  /**
   * A token is refreshed at the latest this long before it expires, but this lead is never more than the
   * `1 - refreshRatio` share of the token's lifetime (so a 5-second token is refreshed at 80% of its life,
   * not at once). Default: 60 seconds.
   */
  readonly refreshBeforeExpiry?: Duration.DurationInput | undefined
  /** A token is not handed out when it expires within this (or a tenth of its lifetime). Default: 10 seconds. */
  readonly expiryMargin?: Duration.DurationInput | undefined
  /**
   * The shortest time between the starts of two fetches from the source, on every path (on-demand,
   * background refresh, `refresh`, after `invalidate`, retries): whatever the token endpoint answers, the
   * provider makes at most one token request per interval. Callers that need a token meanwhile wait for
   * the next fetch; a usable token is served at once. `0` disables the limit (not advised outside tests).
   * Default: 1 second.
   */
  readonly minFetchInterval?: Duration.DurationInput | undefined
  /** Retries of one on-demand fetch. Default: 2 retries of transient errors, 200 ms base, 2 s cap. */
  readonly fetchRetry?: Schedule.Schedule<unknown, TokenError> | undefined
  /** Backoff of background refreshes that fail. Default: 1 s base, 30 s cap, full jitter. */
  readonly refreshBackoff?: Backoff.Options | undefined
}

/**
 * The provider's metrics.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = internal.metrics

/**
 * Builds a provider in the current scope. Uses the `TokenStore` in the context if there is one. Invalid
 * options fail with a `TokenError` whose reason is `InvalidConfig`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <R>(
  source: TokenSource<R>,
  options?: Options
) => Effect.Effect<Service, TokenError, R | Scope.Scope> = internal.make

/**
 * A scoped layer providing a `TokenProvider`.
 *
 * @example
 * ```ts
 * import { TokenProvider, TokenSource } from "@bulwark/auth-token"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer, Redacted } from "effect"
 *
 * const Tokens = TokenProvider.layer(
 *   TokenSource.clientCredentials({
 *     tokenUrl: "https://auth.example.com/oauth/token",
 *     clientId: "catalog-sync",
 *     clientSecret: Redacted.make(process.env.BULWARK_CLIENT_SECRET ?? ""),
 *     scope: "items:read items:write"
 *   })
 * ).pipe(Layer.provide(NodeHttpClient.layerUndici))
 *
 * const program = Effect.gen(function*() {
 *   const tokens = yield* TokenProvider.TokenProvider
 *   const token = yield* tokens.get
 *   // ... send it; on a 401: yield* tokens.invalidate(token), then get again
 * }).pipe(Effect.provide(Tokens))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: <R>(source: TokenSource<R>, options?: Options) => Layer.Layer<TokenProvider, TokenError, R> =
  internal.layer
