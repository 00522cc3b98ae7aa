import { ApiError, RetryAfter } from "@bulwark/core-errors"
import { Backoff, Deadline, RetrySchedule } from "@bulwark/retry-schedules"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Random, Ref, Schedule, TestClock } from "effect"

const at = { method: "GET", url: "https://api.example.com/v1/items" }
const serverError = (status = 503) => new ApiError.ServerError({ ...at, status })
const rateLimited = (retryAfter?: Duration.Duration) => new ApiError.RateLimited({ ...at, status: 429, retryAfter })
const millis = (delays: Array<Duration.Duration>) => delays.map(Duration.toMillis)
const exact = Backoff.backoff({ jitter: "none" }) // 200, 400, 800, 1600, 3200 ms

/** Fails with the given errors in turn, then succeeds; counts attempts. */
const scripted = (errors: ReadonlyArray<ApiError.ApiError>) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const call = Ref.getAndUpdate(attempts, (n) => n + 1).pipe(
      Effect.flatMap((n) => n < errors.length ? Effect.fail(errors[n]!) : Effect.succeed("ok"))
    )
    return { call, attempts: Ref.get(attempts) }
  })

describe("RetrySchedule.honorRetryAfter", () => {
  it.effect("waits max(backoff, Retry-After) for Retry-After given in seconds", () =>
    Effect.gen(function*() {
      const schedule = RetrySchedule.honorRetryAfter(exact)
      const delays = yield* RetrySchedule.delays(schedule, [
        rateLimited(Duration.seconds(3)), // larger than the 200 ms backoff
        serverError(), // no Retry-After: 400 ms
        rateLimited(Duration.millis(100)), // smaller than the 800 ms backoff
        rateLimited(Duration.zero)
      ])
      expect(millis(delays)).toEqual([3000, 400, 800, 1600])
    }))

  it.effect("reads an HTTP-date Retry-After relative to the Clock", () =>
    Effect.gen(function*() {
      const now = Date.parse("2026-11-25T10:00:00Z")
      const wait = RetryAfter.parse("Wed, 25 Nov 2026 10:00:05 GMT", now)
      const error = new ApiError.ServerError({ ...at, status: 503, retryAfter: Option.getOrUndefined(wait) })
      const delays = yield* RetrySchedule.delays(RetrySchedule.honorRetryAfter(exact), [error], now)
      expect(millis(delays)).toEqual([5000])
    }))

  it.effect("a RateLimited carrying retryAt waits until that instant", () =>
    Effect.gen(function*() {
      const error = new ApiError.RateLimited({ ...at, status: 429, retryAt: 7_500 })
      const delays = yield* RetrySchedule.delays(RetrySchedule.honorRetryAfter(exact), [error], 1_000)
      expect(millis(delays)).toEqual([6500])
    }))

  it.effect("stops above maxRetryAfter and surfaces the original error", () =>
    Effect.gen(function*() {
      const tooLong = rateLimited(Duration.minutes(2))
      const { attempts, call } = yield* scripted([tooLong, tooLong])
      const fiber = yield* Effect.fork(
        call.pipe(Effect.retry(RetrySchedule.honorRetryAfter(exact, { maxRetryAfter: "1 minute" })))
      )
      yield* TestClock.adjust("10 minutes")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toBe(tooLong)
      expect(yield* attempts).toBe(1)
    }))

  it.effect("a custom reader works on any input", () =>
    Effect.gen(function*() {
      const schedule = RetrySchedule.honorRetryAfter(exact, {
        read: (input: { readonly wait?: number }) =>
          input.wait === undefined ? Option.none() : Option.some(Duration.seconds(input.wait))
      })
      const delays = yield* RetrySchedule.delays(schedule, [{ wait: 2 }, {}, { wait: 90 }])
      expect(millis(delays)).toEqual([2000, 400])
    }))
})

describe("RetrySchedule.withDeadline", () => {
  it.effect("does not start the delay that would cross the deadline", () =>
    Effect.gen(function*() {
      // Delays 200, 400, 800, 1600: ends at 200, 600, 1400, 3000 ms. A 2 s deadline allows three.
      const delays = yield* RetrySchedule.delays(RetrySchedule.withDeadline(exact, { deadline: 2000 }), [1, 2, 3, 4, 5])
      expect(millis(delays)).toEqual([200, 400, 800])
      const reserved = yield* RetrySchedule.delays(
        RetrySchedule.withDeadline(exact, { deadline: 2000, reserve: "700 millis" }),
        [1, 2, 3, 4, 5]
      )
      expect(millis(reserved)).toEqual([200, 400])
    }))

  it.effect("honours the ambient Deadline, the earliest one winning", () =>
    Effect.gen(function*() {
      const { attempts, call } = yield* scripted(Array.from({ length: 10 }, () => serverError()))
      const policy = exact.pipe(RetrySchedule.withDeadline())
      const fiber = yield* Effect.fork(
        call.pipe(Effect.retry(policy), Deadline.within("1 second"), Deadline.within("1 minute"))
      )
      yield* TestClock.adjust("1 minute")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("ServerError")
      // Attempts at 0, 200 and 600 ms; the next wait would end at 1400 ms, past the 1 s deadline.
      expect(yield* attempts).toBe(3)
    }))

  it.effect("Deadline.remaining reports the time left", () =>
    Effect.gen(function*() {
      expect(yield* Deadline.remaining).toEqual(Option.none())
      const left = yield* Deadline.remaining.pipe(
        Effect.delay("3 seconds"),
        Deadline.within("10 seconds"),
        Effect.fork
      )
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(left)).toEqual(Option.some(Duration.seconds(7)))
    }))

  it.effect("withTimeBudget counts from the first failure", () =>
    Effect.gen(function*() {
      const delays = yield* RetrySchedule.delays(
        RetrySchedule.withTimeBudget(exact, "1500 millis"),
        [1, 2, 3, 4],
        10_000
      )
      expect(millis(delays)).toEqual([200, 400, 800])
    }))
})

describe("RetrySchedule.standard", () => {
  it.effect("retries 5xx, timeouts and network errors, then succeeds", () =>
    Effect.gen(function*() {
      const { attempts, call } = yield* scripted([
        serverError(502),
        new ApiError.Timeout({ ...at, phase: "headers" }),
        new ApiError.NetworkError({ ...at, reason: "Transport", sent: false })
      ])
      const fiber = yield* Effect.fork(call.pipe(Effect.retry(RetrySchedule.standard())))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* attempts).toBe(4)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("gives up after maxRetries with the last error", () =>
    Effect.gen(function*() {
      const { attempts, call } = yield* scripted(Array.from({ length: 10 }, () => serverError()))
      const fiber = yield* Effect.fork(call.pipe(Effect.retry(RetrySchedule.standard({ maxRetries: 2 }))))
      yield* TestClock.adjust("1 minute")
      expect((yield* Effect.flip(Fiber.join(fiber)))._tag).toBe("ServerError")
      expect(yield* attempts).toBe(3)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("never retries fail or refresh-auth errors", () =>
    Effect.gen(function*() {
      for (
        const error of [
          new ApiError.BadRequest({ ...at, status: 400 }),
          new ApiError.Forbidden({ ...at, status: 403 }),
          new ApiError.Unauthorized({ ...at, status: 401 }),
          new ApiError.InvalidResponse({ ...at, status: 200, problem: "x" }),
          new ApiError.Timeout({ ...at, phase: "deadline" })
        ]
      ) {
        const { attempts, call } = yield* scripted([error])
        const result = yield* Effect.flip(call.pipe(Effect.retry(RetrySchedule.standard())))
        expect(result).toBe(error)
        expect(yield* attempts).toBe(1)
      }
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("waits for a 429's Retry-After even when it exceeds the backoff cap", () =>
    Effect.gen(function*() {
      const { attempts, call } = yield* scripted([rateLimited(Duration.seconds(30))])
      const fiber = yield* Effect.fork(call.pipe(Effect.retry(RetrySchedule.standard())))
      yield* TestClock.adjust("29 seconds")
      expect(yield* attempts).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* attempts).toBe(2)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("counts rate limits apart from transient failures", () =>
    Effect.gen(function*() {
      // 3 transient retries and up to 10 rate-limit retries, in any interleaving.
      const mixed = [
        ...Array.from({ length: 6 }, () => rateLimited(Duration.seconds(1))),
        serverError(),
        serverError(),
        ...Array.from({ length: 4 }, () => rateLimited(Duration.seconds(1))),
        serverError()
      ]
      const { attempts, call } = yield* scripted(mixed)
      const fiber = yield* Effect.fork(call.pipe(Effect.retry(RetrySchedule.standard())))
      yield* TestClock.adjust("5 minutes")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* attempts).toBe(14)
      const tooMany = yield* scripted(Array.from({ length: 12 }, () => rateLimited(Duration.seconds(1))))
      const limited = yield* Effect.fork(tooMany.call.pipe(Effect.retry(RetrySchedule.standard())))
      yield* TestClock.adjust("5 minutes")
      expect((yield* Effect.flip(Fiber.join(limited)))._tag).toBe("RateLimited")
      expect(yield* tooMany.attempts).toBe(11)
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("composes with Schedule combinators", () =>
    Effect.gen(function*() {
      const policy = RetrySchedule.standard().pipe(Schedule.compose(Schedule.recurs(1)))
      const { attempts, call } = yield* scripted(Array.from({ length: 5 }, () => serverError()))
      const fiber = yield* Effect.fork(call.pipe(Effect.retry(policy)))
      yield* TestClock.adjust("1 minute")
      yield* Effect.flip(Fiber.join(fiber))
      expect(yield* attempts).toBe(2)
    }).pipe(Effect.withRandom(Random.make(42))))
})
