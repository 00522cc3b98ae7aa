import { TokenProvider } from "@bulwark/auth-token"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Random, TestClock } from "effect"
import { makeScriptedSource } from "./scriptedSource.js"

const seeded = (seed: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withRandom(effect, Random.make(seed))

/**
 * The README's table: when the background refresh of a token runs, with the default options (ratio 0.8,
 * jitter 0.05, lead 60 s shrinking to 20% of short lifetimes).
 */
const table: ReadonlyArray<{ readonly lifetime: Duration.DurationInput; readonly from: number; readonly to: number }> =
  [
    { lifetime: "5 seconds", from: 3_750, to: 4_000 },
    { lifetime: "60 seconds", from: 45_000, to: 48_000 },
    { lifetime: "5 minutes", from: 225_000, to: 240_000 },
    { lifetime: "1 hour", from: 45 * 60_000, to: 51 * 60_000 },
    { lifetime: "24 hours", from: 18 * 3_600_000, to: 20.4 * 3_600_000 }
  ]

describe("TokenProvider refresh timing", () => {
  for (const row of table) {
    for (const seed of [1, 2, 3]) {
      it.scoped(`a ${Duration.format(Duration.decode(row.lifetime))} token is refreshed between ${row.from} and ${row.to} ms (seed ${seed})`, () =>
        seeded(seed)(Effect.gen(function*() {
          const script = yield* makeScriptedSource(row.lifetime)
          const tokens = yield* TokenProvider.make(script.source)
          yield* tokens.get
          yield* TestClock.adjust(Duration.millis(row.from - 1))
          expect(yield* script.fetches).toBe(1)
          yield* TestClock.adjust(Duration.millis(row.to - row.from + 1))
          expect(yield* script.fetches).toBe(2)
        })))
    }
  }

  it.scoped("5-second tokens over 100 s cost about 25 token requests (1.25-1.3 per lifetime), not 40", () =>
    seeded(2026)(Effect.gen(function*() {
      const script = yield* makeScriptedSource("5 seconds")
      const tokens = yield* TokenProvider.make(script.source)
      yield* tokens.get
      yield* TestClock.adjust("100 seconds")
      const starts = yield* script.starts
      expect(starts.length).toBeGreaterThanOrEqual(25)
      expect(starts.length).toBeLessThanOrEqual(28)
      // Every refresh ran at 75-80% of the previous token's life, never at half of it.
      for (let i = 1; i < starts.length; i++) {
        expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(3_750)
        expect(starts[i]! - starts[i - 1]!).toBeLessThanOrEqual(4_000)
      }
      // And the token handed out is always the current one, with time to spare.
      const token = yield* tokens.get
      expect(token.expiresAt - 100_000).toBeGreaterThan(500)
    })))

  it.scoped("refreshBeforeExpiry caps the jitter of a long token whose refresh would come too late", () =>
    Effect.gen(function*() {
      // 90% ± 9% of an hour is 48:36-59:24; at the latest 5 min before expiry: 55:00.
      const at: Array<number> = []
      for (let seed = 1; seed <= 10; seed++) {
        yield* seeded(seed)(Effect.scoped(Effect.gen(function*() {
          const script = yield* makeScriptedSource("1 hour")
          const tokens = yield* TokenProvider.make(script.source, {
            refreshRatio: 0.9,
            refreshJitter: 0.09,
            refreshBeforeExpiry: "5 minutes"
          })
          const token = yield* tokens.get
          yield* TestClock.adjust("1 hour")
          at.push((yield* script.starts)[1]! - token.issuedAt)
        })))
      }
      expect(Math.min(...at)).toBeGreaterThanOrEqual(48.6 * 60_000)
      expect(Math.max(...at)).toBe(55 * 60_000)
    }))
})
