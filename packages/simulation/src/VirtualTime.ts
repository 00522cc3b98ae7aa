/**
 * Runs an Effect in virtual time: its `Clock` starts at a chosen instant and jumps straight to the next
 * timer whenever every fiber of the program is waiting. An hour of sleeps, timeouts, backoffs and token
 * lifetimes takes as long as the CPU work between them, and the same program gives the same result every
 * time: fibers run in a fixed order and timers due at the same instant wake in the order they were set.
 *
 * Unlike `TestClock`, nobody has to move the clock: the runner knows when the program is idle, because it
 * runs every fiber of the program on its own scheduler. The program must be self-contained: a wait on
 * something outside it (a socket, a `Promise`, a real timer) would never be woken, and the run fails with a
 * {@link Deadlock} once nothing else can happen.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as internal from "./internal/virtualTime.js"

/**
 * Every fiber of the program waits and no timer is left that could wake one.
 *
 * @since 0.1.0
 * @category errors
 */
export const Deadlock: typeof internal.Deadlock = internal.Deadlock

/**
 * @since 0.1.0
 * @category errors
 */
export type Deadlock = internal.Deadlock

/**
 * - `startAt`: the virtual instant the run starts at (epoch milliseconds; default 2026-01-01T00:00:00Z).
 * - `slice`: how many scheduler tasks run between two turns of the real event loop (default 50,000), so a
 *   long run does not starve the process it runs in. It does not change the result.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly startAt?: number | undefined
  readonly slice?: number | undefined
}

/**
 * The default start of virtual time: 2026-01-01T00:00:00Z, a whole second, so HTTP dates round-trip.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultStartAt: number = Date.UTC(2026, 0, 1)

/**
 * Runs `effect` in virtual time and returns its result. Every fiber it forks inherits the virtual clock.
 * Randomness is not touched: seed it with `Effect.withRandom(Random.make(seed))` for a reproducible run.
 *
 * @example
 * ```ts
 * import { VirtualTime } from "@bulwark/simulation"
 * import { Clock, Effect } from "effect"
 *
 * // Returns at once, with 86_400_000: a day of sleeping, in virtual time.
 * const elapsed = VirtualTime.run(
 *   Effect.gen(function*() {
 *     const start = yield* Clock.currentTimeMillis
 *     yield* Effect.sleep("1 day")
 *     return (yield* Clock.currentTimeMillis) - start
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = <A, E>(effect: Effect.Effect<A, E>, options?: Options): Effect.Effect<A, E | Deadlock> =>
  internal.run(effect, { startAt: options?.startAt ?? defaultStartAt, slice: options?.slice })
