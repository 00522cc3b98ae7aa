import { SandboxConfig } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import type { Quota } from "../src/internal/config.js"
import { State } from "../src/internal/state.js"

// The quota decisions are plain functions of the state and a clock reading: checked here without HTTP, over
// many request sequences. The transports' suites (Quota.test.ts) check what a client sees of them.

const stateWith = (quota: NonNullable<SandboxConfig.Input["quota"]>) =>
  new State(Effect.runSync(SandboxConfig.decode({ quota })), 0)

const check = (state: State, now: number) => state.checkResourceQuota(state.policy.quota as Quota, "c", now)

/** Strictly increasing request times (whole milliseconds), as a clock gives them. */
const times = (max: number) =>
  fc.array(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 200 }).map((ts) => [...ts].sort((a, b) => a - b))

describe("token bucket", () => {
  it("never drifts: at exactly its rate, every request of a long run is allowed, and one more is not", () => {
    const state = stateWith({ limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 1 })
    // One request every 20 ms for 20 simulated minutes.
    for (let now = 0; now <= 20 * 60 * 1000; now += 20) {
      const result = check(state, now)
      if (!result.allowed) throw new Error(`refused at ${now} ms`)
      if (check(state, now).allowed) throw new Error(`a second request allowed at ${now} ms`)
    }
  })

  it("property: any window of time lets through at most burst + rate x time, and Retry-After is exact", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        times(5000),
        (limit, windowSeconds, burst, requests) => {
          const state = stateWith({ limit, windowSeconds, algorithm: "token-bucket", burst })
          const allowedAt: Array<number> = []
          for (const now of requests) {
            const result = check(state, now)
            expect(result.limit).toBe(burst)
            expect(result.remaining).toBeGreaterThanOrEqual(0)
            expect(result.remaining).toBeLessThanOrEqual(burst)
            expect(result.resetMs).toBeGreaterThanOrEqual(0)
            // Full again no later than burst tokens' worth of time.
            expect(result.resetMs).toBeLessThanOrEqual(burst * windowSeconds * 1000 / limit + 1e-6)
            if (result.allowed) {
              allowedAt.push(now)
            } else {
              expect(result.retryMs).toBeGreaterThan(0)
              expect(result.retryMs).toBeLessThanOrEqual(windowSeconds * 1000 / limit + 1e-6)
              expect(result.remaining).toBe(0)
            }
          }
          for (let i = 0; i < allowedAt.length; i++) {
            for (let j = i; j < allowedAt.length; j++) {
              const span = allowedAt[j]! - allowedAt[i]!
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor(span * limit / (windowSeconds * 1000) + 1e-9))
            }
          }
        }
      ),
      { seed: 11, numRuns: 300 }
    )
  })

  it("property: a refused request would be allowed exactly retryMs later", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 10_000 }),
        (limit, windowSeconds, burst, start) => {
          const state = stateWith({ limit, windowSeconds, algorithm: "token-bucket", burst })
          for (let i = 0; i < burst; i++) expect(check(state, start).allowed).toBe(true)
          const refused = check(state, start)
          expect(refused.allowed).toBe(false)
          const at = start + refused.retryMs
          if (Number.isInteger(refused.retryMs) && refused.retryMs > 1) {
            expect(check(state, at - 1).allowed).toBe(false)
          }
          expect(check(state, Math.ceil(at)).allowed).toBe(true)
        }
      ),
      { seed: 12, numRuns: 300 }
    )
  })

  it("keeps the tokens left, not their unit, when its quota is switched at run time", () => {
    const state = stateWith({ limit: 6, windowSeconds: 60, algorithm: "token-bucket", burst: 3 })
    expect(check(state, 0).remaining).toBe(2)
    state.setPolicy(
      { ...state.policy, quota: { limit: 20, windowSeconds: 1, algorithm: "token-bucket", burst: 10 } },
      0
    )
    // Two tokens left, whatever the new window: one is taken, one remains.
    expect(check(state, 0).remaining).toBe(1)
  })
})

describe("fixed windows", () => {
  it("property: windows shifted by alignMillis: at most limit per window, reset at the next boundary", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        times(60_000),
        (limit, windowSeconds, shift, requests) => {
          const windowMs = windowSeconds * 1000
          const alignMillis = Math.floor(shift * windowMs)
          const state = stateWith({ limit, windowSeconds, alignMillis })
          const perWindow = new Map<number, number>()
          for (const now of requests) {
            const result = check(state, now)
            const end = now + result.resetMs
            // The reset is the next boundary: a multiple of the window past alignMillis, within one window.
            expect(((end - alignMillis) % windowMs + windowMs) % windowMs).toBe(0)
            expect(result.resetMs).toBeGreaterThan(0)
            expect(result.resetMs).toBeLessThanOrEqual(windowMs)
            expect(result.retryMs).toBe(result.resetMs)
            if (result.allowed) perWindow.set(end, (perWindow.get(end) ?? 0) + 1)
          }
          for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(limit)
        }
      ),
      { seed: 13, numRuns: 300 }
    )
  })

  it("without alignMillis, windows are aligned on the epoch as before", () => {
    const state = stateWith({ limit: 1, windowSeconds: 10 })
    expect(check(state, 4_000)).toEqual({ allowed: true, limit: 1, remaining: 0, resetMs: 6_000, retryMs: 6_000 })
    expect(check(state, 9_999).allowed).toBe(false)
    expect(check(state, 10_000).allowed).toBe(true)
  })
})
