import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import type { Jitter, Options as BackoffOptions } from "../Backoff.js"

/** @internal */
export const defaults = {
  base: Duration.millis(200),
  factor: 2,
  cap: Duration.seconds(10),
  jitter: "full" as Jitter
}

interface State {
  readonly attempt: number
  /** The previous delay in milliseconds: decorrelated jitter grows from it. */
  readonly previous: number
}

/** @internal */
export interface Resolved {
  readonly baseMillis: number
  readonly factor: number
  readonly capMillis: number
  readonly jitter: Jitter
}

/** @internal */
export const resolve = (options?: BackoffOptions): Resolved => {
  const baseMillis = Duration.toMillis(Duration.decode(options?.base ?? defaults.base))
  const capMillis = Duration.toMillis(Duration.decode(options?.cap ?? defaults.cap))
  const factor = options?.factor ?? defaults.factor
  const jitter = options?.jitter ?? defaults.jitter
  if (!(Number.isFinite(baseMillis) && baseMillis >= 0)) {
    throw new RangeError(`backoff: base must be a finite, non-negative duration, got ${baseMillis} ms`)
  }
  if (!(capMillis >= baseMillis)) {
    throw new RangeError(`backoff: cap (${capMillis} ms) must be at least base (${baseMillis} ms)`)
  }
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw new RangeError(`backoff: factor must be a finite number >= 1, got ${factor}`)
  }
  if (!["none", "full", "equal", "decorrelated"].includes(jitter)) {
    throw new RangeError(`backoff: jitter must be "none", "full", "equal" or "decorrelated", got ${String(jitter)}`)
  }
  return { baseMillis, factor, capMillis, jitter }
}

/** The un-jittered, capped exponential delay of retry `attempt` (0-based). */
const ceiling = (r: Resolved, attempt: number): number => {
  const raw = r.baseMillis * Math.pow(r.factor, attempt)
  // Large attempts overflow to Infinity: the cap binds anyway.
  return Number.isFinite(raw) ? Math.min(r.capMillis, raw) : r.capMillis
}

/** @internal */
export const nextDelay = (r: Resolved, state: State): Effect.Effect<number> => {
  switch (r.jitter) {
    case "none":
      return Effect.succeed(ceiling(r, state.attempt))
    case "full":
      // AWS "Full Jitter": sleep = random_between(0, min(cap, base * factor^n))
      return Effect.map(Random.next, (u) => u * ceiling(r, state.attempt))
    case "equal":
      // AWS "Equal Jitter": temp = min(cap, base * factor^n); sleep = temp/2 + random_between(0, temp/2)
      return Effect.map(Random.next, (u) => {
        const temp = ceiling(r, state.attempt)
        return temp / 2 + u * (temp / 2)
      })
    case "decorrelated":
      // AWS "Decorrelated Jitter": sleep = min(cap, random_between(base, previous * 3))
      return Effect.map(Random.next, (u) => {
        const upper = Math.max(r.baseMillis, state.previous * 3)
        return Math.min(r.capMillis, r.baseMillis + u * (upper - r.baseMillis))
      })
  }
}

/** @internal */
export const backoff = (options?: BackoffOptions): Schedule.Schedule<Duration.Duration> => {
  const r = resolve(options)
  return Schedule.makeWithState<State, unknown, Duration.Duration>(
    { attempt: 0, previous: r.baseMillis },
    (now, _input, state) =>
      Effect.map(nextDelay(r, state), (delay) => {
        const millis = Math.max(0, Math.min(r.capMillis, delay))
        return [
          { attempt: state.attempt + 1, previous: millis },
          Duration.millis(millis),
          ScheduleDecision.continueWith(ScheduleInterval.after(now + millis))
        ] as const
      })
  )
}
