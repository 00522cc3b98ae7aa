import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
import * as traffic from "../src/internal/traffic.js"
import * as TrafficControl from "../src/internal/trafficControl.js"

// The controller's decisions over plain values, then its Effect shell under TestClock.

const settings = traffic.defaultSettings
const accepted: traffic.Answer = { kind: "accepted" }

describe("traffic decisions", () => {
  it("a Retry-After is a floor for every later request, and release is paced after it", () => {
    const origin = traffic.makeOrigin(settings)
    const t1 = traffic.take(origin, 0)
    traffic.onAnswer(origin, t1, { kind: "rate-limited", retryAfterMillis: 2_000 }, 100, settings)
    expect(traffic.eligibleAt(origin, 150)).toBe(2_100)
    // A 429 to a request of an older epoch still honours its own Retry-After, without re-learning.
    const stale = { ...t1 }
    traffic.onAnswer(origin, stale, { kind: "rate-limited", retryAfterMillis: 3_000 }, 200, settings)
    expect(traffic.eligibleAt(origin, 250)).toBe(3_200)
  })

  it("learns the rate of a fixed window from 429 episodes and paces below it", () => {
    // A quota of 50 per second, windows aligned to the second; the client sends as fast as it can.
    const origin = traffic.makeOrigin(settings)
    let now = 0
    let used = 0
    let windowStart = 0
    let rejected = 0
    for (let step = 0; step < 20_000 && now < 10_000; step++) {
      const at = traffic.eligibleAt(origin, now)
      now = Math.max(now, at)
      if (Math.floor(now / 1000) * 1000 !== windowStart) {
        windowStart = Math.floor(now / 1000) * 1000
        used = 0
      }
      const ticket = traffic.take(origin, now)
      if (used < 50) {
        used++
        traffic.onAnswer(origin, ticket, accepted, now + 5, settings)
        traffic.noteQueued(origin) // demand is always there
      } else {
        rejected++
        const retryAfterMillis = Math.ceil((windowStart + 1000 - now) / 1000) * 1000
        traffic.onAnswer(origin, ticket, { kind: "rate-limited", retryAfterMillis }, now + 5, settings)
      }
      now += 1
    }
    // The pace settles below 50/s and the 429s stop.
    expect(traffic.ratePerSecond(origin)).toBeGreaterThan(30)
    expect(traffic.ratePerSecond(origin)).toBeLessThanOrEqual(50)
    expect(rejected).toBeLessThan(12)
  })

  it("paces at an advertised policy's rate less the reserve; with only a count, spreads it until the reset", () => {
    const origin = traffic.makeOrigin(settings)
    const ticket = traffic.take(origin, 0)
    traffic.onAnswer(
      origin,
      ticket,
      {
        kind: "accepted",
        quota: { remaining: 99, resetAt: 10_000, limit: 100, windowMillis: 10_000, source: "draft" }
      },
      0,
      settings
    )
    // 100 per 10 s less 1.5%: one request every ~101.5 ms, so a window never receives more than its quota.
    expect(origin.interval).toBeCloseTo(10_000 / (100 * (1 - settings.reserve)), 5)

    const counted = traffic.makeOrigin(settings)
    const first = traffic.take(counted, 0)
    traffic.onAnswer(
      counted,
      first,
      {
        kind: "accepted",
        quota: { remaining: 40, resetAt: 10_000, limit: undefined, windowMillis: undefined, source: "legacy" }
      },
      0,
      settings
    )
    expect(counted.interval).toBeCloseTo(10_000 / 40, 0)
    const spent = traffic.take(counted, 100)
    traffic.onAnswer(
      counted,
      spent,
      {
        kind: "accepted",
        quota: { remaining: 0, resetAt: 10_000, limit: undefined, windowMillis: undefined, source: "legacy" }
      },
      9_000,
      settings
    )
    expect(traffic.eligibleAt(counted, 9_000)).toBeGreaterThanOrEqual(10_000)
  })

  it("a 503 with Retry-After is an outage: one probe at a time, then a paced ramp", () => {
    const origin = traffic.makeOrigin(settings)
    const first = traffic.take(origin, 0)
    traffic.onAnswer(origin, first, { kind: "unavailable", retryAfterMillis: 2_000 }, 10, settings)
    expect(origin.outage).toBe(true)
    expect(traffic.eligibleAt(origin, 100)).toBe(2_010)
    const probe = traffic.take(origin, 2_010)
    expect(probe.probe).toBe(true)
    expect(traffic.eligibleAt(origin, 2_011)).toBe(Infinity)
    traffic.onAnswer(origin, probe, { kind: "unavailable", retryAfterMillis: 2_000 }, 2_020, settings)
    expect(traffic.eligibleAt(origin, 2_030)).toBe(4_020)
    const second = traffic.take(origin, 4_020)
    traffic.onAnswer(origin, second, accepted, 4_030, settings)
    expect(origin.outage).toBe(false)
    // Released one recovery interval apart, not all at once.
    const a = traffic.take(origin, 4_030)
    expect(traffic.eligibleAt(origin, 4_030)).toBeGreaterThan(4_030)
    expect(a.probe).toBe(false)
  })

  it("a bare 429 pauses the origin so concurrent calls do not each collect one", () => {
    const origin = traffic.makeOrigin(settings)
    const tickets = [0, 1, 2, 3].map(() => traffic.take(origin, 0))
    traffic.onAnswer(origin, tickets[0]!, { kind: "rate-limited" }, 5, settings)
    expect(traffic.eligibleAt(origin, 5)).toBeGreaterThanOrEqual(5 + settings.bareCooldownMillis)
    // The other in-flight 429s of the same moment do not pause it again (stale epoch).
    const before = origin.notBefore
    for (const ticket of tickets.slice(1)) traffic.onAnswer(origin, ticket, { kind: "rate-limited" }, 6, settings)
    expect(origin.notBefore).toBe(before)
  })
})

describe("traffic controller (TestClock)", () => {
  const make = (overrides: Partial<TrafficControl.Options> = {}) =>
    TrafficControl.make({ settings, maxRetryAfterMillis: 60_000, maxQueue: 100, ...overrides })

  it.scoped("waiters are released oldest first, one interval apart, after the cool-down", () =>
    Effect.gen(function*() {
      const controller = yield* make()
      const ticket = yield* controller.acquire("o", 0, undefined)
      yield* controller.answer("o", ticket, { kind: "rate-limited", retryAfterMillis: 1_000 })
      const released: Array<[number, number]> = []
      const fibers = yield* Effect.forEach([3, 1, 2], (priority) =>
        Effect.fork(
          Effect.flatMap(
            controller.acquire("o", priority, undefined),
            (t) => Effect.sync(() => released.push([priority, t.sentAt]))
          )
        ))
      yield* TestClock.adjust("999 millis")
      expect(released).toEqual([])
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.joinAll(fibers)
      expect(released.map(([priority]) => priority)).toEqual([1, 2, 3])
      expect(released[0]![1]).toBe(1_000)
    }))

  it.scoped("a call whose turn would come after its deadline is refused at once with retryAt", () =>
    Effect.gen(function*() {
      const controller = yield* make()
      const ticket = yield* controller.acquire("o", 0, undefined)
      yield* controller.answer("o", ticket, { kind: "rate-limited", retryAfterMillis: 5_000 })
      const exit = yield* Effect.exit(controller.acquire("o", 1, 3_000))
      expect(exit).toEqual(Exit.fail({ _tag: "Refusal", reason: "deadline", retryAt: 5_000 }))
      const capped = yield* make({ maxRetryAfterMillis: 1_000 })
      const t2 = yield* capped.acquire("o", 0, undefined)
      yield* capped.answer("o", t2, { kind: "rate-limited", retryAfterMillis: 5_000 })
      const refused = yield* Effect.exit(capped.acquire("o", 1, undefined))
      expect(refused).toEqual(Exit.fail({ _tag: "Refusal", reason: "cooldown", retryAt: 5_000 }))
    }))

  it.scoped("the queue is bounded", () =>
    Effect.gen(function*() {
      const controller = yield* make({ maxQueue: 2 })
      const ticket = yield* controller.acquire("o", 0, undefined)
      yield* controller.answer("o", ticket, { kind: "rate-limited", retryAfterMillis: 1_000 })
      yield* Effect.fork(controller.acquire("o", 1, undefined))
      yield* Effect.fork(controller.acquire("o", 2, undefined))
      yield* TestClock.adjust("1 millis") // let the two forked calls reach the queue
      const third = yield* Effect.exit(controller.acquire("o", 3, undefined))
      expect(Exit.isFailure(third)).toBe(true)
    }))
})
