import { AccessToken, TokenProvider } from "@bulwark/auth-token"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Random, Schedule, TestClock } from "effect"
import { makeScriptedSource, unreachable } from "./scriptedSource.js"

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(42))

/** `n` fibers calling `get` every 50 ms for as long as the test's scope lives, ignoring failures. */
const hammer = (tokens: TokenProvider.Service, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) =>
      Effect.sleep(Duration.millis(i)).pipe(
        Effect.zipRight(Effect.either(tokens.get).pipe(Effect.repeat(Schedule.spaced("50 millis")))),
        Effect.forkScoped
      )
  )

/**
 * A burst of two, then one start per `millis` at most: any three consecutive starts span an interval, and
 * the n-th start is no earlier than n - 1 intervals after the first.
 */
const expectSpacedBy = (starts: ReadonlyArray<number>, millis: number) => {
  for (let i = 2; i < starts.length; i++) {
    expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(millis)
    expect(starts[i]! - starts[0]!).toBeGreaterThanOrEqual((i - 1) * millis)
  }
}

describe("TokenProvider fetch rate limit (minFetchInterval, default 1 s, a burst of two)", () => {
  it.scoped("1 ms tokens for 10 s with many concurrent gets make at most one fetch per second", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 millis")
      const tokens = yield* TokenProvider.make(script.source)
      yield* hammer(tokens, 20)
      yield* TestClock.adjust("10 seconds")
      const starts = yield* script.starts
      expect(starts.length).toBeGreaterThanOrEqual(10)
      expect(starts.length).toBeLessThanOrEqual(12)
      expectSpacedBy(starts, 1_000)
    })))

  it.scoped("invalidating on every call (1,000 calls in 1 s, a 401 storm) makes at most 3 fetches", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 hour")
      const tokens = yield* TokenProvider.make(script.source)
      // Ten calls every 10 ms: each gets a token, is "rejected" with a 401 and invalidates it.
      const call = Effect.tap(tokens.get, (token) => tokens.invalidate(token))
      const calls = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.sleep(Duration.millis(i * 10)).pipe(
            Effect.zipRight(Effect.all(Array.from({ length: 10 }, () => call), { concurrency: "unbounded" })),
            Effect.fork
          )
      )
      yield* TestClock.adjust("1 second")
      const got = (yield* Fiber.joinAll(calls)).flat()
      expect(got).toHaveLength(1_000)
      // Two at once (the burst), the third a second later: never a storm.
      expect(yield* script.fetches).toBeLessThanOrEqual(3)
    })))

  it.scoped("a source that fails at once is asked at most once per second, retries included", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 hour")
      yield* script.fail(unreachable)
      const tokens = yield* TokenProvider.make(script.source)
      yield* hammer(tokens, 20)
      yield* TestClock.adjust("10 seconds")
      const starts = yield* script.starts
      expect(starts.length).toBeLessThanOrEqual(12)
      expectSpacedBy(starts, 1_000)
    })))

  it.scoped("refresh and gets after invalidate wait for the next slot and share one fetch", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 hour")
      const tokens = yield* TokenProvider.make(script.source)
      yield* tokens.get
      // The burst of two: a refresh right after the first fetch goes at once.
      const first = yield* tokens.refresh
      expect(yield* script.fetches).toBe(2)
      yield* TestClock.adjust("200 millis")
      const refresh = yield* Effect.fork(tokens.refresh)
      yield* TestClock.adjust("300 millis")
      // Still usable: served at once, without waiting for the pending refresh.
      const served = yield* Effect.fork(tokens.get)
      yield* Effect.yieldNow()
      expect(Option.map(yield* Fiber.poll(served), (exit) => exit._tag)).toEqual(Option.some("Success"))
      yield* tokens.invalidate(first)
      const waiting = yield* Effect.fork(
        Effect.all(Array.from({ length: 100 }, () => tokens.get), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("499 millis")
      expect(yield* Fiber.poll(refresh)).toEqual(Option.none())
      expect(yield* script.fetches).toBe(2)
      yield* TestClock.adjust("1 millis")
      const refreshed = yield* Fiber.join(refresh)
      const all = yield* Fiber.join(waiting)
      expect(yield* script.fetches).toBe(3)
      expect(all.every((token) => AccessToken.sameValue(token, refreshed))).toBe(true)
      expect(AccessToken.sameValue(refreshed, first)).toBe(false)
    })))

  it.scoped("minFetchInterval sets the spacing; 0 turns the limit off", () =>
    seeded(Effect.gen(function*() {
      const slow = yield* makeScriptedSource("1 millis")
      const limited = yield* TokenProvider.make(slow.source, { minFetchInterval: "5 seconds" })
      yield* hammer(limited, 5)
      yield* TestClock.adjust("20 seconds")
      const starts = yield* slow.starts
      expect(starts.length).toBeLessThanOrEqual(6)
      expectSpacedBy(starts, 5_000)

      const free = yield* makeScriptedSource("1 hour")
      const unlimited = yield* TokenProvider.make(free.source, { minFetchInterval: 0 })
      yield* unlimited.get
      yield* unlimited.refresh
      yield* unlimited.refresh
      expect(yield* free.fetches).toBe(3)
    })))
})
