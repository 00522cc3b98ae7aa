/**
 * A Redis `TokenStore` for `@bulwark/auth-token`: every replica's `TokenProvider` shares one access token,
 * and a refresh is guarded by a Redis lock with a lease so that one replica calls the token endpoint while
 * the others wait for it and read its result.
 *
 * - **The token** lives at `bulwark:<keyPrefix>:token:<name>` as a small JSON record with `PX` = the time
 *   to its expiry, so it never outlives the token. Readers rebuild the expiry from Redis' TTL, so replicas
 *   with skewed clocks agree on how long it has left.
 * - **The refresh lock** is `SET bulwark:<keyPrefix>:token:<name>:lock <fencing token> NX PX <lease>`, with
 *   a random 128-bit fencing token per acquisition; it is released by a Lua compare-and-delete, so only its
 *   owner can release it. Waiters poll with a jittered delay (5 ms doubling to 50 ms) for at most
 *   `lockTimeout`; a holder that crashed (process killed, connection lost) frees it when the lease ends.
 *   An interrupted holder releases it at once.
 * - **Compare-and-invalidate** across replicas: a Lua script deletes the stored token only if it is the
 *   one that was rejected (compared by fingerprint), so a late 401 for an old token never deletes the new one.
 *
 * **Trust boundary**: anyone who can read the Redis keys can read the token (and use it until it expires),
 * unless `encryptionKey` is set: then the value is sealed with AES-256-GCM (random 96-bit IV, the Redis key
 * as additional data), and Redis holds only ciphertext and an HMAC fingerprint. The value is never logged
 * and never appears in an error message. Failures (Redis down or slow) are `TokenStoreError`s: the provider
 * logs a warning and carries on with its own token.
 *
 * @since 0.1.0
 */
import type { TokenStore } from "@bulwark/auth-token"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { Redis } from "ioredis"
import * as internal from "./internal/tokenStore.js"
import type { ConnectionOptions, LayerOptions, RedisConfigError, RedisConnection } from "./RedisConnection.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Which token, when several APIs or clients share one key prefix. Default: `"default"`. */
  readonly name?: string | undefined
  /**
   * How long the refresh lock is held at most: a holder that crashed blocks refreshes for no longer. Make it
   * longer than a token fetch normally takes (a longer fetch lets a second replica fetch too). Default: 10 s.
   */
  readonly lease?: Duration.DurationInput | undefined
  /**
   * How long a replica waits for the lock before it gives up and fetches a token on its own (logged by the
   * provider as a store failure). Default: the lease plus 5 s.
   */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /**
   * The timeout of each store operation (get, set, compare-and-delete, one attempt at the lock). They run
   * only when a token is needed, so it can be longer than the connection's `timeout`; a spurious timeout
   * costs a second token request (the provider then fetches on its own). Default: 2 s.
   */
  readonly operationTimeout?: Duration.DurationInput | undefined
  /**
   * A 32-byte key (base64 or 64 hex digits) to seal the token with AES-256-GCM, e.g.
   * `Config.redacted("BULWARK_REDIS_TOKEN_KEY")` (`openssl rand -base64 32`). Every replica needs the same key.
   */
  readonly encryptionKey?: Redacted.Redacted<string> | undefined
}

/**
 * The store, on the `RedisConnection` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<TokenStore.Service, RedisConfigError, RedisConnection> =
  internal.make

/**
 * The store on the `RedisConnection` in the context (so that several components share it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithConnection: (
  options?: Options
) => Layer.Layer<TokenStore.TokenStore, RedisConfigError, RedisConnection> = internal.layerWithConnection

/**
 * The store on a connection of its own, opened for the lifetime of the layer.
 *
 * @example
 * ```ts
 * import { RedisTokenStore } from "@bulwark/redis"
 * import { ApiClient } from "@bulwark/http-client"
 * import { Config, Effect, Layer } from "effect"
 *
 * const SharedTokens = Layer.unwrapEffect(
 *   Effect.gen(function*() {
 *     return RedisTokenStore.layer({
 *       redis: yield* Config.string("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379")),
 *       keyPrefix: "catalog-sync",
 *       encryptionKey: yield* Config.redacted("BULWARK_REDIS_TOKEN_KEY")
 *     })
 *   })
 * )
 * // ApiClient.make / ApiClient.layer pick up the TokenStore from the context.
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: Options & LayerOptions) => Layer.Layer<TokenStore.TokenStore, RedisConfigError> =
  internal.layer

/**
 * The store on an ioredis client you own (connected; it is not closed with the layer).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<TokenStore.TokenStore, RedisConfigError> = internal.layerClient
