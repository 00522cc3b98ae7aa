import { Backoff, RetrySchedule } from "@bulwark/retry-schedules"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Random } from "effect"
import * as fc from "fast-check"

const millis = (delays: Array<Duration.Duration>) => delays.map(Duration.toMillis)
const steps = (n: number) => Array.from({ length: n }, (_, i) => i)

const delaysWithSeed = (options: Backoff.Options, n: number, seed: number) =>
  RetrySchedule.delays(Backoff.backoff(options), steps(n)).pipe(Effect.withRandom(Random.make(seed)), Effect.runSync)

describe("Backoff.backoff", () => {
  it.effect("none: exact capped exponential delays", () =>
    Effect.gen(function*() {
      const delays = yield* RetrySchedule.delays(Backoff.backoff({ jitter: "none" }), steps(8))
      expect(millis(delays)).toEqual([200, 400, 800, 1600, 3200, 6400, 10000, 10000])
      const tripled = yield* RetrySchedule.delays(
        Backoff.backoff({ base: "1 second", factor: 3, cap: "1 minute", jitter: "none" }),
        steps(5)
      )
      expect(millis(tripled)).toEqual([1000, 3000, 9000, 27000, 60000])
    }))

  it("each jitter kind stays within its bounds at every step over many seeds", () => {
    const base = 100
    const cap = 5000
    const ceiling = (n: number) => Math.min(cap, base * 2 ** n)
    for (let seed = 0; seed < 200; seed++) {
      const full = millis(delaysWithSeed({ base, cap, jitter: "full" }, 12, seed))
      const equal = millis(delaysWithSeed({ base, cap, jitter: "equal" }, 12, seed))
      const decorrelated = millis(delaysWithSeed({ base, cap, jitter: "decorrelated" }, 12, seed))
      full.forEach((d, n) => {
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(ceiling(n))
      })
      equal.forEach((d, n) => {
        expect(d).toBeGreaterThanOrEqual(ceiling(n) / 2)
        expect(d).toBeLessThanOrEqual(ceiling(n))
      })
      let previous = base
      decorrelated.forEach((d) => {
        expect(d).toBeGreaterThanOrEqual(base)
        expect(d).toBeLessThanOrEqual(Math.min(cap, Math.max(base, previous * 3)))
        previous = d
      })
    }
  })

  it("full jitter averages cap/2 where the cap binds (within 5%)", () => {
    const cap = 1000
    const samples: Array<number> = []
    for (let seed = 1; seed <= 400; seed++) {
      // From the 5th retry on, base * 2^n = 1600 > cap: every delay is uniform in [0, cap].
      samples.push(...millis(delaysWithSeed({ base: 100, cap, jitter: "full" }, 30, seed)).slice(5))
    }
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    expect(samples.length).toBe(10_000)
    expect(Math.abs(mean - cap / 2) / (cap / 2)).toBeLessThan(0.05)
  })

  it("is reproducible for a seed and varies across seeds", () => {
    const a = millis(delaysWithSeed({ jitter: "full" }, 5, 7))
    expect(millis(delaysWithSeed({ jitter: "full" }, 5, 7))).toEqual(a)
    expect(millis(delaysWithSeed({ jitter: "full" }, 5, 8))).not.toEqual(a)
  })

  it("rejects invalid options with a message naming them", () => {
    expect(() => Backoff.backoff({ base: "2 seconds", cap: "1 second" })).toThrow(
      /cap \(1000 ms\) must be at least base/
    )
    expect(() => Backoff.backoff({ factor: 0.5 })).toThrow(/factor must be a finite number >= 1/)
    expect(() => Backoff.backoff({ jitter: "bogus" as Backoff.Jitter })).toThrow(/jitter must be/)
  })

  it("property: for any seed and attempt count, no delay is negative or above its cap", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 80 }),
        fc.constantFrom<Backoff.Jitter>("none", "full", "equal", "decorrelated"),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (seed, attempts, jitter, base, extra, factor) => {
          const cap = base + extra
          const delays = millis(delaysWithSeed({ base, cap, jitter, factor }, attempts, seed))
          expect(delays).toHaveLength(attempts)
          for (const d of delays) {
            expect(d).toBeGreaterThanOrEqual(0)
            expect(d).toBeLessThanOrEqual(cap)
          }
        }
      ),
      { seed: 20261125, numRuns: 500 }
    )
  })
})
