/**
 * Where the per-origin traffic controller keeps its state when several clients — the replicas of a fleet —
 * share one quota: the pause (`Retry-After` floor), the pace and its schedule, what was learned of the rate,
 * and the outage probe. With a store in the context, `ApiClient.make` reads and writes each origin's state
 * through it, so the fleet paces as one client: one schedule, one learned rate, one probe in an outage.
 *
 * The state is opaque text; a store only has to replace it atomically. `@bulwark/redis` provides a store on
 * Redis (`RedisTrafficStore`, part of `RedisFleet.layer`); {@link layerMemory} shares state between the
 * clients of one process (and is what the tests use).
 *
 * When the store fails, each client goes on with its own copy of the state (the last it saw) and retries the
 * store on the next request: a store outage degrades to per-process traffic control, never to failed calls.
 *
 * @example
 * ```ts
 * import { ApiClient, TrafficStore } from "@bulwark/http-client"
 * import { Effect, Redacted } from "effect"
 *
 * // Two clients for the same partner API (say, two modules of one service) share one quota.
 * const program = Effect.gen(function*() {
 *   const options = {
 *     baseUrl: "https://api.partner.example/v1",
 *     auth: { token: Redacted.make("a-static-token") }
 *   } as const
 *   const reports = yield* ApiClient.make(options)
 *   const catalog = yield* ApiClient.make(options)
 *   return { reports, catalog }
 * }).pipe(Effect.provide(TrafficStore.layerMemory))
 * ```
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The store could not be read or written; the controller falls back to its own copy of the state.
 *
 * @since 0.2.0
 * @category errors
 */
export class TrafficStoreError extends Data.TaggedError("TrafficStoreError")<{
  /** What failed, e.g. `"Unavailable"`, `"Timeout"`, `"Conflict"` (too many concurrent writers). */
  readonly reason: string
  /** A secret-free detail. */
  readonly detail: string
}> {
  override get message(): string {
    return `The traffic store failed (${this.reason}: ${this.detail}); this client uses its own copy of the origin's state until it answers again.`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * Replaces the state of `origin` atomically: `update` receives the stored text (`undefined`: none yet) and
   * returns a result and the text to store. Returning the text it received stores nothing. A store may call
   * `update` more than once (after a concurrent write), so it must not have side effects.
   */
  readonly modify: <A>(
    origin: string,
    update: (stored: string | undefined) => readonly [A, string]
  ) => Effect.Effect<A, TrafficStoreError>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class TrafficStore extends Context.Tag("@bulwark/http-client/TrafficStore")<TrafficStore, Service>() {}

/**
 * A store in memory: the clients built with it in their context share each origin's state.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const states = new Map<string, string>()
  return {
    modify: (origin, update) =>
      Effect.sync(() => {
        const stored = states.get(origin)
        const [result, next] = update(stored)
        if (next !== stored) states.set(origin, next)
        return result
      })
  }
})

/**
 * A layer providing an in-memory store.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TrafficStore> = Layer.effect(TrafficStore, makeMemory)
