import { ApiError } from "@bulwark/core-errors"
import { RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Random, Ref, TestClock } from "effect"

const at = { method: "GET", url: "https://api.example.com/v1/items" }

/** A server that fails each attempt with the given probability, drawn from a seeded Random. */
const makeServer = (failureRate: number) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const failures = yield* Ref.make(0)
    const call = Effect.gen(function*() {
      yield* Ref.update(attempts, (n) => n + 1)
      if ((yield* Random.next) < failureRate) {
        yield* Ref.update(failures, (n) => n + 1)
        return yield* Effect.fail(new ApiError.ServerError({ ...at, status: 503 }))
      }
      return "ok"
    })
    return { call, attempts: Ref.get(attempts), failures: Ref.get(failures) }
  })

/** Runs `calls` logical calls one after another under the standard policy and a shared budget. */
const runCalls = (failureRate: number, calls: number) =>
  Effect.gen(function*() {
    const server = yield* makeServer(failureRate)
    const budget = yield* RetryBudget.RetryBudget
    let succeeded = 0
    const all = Effect.forEach(
      Array.from({ length: calls }),
      () =>
        server.call.pipe(
          RetryBudget.retry(RetrySchedule.standard()),
          Effect.match({ onFailure: () => undefined, onSuccess: () => void succeeded++ })
        ),
      { discard: true }
    )
    const fiber = yield* Effect.fork(all)
    // Each call sleeps at most 3 backoffs of <= 10 s: a day of test time is plenty.
    yield* TestClock.adjust("1 day")
    yield* Fiber.join(fiber)
    return {
      attempts: yield* server.attempts,
      failures: yield* server.failures,
      succeeded,
      snapshot: yield* budget.snapshot
    }
  }).pipe(Effect.withRandom(Random.make(20261125)), Effect.provide(RetryBudget.layer()))

describe("RetryBudget", () => {
  it.effect("a full outage adds at most capacity / retryCost = 100 retries over 1,000 calls", () =>
    Effect.gen(function*() {
      const result = yield* runCalls(1, 1000)
      expect(result.succeeded).toBe(0)
      // Without a budget the standard policy would send 4,000 attempts.
      expect(result.attempts).toBeLessThanOrEqual(1000 + RetryBudget.defaults.capacity / RetryBudget.defaults.retryCost)
      expect(result.attempts).toBe(1100)
      expect(result.snapshot.tokens).toBe(0)
      expect(result.snapshot.retriesDenied).toBeGreaterThan(0)
    }))

  it.effect("a healthy client at 1% failures gets every failure retried", () =>
    Effect.gen(function*() {
      const result = yield* runCalls(0.01, 1000)
      expect(result.failures).toBeGreaterThan(0)
      expect(result.succeeded).toBe(1000)
      expect(result.snapshot.retriesDenied).toBe(0)
      expect(result.snapshot.retriesGranted).toBe(result.failures)
      expect(result.attempts).toBe(1000 + result.failures)
    }))

  it.effect("a 50% partial outage stays within 100 + 20% of successes in retries", () =>
    Effect.gen(function*() {
      const result = yield* runCalls(0.5, 1000)
      const retries = result.attempts - 1000
      expect(retries).toBeLessThanOrEqual(100 + 0.2 * result.snapshot.successes + 1)
    }))

  it.effect("timeouts cost more than other retries", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ capacity: 12 })
      const timeout = new ApiError.Timeout({ ...at, phase: "attempt" })
      expect(budget.costOf(timeout)).toBe(10)
      expect(budget.costOf(new ApiError.ServerError({ ...at, status: 500 }))).toBe(5)
      expect(yield* budget.tryAcquire(timeout)).toBe(true)
      expect(yield* budget.tryAcquire(timeout)).toBe(false)
      yield* budget.recordSuccess
      expect((yield* budget.snapshot).tokens).toBe(3)
    }))

  it.effect("concurrent retries never overdraw the bucket", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ capacity: 50 })
      const error = new ApiError.ServerError({ ...at, status: 500 })
      const granted = yield* Effect.all(Array.from({ length: 100 }, () => budget.tryAcquire(error)), {
        concurrency: "unbounded"
      })
      expect(granted.filter(Boolean)).toHaveLength(10)
      expect((yield* budget.snapshot).tokens).toBe(0)
    }))

  it("rejects invalid options", () => {
    expect(() => Effect.runSync(RetryBudget.make({ retryCost: -1 }))).toThrow(/retryCost must be a finite number >= 0/)
  })
})
