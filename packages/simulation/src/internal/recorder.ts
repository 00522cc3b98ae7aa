import { RetryAfter } from "@bulwark/core-errors"
import * as Duration from "effect/Duration"

/**
 * What a run observes while it runs: every logical call's outcome and latency, every attempt the transport
 * carried (by kind, status and time), and the breaker's transitions. Plain mutable counters: a simulation
 * runs on one scheduler, and this is its hottest path.
 */

/** @internal */
export interface Bucket {
  calls: number
  succeeded: number
  failed: number
  /** Calls that arrived in this bucket and failed (whenever they did). */
  failedOfArrivals: number
  attempts: number
  tokenRequests: number
  status429: number
  status5xx: number
  transportErrors: number
  latencies: Array<number>
}

/** @internal */
export interface TransitionRecord {
  readonly atMs: number
  readonly key: string
  readonly from: string
  readonly to: string
}

const emptyBucket = (): Bucket => ({
  calls: 0,
  succeeded: 0,
  failed: 0,
  failedOfArrivals: 0,
  attempts: 0,
  tokenRequests: 0,
  status429: 0,
  status5xx: 0,
  transportErrors: 0,
  latencies: []
})

/** @internal */
export class Recorder {
  /** Totals are sums over the buckets: the buckets are the only record of calls, attempts and latencies. */
  readonly buckets: Array<Bucket> = []
  readonly errors = new Map<string, number>()
  readonly attemptsByStatus = new Map<string, number>()
  readonly transitions: Array<TransitionRecord> = []
  unfinished = 0
  /** Requests sent while a Retry-After the client had already received was still running. */
  sentEarly = 0
  /** Until when a 429 the client received pauses the whole origin. */
  private pausedUntil = 0
  /** Per logical call in flight: the earliest its next attempt may go, from a Retry-After it received. */
  private readonly notBefore = new Map<string, number>()

  constructor(readonly start: number, readonly bucketMs: number) {}

  bucket(at: number): Bucket {
    const index = Math.max(0, Math.floor((at - this.start) / this.bucketMs))
    while (this.buckets.length <= index) this.buckets.push(emptyBucket())
    return this.buckets[index]!
  }

  callStarted(at: number): void {
    this.bucket(at).calls++
  }

  callFinished(call: string): void {
    this.notBefore.delete(call)
  }

  callSucceeded(arrivedAt: number, at: number): void {
    const bucket = this.bucket(at)
    bucket.succeeded++
    bucket.latencies.push(at - arrivedAt)
  }

  callFailed(arrivedAt: number, at: number, tag: string): void {
    this.errors.set(tag, (this.errors.get(tag) ?? 0) + 1)
    const bucket = this.bucket(at)
    bucket.failed++
    bucket.latencies.push(at - arrivedAt)
    this.bucket(arrivedAt).failedOfArrivals++
  }

  attempt(kind: "token" | "resource", at: number, call: string | undefined): void {
    if (kind === "resource") {
      const retryAt = call === undefined ? undefined : this.notBefore.get(call)
      if (at < this.pausedUntil || (retryAt !== undefined && at < retryAt)) this.sentEarly++
    }
    const bucket = this.bucket(at)
    if (kind === "token") bucket.tokenRequests++
    else bucket.attempts++
  }

  answered(
    kind: "token" | "resource",
    sentAt: number,
    receivedAt: number,
    status: number,
    headers: Readonly<Record<string, string | undefined>>,
    call: string | undefined
  ): void {
    if (kind === "token") return
    // A Retry-After holds back this call's next attempt; on a 429 it pauses every request to the origin.
    if (headers["retry-after"] !== undefined && (status === 429 || status >= 500)) {
      const wait = RetryAfter.fromHeaders(headers, receivedAt)
      if (wait._tag === "Some") {
        const retryAt = receivedAt + Duration.toMillis(wait.value)
        if (call !== undefined) this.notBefore.set(call, retryAt)
        if (status === 429 && retryAt > this.pausedUntil) this.pausedUntil = retryAt
      }
    } else if (call !== undefined) {
      this.notBefore.delete(call)
    }
    const key = String(status)
    this.attemptsByStatus.set(key, (this.attemptsByStatus.get(key) ?? 0) + 1)
    const bucket = this.bucket(sentAt)
    if (status === 429) bucket.status429++
    else if (status >= 500) bucket.status5xx++
  }

  transportFailed(kind: "token" | "resource", sentAt: number): void {
    if (kind === "token") return
    this.attemptsByStatus.set("transport error", (this.attemptsByStatus.get("transport error") ?? 0) + 1)
    this.bucket(sentAt).transportErrors++
  }

  transition(record: TransitionRecord): void {
    this.transitions.push(record)
  }
}

/**
 * The nearest-rank percentile of sorted values (0 for none): the smallest value with at least `p` of the
 * values at or below it.
 *
 * @internal
 */
export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[Math.min(sorted.length, rank) - 1]!
}
