/**
 * The pipeline's metrics: logical calls by outcome and their duration (the observe stage), attempts by why
 * each was made and time spent waiting before retries (the retry stage). Waits for an origin are the traffic
 * controller's (one metric, whichever stage waits). Not a stage itself: the stages that count import it.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { RetryReason } from "./callState.js"
import * as TrafficControl from "./trafficControl.js"

/** @internal */
export const metrics = {
  calls: Metric.counter("bulwark_http_calls_total", { description: "Logical calls by outcome", incremental: true }),
  attempts: Metric.counter("bulwark_http_attempts_total", {
    description: "HTTP attempts, labelled by why each was made (initial or the retry reason)",
    incremental: true
  }),
  // Waits for an origin are the traffic controller's (one metric, whichever stage waits).
  gateWaits: TrafficControl.metrics.waits,
  gateWaitMillis: TrafficControl.metrics.waitMillis,
  gateFailFasts: TrafficControl.metrics.failFasts,
  retryWaitMillis: Metric.counter("bulwark_http_retry_wait_millis_total", {
    description: "Time spent waiting before retries (backoff or Retry-After), in milliseconds, by retry reason",
    incremental: true
  }),
  hedges: Metric.counter("bulwark_http_hedges_total", {
    description: "Hedged attempts sent (one more attempt of a slow read), by route",
    incremental: true
  }),
  hedgeWins: Metric.counter("bulwark_http_hedge_wins_total", {
    description: "Hedged calls whose answer came from a hedge rather than the first attempt, by route",
    incremental: true
  }),
  callDuration: Metric.timerWithBoundaries("bulwark_http_call_duration", [
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000
  ])
}

const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, key: string) => {
  const cache = new Map<string, Metric.Metric<Type, In, Out>>()
  return (value: string) => {
    let found = cache.get(value)
    if (found === undefined) {
      found = Metric.tagged(metric, key, value)
      cache.set(value, found)
    }
    return found
  }
}

// Tagging per request would rebuild metric keys on the hot path; the few label values are cached.
export const attemptsByReason = tagged(metrics.attempts, "reason")
export const retryWaitByReason = tagged(metrics.retryWaitMillis, "reason")
export const callsByOutcome = tagged(metrics.calls, "outcome")

/** @internal */
export const retryReasons: ReadonlyArray<RetryReason> = [
  "initial",
  "5xx",
  "timeout",
  "network",
  "401-refresh",
  "429",
  "other"
]

/** @internal */
export const attemptCounts: Effect.Effect<Record<RetryReason, number>> = Effect.map(
  Effect.forEach(retryReasons, (reason) => Metric.value(attemptsByReason(reason))),
  (states) =>
    Object.fromEntries(retryReasons.map((reason, i) => [reason, states[i]!.count])) as Record<RetryReason, number>
)

/** @internal */
export const retryWaitMillis: Effect.Effect<Record<RetryReason, number>> = Effect.map(
  Effect.forEach(retryReasons, (reason) => Metric.value(retryWaitByReason(reason))),
  (states) =>
    Object.fromEntries(retryReasons.map((reason, i) => [reason, states[i]!.count])) as Record<RetryReason, number>
)

/**
 * The metrics of one route rule, tagged with its label (never the raw path), made once when the client is built.
 *
 * @internal
 */
export const routeMetrics = (label: string) => ({
  callsByOutcome: tagged(Metric.tagged(metrics.calls, "route", label), "outcome"),
  callDuration: Metric.tagged(metrics.callDuration, "route", label),
  hedges: Metric.tagged(metrics.hedges, "route", label),
  hedgeWins: Metric.tagged(metrics.hedgeWins, "route", label)
})

/** @internal */
export type RouteMetrics = ReturnType<typeof routeMetrics>
