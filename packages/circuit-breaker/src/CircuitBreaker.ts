/**
 * A circuit breaker per key (by default the request's origin) that opens on a failure *ratio* over a
 * sliding window with a minimum throughput, so the partner API's documented "< 1% errors is normal" never
 * trips it, while a real outage makes calls fail fast instead of adding load.
 *
 * States, in words:
 *
 * - **closed**: calls go through; successes and failures are counted in a sliding window (`window`, 30 s,
 *   in 10 buckets). When at least `minimumThroughput` (100) calls were counted and the failures reach
 *   `failureRatio` (10%), it opens.
 * - **open**: calls fail at once with `CircuitOpen` (saying when it half-opens), without touching the
 *   network, for the break (`breakDuration`, 5 s; a 503's Retry-After may extend it, up to `maxRetryAfter`).
 * - **half-open**: after the break, `halfOpenProbes` (1) calls go through as probes; the others get
 *   `CircuitOpen`. A probe's success closes the breaker (fresh window); its failure re-opens it with the
 *   break multiplied by `breakMultiplier` (2), capped at `maxBreakDuration` (60 s).
 *
 * Failures are 5xx, timeouts (not the caller's own deadline) and transport failures, as classified by
 * `@bulwark/core-errors`; a 4xx never counts (a 400 is the caller's fault, a 429 is the gate's business)
 * and counts as a success: the server answered. Interrupted calls are not counted.
 *
 * Why the defaults never trip at the documented 1% noise: to open, a window of n ≥ 100 calls needs at least
 * 0.1·n failures. At a 1% failure rate the chance of 10 or more failures among 100 calls is about 10⁻⁷
 * (binomial), and it shrinks fast as n grows (10⁻¹⁰ at n = 200): even a window re-evaluated on every
 * call over a 30-minute noisy period stays far below one false trip. A 100% outage, by contrast, opens
 * it after the 100th call of the window.
 *
 * @since 0.1.0
 */
import type { ApiClient } from "@bulwark/http-client"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { CircuitOpen } from "./CircuitOpen.js"
import * as internal from "./internal/breaker.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Failures / calls in the window at which it opens. Default: 0.1. */
  readonly failureRatio?: number | undefined
  /** Calls the window must hold before the ratio counts. Default: 100. */
  readonly minimumThroughput?: number | undefined
  /** The sliding window. Default: 30 seconds. */
  readonly window?: Duration.DurationInput | undefined
  /** Buckets the window is counted in. Default: 10. */
  readonly buckets?: number | undefined
  /** First break. Default: 5 seconds. */
  readonly breakDuration?: Duration.DurationInput | undefined
  /** Cap of the break, including Retry-After extensions. Default: 60 seconds. */
  readonly maxBreakDuration?: Duration.DurationInput | undefined
  /** Growth of the break each time a probe fails. Default: 2. */
  readonly breakMultiplier?: number | undefined
  /** Concurrent probes while half-open. Default: 1. */
  readonly halfOpenProbes?: number | undefined
  /** A 503's Retry-After extends the break up to this. Default: 30 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** What counts as a failure. Default: 5xx, timeouts and transport failures (see the module docs). */
  readonly isFailure?: ((error: unknown) => boolean) | undefined
}

/**
 * The defaults, as in the module documentation.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = internal.defaults

/**
 * A state change.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly key: string
  readonly from: "closed" | "open" | "half-open"
  readonly to: "closed" | "open" | "half-open"
  /** When it happened, epoch ms of the `Clock`. */
  readonly at: number
  /** For a transition to `open`: until when. */
  readonly until: number | undefined
}

/**
 * A key's state and the counts of its current window.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateView {
  readonly state: "closed" | "open" | "half-open"
  readonly successes: number
  readonly failures: number
  readonly until: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `effect` under the breaker of `key`, or fails at once with `CircuitOpen`. */
  readonly protect: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  readonly state: (key: string) => Effect.Effect<StateView>
  /** Every state change of every key (a sliding buffer of 1,024 for slow subscribers). */
  readonly transitions: Stream.Stream<Transition>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreaker extends Context.Tag("@bulwark/circuit-breaker/CircuitBreaker")<CircuitBreaker, Service>() {}

/**
 * A breaker in the current scope (its transition stream ends with the scope). Invalid options throw a
 * `RangeError` naming the option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, never, Scope.Scope> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<CircuitBreaker> => Layer.scoped(CircuitBreaker, make(options))

/**
 * Runs an effect under the `CircuitBreaker` in the context, for `key`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@bulwark/circuit-breaker"
 * import { Effect } from "effect"
 *
 * declare const callInventory: Effect.Effect<number, Error>
 *
 * const guarded = callInventory.pipe(CircuitBreaker.withBreaker("inventory"), Effect.provide(CircuitBreaker.layer()))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withBreaker: {
  (key: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R | CircuitBreaker>
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string): Effect.Effect<A, E | CircuitOpen, R | CircuitBreaker>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string) =>
    Effect.flatMap(CircuitBreaker, (breaker) => breaker.protect(key, self))
)

/**
 * The breaker as a per-attempt plugin for `@bulwark/http-client`, keyed by the request's origin (or
 * `key`). It sits between the retry stage and the attempt timeout, so every attempt is counted and an
 * open breaker refuses attempts before they touch the network.
 *
 * The retry stage does not retry a `CircuitOpen` (it is not an `ApiError`): it is surfaced to the caller
 * at once with `retryAt`. Waiting out the break inside the call would only queue load for the moment the
 * breaker half-opens, when a single probe decides; callers that can wait do so with `retryAt`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@bulwark/circuit-breaker"
 * import { ApiClient } from "@bulwark/http-client"
 * import { Effect } from "effect"
 *
 * const api = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make()
 *   return yield* ApiClient.make({ baseUrl: "https://api.partner.example/v1" }, {
 *     perAttempt: [CircuitBreaker.plugin(breaker)]
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 * @category plugins
 */
export const plugin: (
  breaker: Service,
  options?: { readonly key?: ((url: string) => string) | undefined }
) => ApiClient.Plugin<CircuitOpen> = internal.plugin

/**
 * Whether an error counts as a failure by default: a 5xx without `Retry-After`, a timeout other than the
 * caller's deadline, a transport failure, or anything that is not an `ApiError`. A 5xx that carries
 * `Retry-After` is load shedding and does not count; 4xx never count.
 *
 * @since 0.1.0
 * @category predicates
 */
export const defaultIsFailure: (error: unknown) => boolean = internal.defaultIsFailure

/**
 * `bulwark_circuit_transitions_total{to}` and `bulwark_circuit_rejected_total`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = internal.metrics
