import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Hedging from "../src/internal/hedging.js"

const params = { seed: 18, numRuns: 200 }

describe("hedging decisions", () => {
  it("only idempotent or keyed requests are eligible", () => {
    for (const method of ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "get"]) {
      expect(Hedging.eligible(method, false)).toBe(true)
    }
    for (const method of ["POST", "PATCH"]) {
      expect(Hedging.eligible(method, false)).toBe(false)
      expect(Hedging.eligible(method, true)).toBe(true)
    }
  })

  it("a hedge needs eligibility, hedges left and time left", () => {
    const base = { eligible: true, hedgesSent: 0, maxHedges: 1, timeLeft: true }
    expect(Hedging.mayHedge(base)).toBe(true)
    expect(Hedging.mayHedge({ ...base, eligible: false })).toBe(false)
    expect(Hedging.mayHedge({ ...base, hedgesSent: 1 })).toBe(false)
    expect(Hedging.mayHedge({ ...base, timeLeft: false })).toBe(false)
  })

  it("the window's percentile is the nearest rank of its most recent samples", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 100 }),
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 0.01, max: 0.999, noNaN: true }),
        (samples, capacity, q) => {
          const window = Hedging.makeWindow(capacity)
          for (const sample of samples) Hedging.record(window, sample)
          // Recomputed at least every capacity / 8 samples: force it for an exact comparison.
          window.sorted = undefined
          const recent = samples.slice(-capacity).sort((a, b) => a - b)
          const rank = Math.min(recent.length, Math.max(1, Math.ceil(q * recent.length)))
          expect(Hedging.percentile(window, q)).toBe(recent[rank - 1])
        }
      ),
      params
    )
  })

  it("no percentile below the minimum number of samples; NaN and negative latencies are ignored", () => {
    const window = Hedging.makeWindow(16)
    Hedging.record(window, Number.NaN)
    Hedging.record(window, -1)
    Hedging.record(window, 5)
    expect(window.count).toBe(1)
    expect(Hedging.percentile(window, 0.95, 2)).toBeUndefined()
    expect(Hedging.percentile(window, 0.95, 1)).toBe(5)
  })

  it("the delay: fixed; or the percentile, at least its minimum, the initial delay until it is known", () => {
    expect(Hedging.delayMillis({ _tag: "Fixed", millis: 250 }, undefined)).toBe(250)
    const p95 = { _tag: "Percentile", percentile: 0.95, minMillis: 10, initialMillis: 1_000, minSamples: 20 } as const
    const window = Hedging.makeWindow(100)
    expect(Hedging.delayMillis(p95, window)).toBe(1_000)
    for (let i = 1; i <= 100; i++) Hedging.record(window, i)
    expect(Hedging.delayMillis(p95, window)).toBe(95)
    const fast = Hedging.makeWindow(100)
    for (let i = 0; i < 100; i++) Hedging.record(fast, 1)
    expect(Hedging.delayMillis(p95, fast)).toBe(10)
  })

  it("percentiles are written p50 … p99.9", () => {
    expect(Hedging.parsePercentile("p95")).toBe(0.95)
    expect(Hedging.parsePercentile("p99.9")).toBeCloseTo(0.999)
    for (const bad of ["p0", "p100", "95", "p", "P95", "p95%"]) expect(Hedging.parsePercentile(bad)).toBeUndefined()
  })
})
