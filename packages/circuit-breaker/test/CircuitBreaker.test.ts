import { CircuitBreaker, CircuitOpen } from "@bulwark/circuit-breaker"
import { ApiError } from "@bulwark/core-errors"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Fiber, Random, Ref, Stream, TestClock } from "effect"

const at = { method: "GET", url: "https://api.example.com/v1/items" }
const serverError = (retryAfter?: Duration.Duration) => new ApiError.ServerError({ ...at, status: 503, retryAfter })
const KEY = "https://api.example.com"

/** A call that fails with a 503 with the given probability (seeded Random) and counts its runs. */
const makeCall = (failureRate: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const runs = yield* Ref.make(0)
    const call = Effect.gen(function*() {
      yield* Ref.update(runs, (n) => n + 1)
      if ((yield* Random.next) < (yield* Ref.get(failureRate))) return yield* Effect.fail(serverError())
      return "ok"
    })
    return { call, runs: Ref.get(runs) }
  })

/** Runs `n` calls one after another, `spacing` apart on the TestClock (moved every `every` calls). */
const drive = <A, E, R>(n: number, spacing: Duration.DurationInput, effect: Effect.Effect<A, E, R>, every = 1) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
    (i + 1) % every === 0
      ? Effect.zipLeft(Effect.either(effect), TestClock.adjust(Duration.times(Duration.decode(spacing), every)))
      : Effect.either(effect))

describe("CircuitBreaker", () => {
  it.scoped("1% random failures over 10,000 calls never open it", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make()
      const rate = yield* Ref.make(0.01)
      const { call, runs } = yield* makeCall(rate)
      // 10,000 calls over 100 s of test time: 100 calls every second, so the 30 s window holds 3,000.
      const results = yield* drive(10_000, "10 millis", breaker.protect(KEY, call), 100)
      expect(yield* runs).toBe(10_000)
      expect(results.filter((r) => r._tag === "Left" && CircuitOpen.isCircuitOpen(r.left))).toHaveLength(0)
      expect((yield* breaker.state(KEY)).state).toBe("closed")
      const failures = results.filter((r) => r._tag === "Left").length
      expect(failures).toBeGreaterThan(50) // the noise really was there
    }).pipe(Effect.withRandom(Random.make(1))))

  it.scoped("a 100% outage opens it within the window, then calls fail fast without running", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make()
      const { call, runs } = yield* makeCall(yield* Ref.make(1))
      const results = yield* drive(300, "10 millis", breaker.protect(KEY, call))
      expect(yield* runs).toBe(100)
      const firstOpen = results.findIndex((r) => r._tag === "Left" && CircuitOpen.isCircuitOpen(r.left))
      expect(firstOpen).toBe(100)
      const rejected = results[firstOpen]!
      expect(rejected._tag === "Left" && CircuitOpen.isCircuitOpen(rejected.left) && rejected.left.retryAt).toBe(
        990 + 5000
      )
      expect(rejected._tag === "Left" && rejected.left.message).toContain("half-opens at")
    }).pipe(Effect.withRandom(Random.make(2))))

  it.scoped("half-open: a successful probe closes it; a failed one re-opens it for twice as long", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ minimumThroughput: 10, breakDuration: "5 seconds" })
      const rate = yield* Ref.make(1)
      const { call, runs } = yield* makeCall(rate)
      yield* drive(10, "10 millis", breaker.protect(KEY, call))
      expect((yield* breaker.state(KEY)).state).toBe("open")
      yield* TestClock.adjust("5 seconds")
      // The probe fails: open again, for 10 s.
      yield* Effect.either(breaker.protect(KEY, call))
      const reopened = yield* breaker.state(KEY)
      expect(reopened.state).toBe("open")
      yield* TestClock.adjust("9 seconds")
      expect((yield* Effect.flip(breaker.protect(KEY, call)))._tag).toBe("CircuitOpen")
      yield* TestClock.adjust("1 second")
      yield* Ref.set(rate, 0)
      expect(yield* breaker.protect(KEY, call)).toBe("ok")
      expect((yield* breaker.state(KEY)).state).toBe("closed")
      expect(yield* runs).toBe(12)
    }).pipe(Effect.withRandom(Random.make(3))))

  it.scoped("many fibers while half-open: only the configured probes go through", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ minimumThroughput: 10, halfOpenProbes: 2 })
      yield* drive(10, "10 millis", breaker.protect(KEY, Effect.fail(serverError())))
      yield* TestClock.adjust("5 seconds")
      const gate = yield* Deferred.make<void>()
      const started = yield* Ref.make(0)
      const probe = Effect.zipRight(Ref.update(started, (n) => n + 1), Deferred.await(gate))
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.fork(Effect.either(breaker.protect(KEY, probe))))
      yield* Effect.yieldNow()
      expect(yield* Ref.get(started)).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      expect(results.filter((r) =>
        r._tag === "Right"
      )).toHaveLength(2)
      expect(results.filter((r) => r._tag === "Left" && r.left.state === "half-open")).toHaveLength(48)
      expect((yield* breaker.state(KEY)).state).toBe("closed")
    }))

  it.scoped("a 503 with Retry-After is load shedding: by default it never opens the breaker", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ minimumThroughput: 10 })
      yield* drive(30, "10 millis", breaker.protect(KEY, Effect.fail(serverError(Duration.seconds(2)))))
      expect(yield* breaker.state(KEY)).toMatchObject({ state: "closed", failures: 0 })
    }))

  it.scoped("counted as a failure (isFailure), a 503's Retry-After extends the break, within the cap", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        minimumThroughput: 10,
        maxRetryAfter: "20 seconds",
        isFailure: () => true
      })
      yield* drive(10, "10 millis", breaker.protect(KEY, Effect.fail(serverError(Duration.minutes(5)))))
      const view = yield* breaker.state(KEY)
      expect(view.state).toBe("open")
      expect(view.until! - 90).toBe(20_000)
    }))

  it.scoped("4xx never counts as a failure", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ minimumThroughput: 10 })
      const errors = [
        new ApiError.BadRequest({ ...at, status: 400 }),
        new ApiError.RateLimited({ ...at, status: 429 }),
        new ApiError.NotFound({ ...at, status: 404 }),
        new ApiError.Timeout({ ...at, phase: "deadline" })
      ]
      for (const error of errors) yield* drive(30, "10 millis", breaker.protect(KEY, Effect.fail(error)))
      const view = yield* breaker.state(KEY)
      expect(view).toMatchObject({ state: "closed", failures: 0 })
    }))

  it.scoped("keys are independent", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ minimumThroughput: 10 })
      yield* drive(10, "10 millis", breaker.protect("a", Effect.fail(serverError())))
      expect((yield* breaker.state("a")).state).toBe("open")
      expect(yield* breaker.protect("b", Effect.succeed(1))).toBe(1)
    }))

  it.scoped("transitions are a stream, and the withBreaker combinator uses the service", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.CircuitBreaker
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(breaker.transitions, 3)))
      yield* Effect.yieldNow()
      yield* drive(10, "10 millis", Effect.fail(serverError()).pipe(CircuitBreaker.withBreaker(KEY)))
      yield* TestClock.adjust("5 seconds")
      yield* Effect.succeed(1).pipe(CircuitBreaker.withBreaker(KEY))
      const events = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(events.map((e) => `${e.from}->${e.to}`)).toEqual(["closed->open", "open->half-open", "half-open->closed"])
    }).pipe(Effect.provide(CircuitBreaker.layer({ minimumThroughput: 10 }))))

  it("rejects invalid options", () => {
    expect(() => Effect.runSync(Effect.scoped(CircuitBreaker.make({ failureRatio: 0 })))).toThrow(/failureRatio/)
    expect(() => Effect.runSync(Effect.scoped(CircuitBreaker.make({ halfOpenProbes: 0.5 })))).toThrow(/halfOpenProbes/)
  })
})
