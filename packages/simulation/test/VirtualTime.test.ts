import { VirtualTime } from "@bulwark/simulation"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Random, Schedule } from "effect"

const now = Clock.currentTimeMillis

describe("VirtualTime", () => {
  it.live("a day of sleeping takes no real time, and starts at the given instant", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const result = yield* VirtualTime.run(
        Effect.gen(function*() {
          const start = yield* now
          yield* Effect.sleep("1 day")
          return { start, elapsed: (yield* now) - start }
        }),
        { startAt: 1_000 }
      )
      expect(result).toEqual({ start: 1_000, elapsed: 86_400_000 })
      expect(Date.now() - started).toBeLessThan(1_000)
    }))

  it.live("timers wake in time order, ties in the order they were set, across forked fibers", () =>
    Effect.gen(function*() {
      const order = yield* VirtualTime.run(
        Effect.gen(function*() {
          const log: Array<string> = []
          const at = (name: string, ms: number) =>
            Effect.sleep(ms).pipe(Effect.zipRight(now), Effect.map((t) => log.push(`${name}@${t}`)))
          yield* Effect.all([at("c", 30), at("a", 10), at("b", 10), at("d", 5)], { concurrency: "unbounded" })
          return log
        }),
        { startAt: 0 }
      )
      expect(order).toEqual(["d@5", "a@10", "b@10", "c@30"])
    }))

  it.live("timeouts, retries with backoff and interrupted sleeps behave as on the live clock", () =>
    Effect.gen(function*() {
      const result = yield* VirtualTime.run(
        Effect.gen(function*() {
          const timedOut = yield* Effect.never.pipe(Effect.timeout("5 seconds"), Effect.either)
          let attempts = 0
          const retried = yield* Effect.suspend(() => ++attempts < 4 ? Effect.fail("boom") : now).pipe(
            Effect.retry(Schedule.exponential("100 millis"))
          )
          // A sleep interrupted long before it is due does not hold the clock back.
          const sleeper = yield* Effect.fork(Effect.sleep("10 hours"))
          yield* Effect.sleep("1 second")
          yield* Fiber.interrupt(sleeper)
          return { timedOut: timedOut._tag, retried, end: yield* now }
        }),
        { startAt: 0 }
      )
      expect(result).toEqual({ timedOut: "Left", retried: 5_000 + 100 + 200 + 400, end: 5_700 + 1_000 })
    }))

  it.live("the same seeded program gives the same interleaving, run after run", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const log: Array<string> = []
        yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) =>
          Effect.gen(function*() {
            yield* Effect.sleep(yield* Random.nextIntBetween(0, 1_000))
            yield* Effect.yieldNow()
            log.push(`${i}@${yield* now}`)
          }), { concurrency: "unbounded", discard: true })
        return log.join(",")
      })
      // A fresh generator per run: `Random.make` is stateful.
      const seeded = Effect.suspend(() => Effect.withRandom(program, Random.make(7)))
      const first = yield* VirtualTime.run(seeded, { slice: 10 })
      const second = yield* VirtualTime.run(seeded)
      expect(first).toBe(second)
    }))

  it.live("a program waiting on nothing fails with Deadlock instead of hanging", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(VirtualTime.run(
        Effect.flatMap(Deferred.make<void>(), (deferred) =>
          Effect.sleep("1 minute").pipe(Effect.zipRight(Deferred.await(deferred)))),
        { startAt: 0 }
      ))
      expect(error).toBeInstanceOf(VirtualTime.Deadlock)
      expect(error.message).toContain("1970-01-01T00:01:00.000Z")
    }))

  it.live("interrupting the run stops the program and runs its finalizers", () =>
    Effect.gen(function*() {
      let finalized = false
      const fiber = yield* Effect.fork(VirtualTime.run(
        Effect.forever(Effect.sleep("1 millis")).pipe(Effect.ensuring(Effect.sync(() => {
          finalized = true
        }))),
        { slice: 100 }
      ))
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      expect(finalized).toBe(true)
    }))
})
