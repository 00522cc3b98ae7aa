/**
 * The per-origin 429 cool-down shared by all requests of a client: after a 429 with `Retry-After`,
 * requests to that origin wait until the time has passed instead of each collecting its own 429.
 *
 * The in-memory gate serves one process; `@bulwark/redis` provides a fleet-wide one for the same Tag.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Until when (epoch ms of the `Clock`) the origin is closed, if it is. */
  readonly closedUntil: (origin: string) => Effect.Effect<Option.Option<number>>
  /** Closes the origin until `until` (epoch ms); an earlier `until` never shortens a cool-down. */
  readonly close: (origin: string, until: number) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RateLimitGate extends Context.Tag("@bulwark/http-client/RateLimitGate")<RateLimitGate, Service>() {}

/**
 * An in-memory gate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.map(
  Ref.make(new Map<string, number>()),
  (ref): Service => ({
    closedUntil: (origin) => Effect.map(Ref.get(ref), (map) => Option.fromNullable(map.get(origin))),
    close: (origin, until) =>
      Ref.update(ref, (map) => {
        const current = map.get(origin)
        if (current !== undefined && current >= until) return map
        const next = new Map(map)
        next.set(origin, until)
        return next
      })
  })
)

/**
 * A layer providing an in-memory gate.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RateLimitGate> = Layer.effect(RateLimitGate, makeMemory)
