import type { Stats } from "@bulwark/sandbox"
import type { Recorder } from "./recorder.js"
import { percentile } from "./recorder.js"

/** @internal */
export interface Latency {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
}

/** @internal */
export interface TimelinePoint {
  /** Seconds since the start of the run, at the start of the bucket. */
  readonly t: number
  readonly calls: number
  readonly succeeded: number
  readonly failed: number
  /** Calls that arrived in this bucket and failed, whenever they did (`failed` counts by when they ended). */
  readonly failedOfArrivals: number
  readonly attempts: number
  readonly tokenRequests: number
  readonly status429: number
  readonly status5xx: number
  readonly transportErrors: number
  readonly p99LatencyMs: number
}

/** @internal */
export interface GoalResult {
  readonly goal: string
  readonly actual: string
  readonly passed: boolean
}

/** @internal */
export interface Report {
  readonly name: string | null
  readonly seed: number
  readonly setup: {
    readonly sandbox: string
    readonly policy: string
    readonly traffic: {
      readonly rate: number
      readonly arrival: string
      readonly concurrency: number | null
      readonly writeRatio: number
      readonly durationSeconds: number
      readonly latencyMs: number
    }
  }
  readonly simulatedSeconds: number
  readonly calls: {
    readonly total: number
    readonly succeeded: number
    readonly failed: number
    readonly unfinished: number
    readonly successRate: number
  }
  readonly attempts: {
    readonly total: number
    readonly amplification: number
    readonly byStatus: Readonly<Record<string, number>>
  }
  readonly errors: Readonly<Record<string, number>>
  /** What the API received, by route and outcome (status, or hung / stalled / reset), from its own stats. */
  readonly received: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly rateLimit: {
    readonly responses429: number
    readonly sentBeforeRetryAfter: number
    readonly receivedBeforeRetryAfter: number
  }
  readonly tokens: { readonly requests: number; readonly issued: number }
  readonly writes: {
    readonly created: number
    readonly duplicateSkus: number
    readonly replayedByIdempotencyKey: number
  }
  readonly breaker: {
    readonly enabled: boolean
    readonly opened: number
    readonly transitions: ReadonlyArray<{ readonly atSeconds: number; readonly from: string; readonly to: string }>
  }
  readonly faultsInjected: Readonly<Record<string, number>>
  readonly latencyMs: Latency
  readonly timeline: { readonly bucketSeconds: number; readonly points: ReadonlyArray<TimelinePoint> }
  readonly goals: ReadonlyArray<GoalResult> | null
}

const round = (value: number, digits = 4): number => {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

const sortedRecord = (map: Map<string, number> | Readonly<Record<string, number>>): Record<string, number> => {
  const entries = map instanceof Map ? [...map.entries()] : Object.entries(map)
  const out: Record<string, number> = {}
  for (const [key, value] of entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) if (value > 0) out[key] = value
  return out
}

/** Numeric sort (a typed array sorts by value, not as strings). */
const sorted = (values: ReadonlyArray<number>): Float64Array => Float64Array.from(values).sort()

const sum = (values: ArrayLike<number>): number => {
  let total = 0
  for (let i = 0; i < values.length; i++) total += values[i]!
  return total
}

const latencyOf = (values: ReadonlyArray<number>): Latency => {
  const ordered = sorted(values)
  return {
    p50: percentile(ordered, 0.5),
    p90: percentile(ordered, 0.9),
    p99: percentile(ordered, 0.99),
    p999: percentile(ordered, 0.999),
    max: ordered.length === 0 ? 0 : ordered[ordered.length - 1]!,
    mean: ordered.length === 0 ? 0 : round(sum(ordered) / ordered.length, 1)
  }
}

/** @internal */
export interface ReportInput {
  readonly name: string | undefined
  readonly seed: number
  readonly sandbox: string
  readonly policy: string
  readonly traffic: Report["setup"]["traffic"]
  readonly simulatedMs: number
  readonly breakerEnabled: boolean
  readonly recorder: Recorder
  readonly stats: Stats.Stats
}

/** @internal */
export const build = (input: ReportInput): Report => {
  const { recorder, stats } = input
  const buckets = recorder.buckets
  const total = (pick: (bucket: (typeof buckets)[number]) => number) => sum(buckets.map(pick))
  const calls = total((bucket) => bucket.calls)
  const succeeded = total((bucket) => bucket.succeeded)
  const attempts = total((bucket) => bucket.attempts)
  const tokenRoute = stats.requests["POST /oauth/token"] ?? {}
  const tokenRequests = Object.values(tokenRoute).reduce((total, count) => total + count, 0)
  const receivedEarly = Object.values(stats.earlyRetries).reduce((total, count) => total + count, 0)
  return {
    name: input.name ?? null,
    seed: input.seed,
    setup: { sandbox: input.sandbox, policy: input.policy, traffic: input.traffic },
    simulatedSeconds: round(input.simulatedMs / 1000, 3),
    calls: {
      total: calls,
      succeeded,
      failed: total((bucket) => bucket.failed),
      unfinished: recorder.unfinished,
      successRate: calls === 0 ? 1 : round(succeeded / calls, 6)
    },
    attempts: {
      total: attempts,
      amplification: calls === 0 ? 0 : round(attempts / calls, 4),
      byStatus: sortedRecord(recorder.attemptsByStatus)
    },
    errors: sortedRecord(recorder.errors),
    received: Object.fromEntries(
      Object.keys(stats.requests).sort().map((route) => [route, sortedRecord(stats.requests[route]!)])
    ),
    rateLimit: {
      responses429: stats.rateLimited,
      sentBeforeRetryAfter: recorder.sentEarly,
      receivedBeforeRetryAfter: receivedEarly
    },
    tokens: { requests: tokenRequests, issued: stats.tokensIssued },
    writes: {
      created: stats.itemsCreated,
      duplicateSkus: stats.duplicateSkus,
      replayedByIdempotencyKey: stats.duplicateCreationsPrevented
    },
    breaker: {
      enabled: input.breakerEnabled,
      opened: recorder.transitions.filter((transition) => transition.to === "open").length,
      transitions: recorder.transitions.map((transition) => ({
        atSeconds: round((transition.atMs - recorder.start) / 1000, 3),
        from: transition.from,
        to: transition.to
      }))
    },
    faultsInjected: sortedRecord(stats.faultsInjected as unknown as Record<string, number>),
    latencyMs: latencyOf(buckets.flatMap((bucket) => bucket.latencies)),
    timeline: {
      bucketSeconds: recorder.bucketMs / 1000,
      points: recorder.buckets.map((bucket, index) => ({
        t: round(index * recorder.bucketMs / 1000, 3),
        calls: bucket.calls,
        succeeded: bucket.succeeded,
        failed: bucket.failed,
        failedOfArrivals: bucket.failedOfArrivals,
        attempts: bucket.attempts,
        tokenRequests: bucket.tokenRequests,
        status429: bucket.status429,
        status5xx: bucket.status5xx,
        transportErrors: bucket.transportErrors,
        p99LatencyMs: percentile(sorted(bucket.latencies), 0.99)
      }))
    },
    goals: null
  }
}
