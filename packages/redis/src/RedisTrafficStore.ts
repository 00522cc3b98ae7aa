/**
 * The traffic controller's state on Redis, so a fleet of replicas calling one API with one quota paces as one
 * client: one `Retry-After` floor, one schedule at the learned or advertised pace, one learned rate, one
 * outage probe. It implements http-client's `TrafficStore`; `RedisFleet.layer` includes it, and
 * `ApiClient.make` uses it when it is in the context.
 *
 * How:
 *
 * - one key per origin, `bulwark:<keyPrefix>:traffic:<origin>`, holds the controller's state (a small JSON
 *   text), with a TTL of `idleTtl` (10 minutes) from the last change: an origin nobody calls leaves nothing
 *   behind, and is learned afresh;
 * - every decision (may this attempt go now? what does this answer change?) is taken on the stored state and
 *   written back with a compare-and-set Lua script: one round trip when no other replica wrote in between
 *   (about 0.1–0.2 ms on a local Redis), one more per concurrent write;
 * - times in the state are the replicas' clocks (epoch milliseconds): keep them in sync (NTP; a skew of a
 *   few milliseconds shifts a slot by as much).
 *
 * When Redis is down, slow or contended (the turn stayed taken for 200 ms), the replica decides on its own copy
 * of the state — the last it saw — and tries Redis again on the next decision: the fleet degrades to
 * per-process traffic control, never to failed calls. Each fallback is counted
 * (`bulwark_redis_fallbacks_total{operation="traffic.modify"}` and http-client's
 * `bulwark_http_traffic_store_fallbacks_total`) and logged at most every `warnEvery`.
 *
 * @since 0.2.0
 */
import type { TrafficStore } from "@bulwark/http-client"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import * as internal from "./internal/trafficStore.js"
import type { ConnectionOptions, LayerOptions, RedisConfigError, RedisConnection } from "./RedisConnection.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How long an origin's state outlives its last change. Default: 10 minutes; at least 1 s. */
  readonly idleTtl?: Duration.DurationInput | undefined
}

/**
 * The store, on the `RedisConnection` in the context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithConnection: (
  options?: Options
) => Layer.Layer<TrafficStore.TrafficStore, RedisConfigError, RedisConnection> = internal.layerWithConnection

/**
 * The store on a connection of its own, opened for the lifetime of the layer.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@bulwark/http-client"
 * import { RedisTrafficStore } from "@bulwark/redis"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Effect, Layer } from "effect"
 *
 * const PartnerApi = Layer.scoped(
 *   ApiClient.ApiClient,
 *   Effect.gen(function*() {
 *     return yield* ApiClient.make({
 *       baseUrl: "https://api.partner.example/v1",
 *       auth: {
 *         tokenUrl: "https://auth.partner.example/oauth/token",
 *         clientId: yield* Config.string("BULWARK_CLIENT_ID"),
 *         clientSecret: yield* Config.redacted("BULWARK_CLIENT_SECRET")
 *       }
 *     })
 *   })
 * ).pipe(
 *   Layer.provide(RedisTrafficStore.layer({ redis: "redis://127.0.0.1:6379", keyPrefix: "catalog-sync" })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (
  options?: Options & LayerOptions
) => Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> = internal.layer

/**
 * The store on an ioredis client you own.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> = internal.layerClient
