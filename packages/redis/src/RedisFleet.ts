/**
 * Everything a fleet needs on one Redis connection: the shared `TokenStore`, the traffic controller's shared
 * state (`RedisTrafficStore`: one `Retry-After` floor, one pace and one learned rate for the fleet), the
 * fleet-wide 429 gate and, when `rateLimit` is given, the fleet-wide rate limiter. `ApiClient.make` /
 * `ApiClient.layer` pick up the token store, the traffic store and the gate from the context; the limiter is
 * added as a per-attempt plugin.
 *
 * With no hand-set limit, the traffic store alone keeps a fleet on one quota under it: the replicas learn the
 * rate together (from the rate-limit headers, or from 429s) and take their requests from one schedule.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@bulwark/http-client"
 * import { RedisFleet, RedisRateLimiter } from "@bulwark/redis"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Effect, Layer } from "effect"
 *
 * const Fleet = RedisFleet.layer({
 *   redis: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
 *   keyPrefix: "catalog-sync",
 *   // Optional: a hand-set fleet limit on top of the learned pace.
 *   rateLimit: { limit: 15, window: "1 second" } // the API allows 20/s per client
 * })
 *
 * const PartnerApi = Layer.scoped(
 *   ApiClient.ApiClient,
 *   Effect.gen(function*() {
 *     const limit = yield* RedisRateLimiter.plugin()
 *     return yield* ApiClient.make({
 *       baseUrl: "https://api.partner.example/v1",
 *       auth: {
 *         tokenUrl: "https://auth.partner.example/oauth/token",
 *         clientId: yield* Config.string("BULWARK_CLIENT_ID"),
 *         clientSecret: yield* Config.redacted("BULWARK_CLIENT_SECRET")
 *       }
 *     }, { perAttempt: [limit] })
 *   })
 * ).pipe(Layer.provide(Layer.merge(Fleet, NodeHttpClient.layerUndici)))
 * ```
 *
 * @since 0.1.0
 */
import type { TokenStore } from "@bulwark/auth-token"
import type { RateLimitGate, TrafficStore } from "@bulwark/http-client"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import * as options_ from "./internal/options.js"
import * as RedisConnection from "./RedisConnection.js"
import * as RedisRateLimiter from "./RedisRateLimiter.js"
import * as RedisRateLimitGate from "./RedisRateLimitGate.js"
import * as RedisTokenStore from "./RedisTokenStore.js"
import * as RedisTrafficStore from "./RedisTrafficStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Options of the token store. */
  readonly token?: RedisTokenStore.Options | undefined
  /** Options of the 429 gate. */
  readonly gate?: RedisRateLimitGate.Options | undefined
  /** Options of the traffic store, or `false` to share only the 429 gate's floor (the 0.1 behaviour). */
  readonly traffic?: RedisTrafficStore.Options | false | undefined
  /** The fleet-wide rate limit; without it no `RedisRateLimiter` is provided. */
  readonly rateLimit?: RedisRateLimiter.Options | undefined
}

/**
 * The services a fleet layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | TokenStore.TokenStore
  | RateLimitGate.RateLimitGate
  | TrafficStore.TrafficStore
  | RedisConnection.RedisConnection

const build = (
  options: Options | undefined
): Layer.Layer<
  TokenStore.TokenStore | RateLimitGate.RateLimitGate | TrafficStore.TrafficStore | RedisRateLimiter.RedisRateLimiter,
  RedisConnection.RedisConfigError,
  RedisConnection.RedisConnection
> => {
  const shared = Layer.merge(
    RedisTokenStore.layerWithConnection(options?.token),
    RedisRateLimitGate.layerWithConnection(options?.gate)
  )
  // Without the traffic store the layer still has its type (a fleet that opted out gets no TrafficStore).
  const base = options?.traffic === false
    ? shared as Layer.Layer<
      TokenStore.TokenStore | RateLimitGate.RateLimitGate | TrafficStore.TrafficStore,
      RedisConnection.RedisConfigError,
      RedisConnection.RedisConnection
    >
    : Layer.merge(shared, RedisTrafficStore.layerWithConnection(options?.traffic))
  return options?.rateLimit === undefined
    ? base as Layer.Layer<
      | TokenStore.TokenStore
      | RateLimitGate.RateLimitGate
      | TrafficStore.TrafficStore
      | RedisRateLimiter.RedisRateLimiter,
      RedisConnection.RedisConfigError,
      RedisConnection.RedisConnection
    >
    : Layer.merge(base, RedisRateLimiter.layerWithConnection(options.rateLimit))
}

// Every option problem of every component, reported at once.
const withIssues = <A>(
  options: (Options & RedisConnection.LayerOptions) | undefined,
  make: () => Layer.Layer<A, RedisConnection.RedisConfigError>
): Layer.Layer<A, RedisConnection.RedisConfigError> => {
  const issues = [
    ...options_.tokenStoreIssues(options?.token).map((issue) => `token.${issue}`),
    ...options_.gateIssues(options?.gate).map((issue) => `gate.${issue}`),
    ...(options?.traffic === false ? [] : options_.trafficStoreIssues(options?.traffic)).map((issue) =>
      `traffic.${issue}`
    ),
    ...(options?.rateLimit === undefined ? [] : options_.rateLimiterIssues(options.rateLimit)).map((issue) =>
      `rateLimit.${issue}`
    )
  ]
  options_.validateLayer(options, issues)
  return issues.length > 0 ? Layer.fail(new RedisConnection.RedisConfigError({ issues })) : make()
}

/**
 * The fleet's services on one connection, opened for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: {
  (
    options: Options & RedisConnection.LayerOptions & { readonly rateLimit: RedisRateLimiter.Options }
  ): Layer.Layer<Services | RedisRateLimiter.RedisRateLimiter, RedisConnection.RedisConfigError>
  (options?: Options & RedisConnection.LayerOptions): Layer.Layer<Services, RedisConnection.RedisConfigError>
} = (options?: Options & RedisConnection.LayerOptions): Layer.Layer<any, RedisConnection.RedisConfigError> =>
  withIssues(options, () => build(options).pipe(Layer.provideMerge(RedisConnection.layer(options))))

/**
 * The fleet's services on an ioredis client you own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: {
  (
    client: Redis,
    options: Options & RedisConnection.ConnectionOptions & { readonly rateLimit: RedisRateLimiter.Options }
  ): Layer.Layer<Services | RedisRateLimiter.RedisRateLimiter, RedisConnection.RedisConfigError>
  (
    client: Redis,
    options?: Options & RedisConnection.ConnectionOptions
  ): Layer.Layer<Services, RedisConnection.RedisConfigError>
} = (
  client: Redis,
  options?: Options & RedisConnection.ConnectionOptions
): Layer.Layer<any, RedisConnection.RedisConfigError> =>
  withIssues(options, () => build(options).pipe(Layer.provideMerge(RedisConnection.layerClient(client, options))))
