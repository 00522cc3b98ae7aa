import { RetryBudget } from "@bulwark/retry-schedules"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, TestClock } from "effect"
import * as Hedge from "../src/internal/hedge.js"

/** An attempt that answers `value` after `millis` (virtual time), recording its start, end or cancellation. */
const attemptLog = () => {
  const events: Array<string> = []
  const make = (index: number, millis: number, outcome: "ok" | "fail" = "ok") =>
    Effect.sleep(millis).pipe(
      Effect.zipRight(outcome === "ok" ? Effect.succeed(`answer ${index}`) : Effect.fail(`error ${index}`)),
      Effect.onInterrupt(() => Effect.sync(() => void events.push(`cancelled ${index}`))),
      Effect.tap(() => Effect.sync(() => void events.push(`answered ${index}`))),
      Effect.tapError(() => Effect.sync(() => void events.push(`failed ${index}`))),
      (effect) => Effect.zipRight(Effect.sync(() => void events.push(`sent ${index}`)), effect)
    )
  return { events, make }
}

describe("hedged attempts under TestClock", () => {
  it.effect("a slow first attempt: one hedge after the delay, the first success wins, the loser is cancelled", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const latencies: Array<number> = []
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, index === 0 ? 2_000 : 30),
        delayMillis: 100,
        maxHedges: 1,
        mayHedge: () => Effect.succeed(true),
        onLatency: (millis) => void latencies.push(millis)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(99)
      expect(events).toEqual(["sent 0"])
      yield* TestClock.adjust(1)
      expect(events).toEqual(["sent 0", "sent 1"])
      yield* TestClock.adjust(30)
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
      yield* Effect.yieldNow()
      expect(events).toEqual(["sent 0", "sent 1", "answered 1", "cancelled 0"])
      // The winner's latency, and the loser's time so far (a lower bound of its latency).
      expect(latencies).toEqual([30, 130])
    }))

  it.effect("a fast first attempt sends no hedge", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, 50),
        delayMillis: 100,
        maxHedges: 2,
        mayHedge: () => Effect.succeed(true)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(1_000)
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(events).toEqual(["sent 0", "answered 0"])
    }))

  it.effect("no hedge when mayHedge refuses (budget dry, not eligible): the first attempt is awaited", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const asked: Array<number> = []
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, 2_000),
        delayMillis: 100,
        maxHedges: 3,
        mayHedge: (sent) => Effect.sync(() => void asked.push(sent)).pipe(Effect.as(false))
      }).pipe(Effect.fork)
      yield* TestClock.adjust(2_000)
      expect(yield* Fiber.join(fiber)).toBe("answer 0")
      expect(events).toEqual(["sent 0", "answered 0"])
      expect(asked).toEqual([0])
    }))

  it.effect("hedges are spaced by the delay, up to maxHedges; a failure waits for the others", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const fiber = yield* Hedge.race({
        attempt: (index) => index === 1 ? make(index, 10, "fail") : make(index, index === 0 ? 5_000 : 500),
        delayMillis: 100,
        maxHedges: 2,
        mayHedge: () => Effect.succeed(true)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(100)
      yield* TestClock.adjust(10)
      expect(events).toEqual(["sent 0", "sent 1", "failed 1"])
      yield* TestClock.adjust(90)
      expect(events).toContain("sent 2")
      yield* TestClock.adjust(500)
      expect(yield* Fiber.join(fiber)).toBe("answer 2")
    }))

  it.effect("every attempt in flight failed: the group fails at once with the latest failure, no hedge", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, 10, "fail"),
        delayMillis: 100,
        maxHedges: 1,
        mayHedge: () => Effect.succeed(true)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(10)
      const exit = yield* Fiber.await(fiber)
      expect(exit).toEqual(Exit.fail("error 0"))
      expect(events).toEqual(["sent 0", "failed 0"])
    }))

  it.effect("the caller giving up cancels every attempt", () =>
    Effect.gen(function*() {
      const { events, make } = attemptLog()
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, 10_000),
        delayMillis: 100,
        maxHedges: 1,
        mayHedge: () => Effect.succeed(true)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(150)
      yield* Fiber.interrupt(fiber)
      yield* Effect.yieldNow()
      expect(events).toEqual(["sent 0", "sent 1", "cancelled 0", "cancelled 1"])
    }))

  it.effect("budget accounting: each hedge takes a retry's cost; a dry budget sends none", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ capacity: 12, retryCost: 5, successRefill: 0 })
      const { make } = attemptLog()
      const run = Hedge.race({
        attempt: (index) => make(index, index === 0 ? 1_000 : 10),
        delayMillis: 100,
        maxHedges: 1,
        mayHedge: () => budget.tryAcquire("hedge")
      })
      for (let i = 0; i < 3; i++) {
        const fiber = yield* Effect.fork(run)
        yield* TestClock.adjust(1_000)
        yield* Fiber.join(fiber)
      }
      const snapshot = yield* budget.snapshot
      expect(snapshot.retriesGranted).toBe(2)
      expect(snapshot.retriesDenied).toBe(1)
      expect(snapshot.tokens).toBe(2)
    }))

  it.effect("a gate that answers later: the gate's result is awaited after the delay", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<boolean>()
      const { events, make } = attemptLog()
      const fiber = yield* Hedge.race({
        attempt: (index) => make(index, index === 0 ? 1_000 : 10),
        delayMillis: 100,
        maxHedges: 1,
        mayHedge: () => Deferred.await(gate)
      }).pipe(Effect.fork)
      yield* TestClock.adjust(200)
      expect(events).toEqual(["sent 0"])
      yield* Deferred.succeed(gate, true)
      yield* TestClock.adjust(10)
      expect(yield* Fiber.join(fiber)).toBe("answer 1")
    }))
})
