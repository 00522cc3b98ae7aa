import { ApiError } from "@bulwark/core-errors"
import { type ApiClient, Plugins } from "@bulwark/http-client"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { Options, Service, StateView, Transition as TransitionEvent } from "../CircuitBreaker.js"
import { CircuitOpen } from "../CircuitOpen.js"
import * as machine from "./state.js"

/** @internal */
export const defaults = {
  failureRatio: 0.1,
  minimumThroughput: 100,
  window: Duration.seconds(30),
  buckets: 10,
  breakDuration: Duration.seconds(5),
  maxBreakDuration: Duration.seconds(60),
  breakMultiplier: 2,
  halfOpenProbes: 1,
  maxRetryAfter: Duration.seconds(30)
}

/**
 * What counts as a failure: 5xx, timeouts (except the caller's own deadline) and transport failures. Any
 * 4xx is the caller's fault or a rate limit the gate handles: it proves the server is up.
 */
export const defaultIsFailure = (error: unknown): boolean =>
  // A 5xx that says when to come back is load shedding, not ill health: the traffic controller waits it out,
  // and opening the breaker on it would fail calls that could have waited (`ApiError.isOriginFailure`).
  !ApiError.isApiError(error) || ApiError.isOriginFailure(error)

const retryAfterOf = (error: unknown): number | undefined =>
  ApiError.isApiError(error) && error._tag === "ServerError" && error.retryAfter !== undefined
    ? Duration.toMillis(error.retryAfter)
    : undefined

/** @internal */
export const metrics = {
  transitions: Metric.counter("bulwark_circuit_transitions_total", {
    description: "Circuit breaker state changes, by target state",
    incremental: true
  }),
  rejected: Metric.counter("bulwark_circuit_rejected_total", {
    description: "Calls refused by an open or half-open breaker",
    incremental: true
  })
}

const label = (tag: machine.State["_tag"]): StateView["state"] =>
  tag === "Closed" ? "closed" : tag === "Open" ? "open" : "half-open"

const positive = (name: string, value: number, integer = false) => {
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    throw new RangeError(
      `CircuitBreaker: ${name} must be a positive ${integer ? "whole number" : "number"}, got ${value}`
    )
  }
  return value
}

const settingsOf = (options?: Options): machine.Settings => {
  const ratio = options?.failureRatio ?? defaults.failureRatio
  if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`CircuitBreaker: failureRatio must be in (0, 1], got ${ratio}`)
  return {
    failureRatio: ratio,
    minimumThroughput: positive("minimumThroughput", options?.minimumThroughput ?? defaults.minimumThroughput, true),
    windowMillis: positive("window", Duration.toMillis(Duration.decode(options?.window ?? defaults.window))),
    buckets: positive("buckets", options?.buckets ?? defaults.buckets, true),
    breakMillis: positive(
      "breakDuration",
      Duration.toMillis(Duration.decode(options?.breakDuration ?? defaults.breakDuration))
    ),
    maxBreakMillis: positive(
      "maxBreakDuration",
      Duration.toMillis(Duration.decode(options?.maxBreakDuration ?? defaults.maxBreakDuration))
    ),
    breakMultiplier: positive("breakMultiplier", options?.breakMultiplier ?? defaults.breakMultiplier),
    halfOpenProbes: positive("halfOpenProbes", options?.halfOpenProbes ?? defaults.halfOpenProbes, true),
    maxRetryAfterMillis: Duration.toMillis(Duration.decode(options?.maxRetryAfter ?? defaults.maxRetryAfter))
  }
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* Effect.sync(() => settingsOf(options))
    const isFailure = options?.isFailure ?? defaultIsFailure
    const states = yield* SynchronizedRef.make(new Map<string, machine.State>())
    const hub = yield* PubSub.sliding<TransitionEvent>(1024)
    yield* Effect.addFinalizer(() => PubSub.shutdown(hub))

    const announce = (key: string, from: machine.State, to: machine.State, now: number) => {
      const event: TransitionEvent = {
        key,
        from: label(from._tag),
        to: label(to._tag),
        at: now,
        until: to._tag === "Open" ? to.until : undefined
      }
      const line = `Circuit breaker for ${key}: ${event.from} -> ${event.to}` +
        (event.until === undefined ? "" : ` until ${new Date(event.until).toISOString()}`)
      return Effect.zipRight(
        Effect.zipRight(
          event.to === "open" ? Effect.logWarning(line) : Effect.logInfo(line),
          Metric.increment(Metric.tagged(metrics.transitions, "to", event.to))
        ),
        PubSub.publish(hub, event)
      )
    }

    // Every change of a key's state goes through here, one at a time (the map is only touched inside the
    // synchronized update, so it is changed in place).
    const update = <A>(key: string, f: (state: machine.State, now: number) => readonly [A, machine.State]) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SynchronizedRef.modifyEffect(states, (map) => {
          const before = map.get(key) ?? machine.initial
          const [result, after] = f(before, now)
          if (after === before) return Effect.succeed([result, map] as const)
          map.set(key, after)
          return before._tag === after._tag
            ? Effect.succeed([result, map] as const)
            : Effect.as(announce(key, before, after, now), [result, map] as const)
        }))

    const protect = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          update(key, (state, now) => {
            const [admission, next] = machine.admit(settings, state, now)
            return [admission, next] as const
          }),
          (admission): Effect.Effect<A, E | CircuitOpen, R> => {
            if (admission._tag === "Rejected") {
              return Effect.zipRight(
                Metric.increment(metrics.rejected),
                Effect.fail(new CircuitOpen({ key, state: admission.state, retryAt: admission.retryAt }))
              )
            }
            return Effect.flatMap(Effect.exit(restore(effect)), (exit) => {
              let outcome: machine.Outcome
              let retryAfter: number | undefined
              if (Exit.isSuccess(exit)) outcome = "success"
              else if (Cause.isInterruptedOnly(exit.cause)) outcome = "ignored"
              else {
                const failure = Cause.failureOption(exit.cause)
                const error = Option.getOrUndefined(failure)
                outcome = Option.isNone(failure) || isFailure(error) ? "failure" : "success"
                retryAfter = retryAfterOf(error)
              }
              return Effect.zipRight(
                update(key, (state, now) => [
                  undefined,
                  machine.record(settings, state, admission.permit, outcome, now, retryAfter)[0]
                ]),
                exit
              )
            })
          }
        )
      )

    const state = (key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(SynchronizedRef.get(states), (map): StateView => {
          const current = map.get(key) ?? machine.initial
          const counts = machine.window(settings, current, now)
          return {
            state: label(current._tag),
            ...counts,
            until: current._tag === "Open" ? current.until : undefined
          }
        }))

    return { protect, state, transitions: Stream.fromPubSub(hub) } satisfies Service
  })

/** @internal */
export const plugin = (
  breaker: Service,
  options?: { readonly key?: ((url: string) => string) | undefined }
): ApiClient.Plugin<CircuitOpen> => {
  const key = options?.key ?? Plugins.originOf
  // A stage: in the ApiClient's fused pipeline it is linked in directly, with no client of its own per attempt.
  return Plugins.fromStage<ApiClient.Plugin<CircuitOpen>>((next) => (request, call) =>
    breaker.protect(key(request.url), next(request, call))
  )
}
