/**
 * Hedged reads, the decisions: whether a request may be hedged at all, how long to wait before sending one more
 * attempt (a fixed delay, or a percentile of the latencies the route has shown), and what happens when the
 * delay passes. Plain functions over plain values and a clock reading; the stage that sends, races and cancels
 * the attempts lives around them.
 *
 * Only idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) and keyed ones (an idempotency key makes a
 * repeated write harmless) are hedged: a hedge is a second copy of a request that may already be processing.
 */

/** When to send a hedge. */
export type Delay =
  /** A fixed delay after the first attempt was sent. */
  | { readonly _tag: "Fixed"; readonly millis: number }
  /**
   * The `percentile` of the route's recent attempt latencies, at least `minMillis`; `initialMillis` until
   * `minSamples` latencies were seen.
   */
  | {
    readonly _tag: "Percentile"
    readonly percentile: number
    readonly minMillis: number
    readonly initialMillis: number
    readonly minSamples: number
  }

/** A route's hedging settings. */
export interface Settings {
  readonly delay: Delay
  /** Hedges per call at most (attempts in flight at once: `1 + maxHedges`). */
  readonly maxHedges: number
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])

/**
 * Whether a request may be hedged: an idempotent method, or any method with an idempotency key (`hasKey`).
 * A POST or PATCH without a key is never hedged.
 */
export const eligible = (method: string, hasKey: boolean): boolean => hasKey || IDEMPOTENT.has(method.toUpperCase())

/**
 * The latencies a route has shown, most recent `capacity` of them, in a ring. Its percentile is recomputed
 * every `capacity / 8` samples (sorting a copy), not on every call.
 */
export interface LatencyWindow {
  readonly samples: Float64Array
  /** Where the next sample goes. */
  next: number
  /** Samples held (at most `samples.length`). */
  count: number
  /** Samples recorded since the percentiles were computed. */
  sinceComputed: number
  /** The sorted samples of the latest computation. */
  sorted: Float64Array | undefined
}

/** An empty window holding up to `capacity` latencies. */
export const makeWindow = (capacity = 256): LatencyWindow => ({
  samples: new Float64Array(Math.max(1, Math.floor(capacity))),
  next: 0,
  count: 0,
  sinceComputed: 0,
  sorted: undefined
})

/**
 * Records one attempt's latency: a completed attempt's, or, for an attempt cancelled because another won, the
 * time it had run (a lower bound of its latency: leaving those out would hide exactly the slow tail the
 * percentile is meant to see).
 */
export const record = (window: LatencyWindow, millis: number): void => {
  if (!Number.isFinite(millis) || millis < 0) return
  window.samples[window.next] = millis
  window.next = (window.next + 1) % window.samples.length
  if (window.count < window.samples.length) window.count += 1
  window.sinceComputed += 1
}

/** The nearest-rank `q` percentile (0 < q ≤ 1) of the window; `undefined` while it holds fewer than `min` samples. */
export const percentile = (window: LatencyWindow, q: number, min = 1): number | undefined => {
  if (window.count < Math.max(1, min)) return undefined
  const stale = window.sorted === undefined || window.sorted.length !== window.count ||
    window.sinceComputed >= Math.max(1, window.samples.length >> 3)
  if (stale) {
    window.sorted = window.samples.slice(0, window.count).sort()
    window.sinceComputed = 0
  }
  const sorted = window.sorted!
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]!
}

/** How long after the first attempt the first hedge is sent (later hedges follow at the same spacing). */
export const delayMillis = (delay: Delay, window: LatencyWindow | undefined): number => {
  if (delay._tag === "Fixed") return delay.millis
  const observed = window === undefined ? undefined : percentile(window, delay.percentile, delay.minSamples)
  return observed === undefined ? delay.initialMillis : Math.max(delay.minMillis, observed)
}

/**
 * Whether a hedge may be sent when a delay passes with no attempt finished: the request is eligible, the call
 * has hedges left and time before its deadline. The retry budget is asked only then, so a hedge that would not
 * be sent never takes its tokens; with the budget dry, the call waits for the attempts in flight.
 */
export const mayHedge = (input: {
  readonly eligible: boolean
  readonly hedgesSent: number
  readonly maxHedges: number
  /** Whether the call's deadline leaves time for another attempt. */
  readonly timeLeft: boolean
}): boolean => input.eligible && input.timeLeft && input.hedgesSent < input.maxHedges

/** Parses `"p95"`, `"p99.9"`: the percentile as a fraction, or `undefined`. */
export const parsePercentile = (text: string): number | undefined => {
  const match = /^p(\d{1,2}(?:\.\d+)?)$/.exec(text)
  if (match === null) return undefined
  const value = Number(match[1]) / 100
  return value > 0 && value < 1 ? value : undefined
}
