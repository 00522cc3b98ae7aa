import { ApiError } from "@bulwark/core-errors"
import { Plugins } from "@bulwark/http-client"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Metric, TestClock } from "effect"
import * as fc from "fast-check"
import * as traffic from "../src/internal/traffic.js"
import * as TrafficControl from "../src/internal/trafficControl.js"
import { answerOf } from "../src/internal/trafficStage.js"
import * as TrafficStore from "../src/TrafficStore.js"
import { makeFakeApi } from "./fakeApi.js"

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

/**
 * 16 callers that always have another request, against a fixed-window quota of `limit` per `windowMillis` whose
 * windows start `alignMillis` past the second, answering 429 with `Retry-After` rounded up to whole seconds (as
 * real APIs do). Each send is answered `rttMillis` later; the pump's timer fires `lateMillis` after a slot.
 * Returns what a benchmark would: the accepted share of the rate and the 429s per second of the run.
 */
const runFixedWindow = (
  options: { seconds: number; limit?: number; alignMillis?: number; lateMillis?: number; rttMillis?: number }
) => {
  const { alignMillis = 370, lateMillis = 1, limit = 50, rttMillis = 2, seconds } = options
  const origin = traffic.makeOrigin(settings)
  const windows = new Map<number, number>()
  const inflight: Array<{ at: number; ticket: traffic.Ticket }> = []
  const rateLimitedPerSecond = Array.from({ length: seconds }, () => 0)
  let now = 0
  let accepted = 0
  let sentEarly = 0
  const floors: Array<{ receivedAt: number; until: number }> = []
  let waiting = 16
  while (now < seconds * 1000) {
    // Answers due by now, in order.
    inflight.sort((a, b) => a.at - b.at)
    while (inflight.length > 0 && inflight[0]!.at <= now) {
      const { at, ticket } = inflight.shift()!
      const sentAt = ticket.sentAt
      // Early: sent after the client had received a 429 and before that 429's Retry-After had passed.
      if (floors.some((f) => sentAt >= f.receivedAt && sentAt < f.until)) sentEarly++
      const window = Math.floor((sentAt - alignMillis) / 1000)
      const used = windows.get(window) ?? 0
      if (used < limit) {
        windows.set(window, used + 1)
        accepted++
        traffic.onAnswer(origin, ticket, { kind: "accepted" }, at, settings)
      } else {
        const windowEnd = (window + 1) * 1000 + alignMillis
        const retryAfterMillis = Math.max(1, Math.ceil((windowEnd - sentAt) / 1000)) * 1000
        floors.push({ receivedAt: at, until: sentAt + retryAfterMillis })
        rateLimitedPerSecond[Math.floor(sentAt / 1000)]!++
        traffic.onAnswer(origin, ticket, { kind: "rate-limited", retryAfterMillis }, at, settings)
      }
      waiting++
    }
    const eligible = traffic.eligibleAt(origin, now)
    if (waiting > 0 && eligible <= now) {
      waiting--
      inflight.push({ at: now + rttMillis, ticket: traffic.take(origin, now) })
      continue
    }
    if (waiting > 0) traffic.noteQueued(origin)
    const nextAnswer = inflight.length > 0 ? inflight[0]!.at : Infinity
    const nextSlot = waiting > 0 ? Math.ceil(eligible) + lateMillis : Infinity
    now = Math.max(now + 1, Math.min(nextAnswer, nextSlot))
  }
  return { share: accepted / (limit * seconds), rateLimitedPerSecond, sentEarly, origin }
}

describe("traffic learning without headers", () => {
  it("settles on an unaligned fixed window within a few seconds, then at most one 429 per window", () => {
    const run = runFixedWindow({ seconds: 60 })
    const settled = run.rateLimitedPerSecond.slice(2)
    expect(Math.max(...settled)).toBeLessThanOrEqual(1)
    // Only the probes that found the quota's edge were refused: two in a minute (the old gate: one a second).
    expect(settled.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2)
    expect(run.share).toBeGreaterThan(0.95)
    expect(traffic.ratePerSecond(run.origin)).toBeGreaterThan(47)
    expect(traffic.ratePerSecond(run.origin)).toBeLessThanOrEqual(50.5)
    // Nothing was sent before a Retry-After the client had received had passed.
    expect(run.sentEarly).toBe(0)
  })

  it("a refused probe goes back to the fastest pace proven below it, and the search stops within 10%", () => {
    const origin = traffic.makeOrigin(settings)
    Object.assign(origin, { estimate: 0.04, interval: 1 / 0.04, targetInterval: 1 / 0.04, window: 1000 })
    // Two clean windows, calls queued behind the pace, every slot used: the pace is proven, the next probe grows.
    const cleanPeriod = (from: number) => {
      const count = Math.floor(2000 * origin.estimate) + 1
      for (let i = 0; i < count; i++) {
        const at = from + i * (2000 / count)
        traffic.onAnswer(origin, traffic.take(origin, at), { kind: "accepted" }, at, settings)
      }
      traffic.noteQueued(origin)
      traffic.onAnswer(origin, traffic.take(origin, from + 2000), { kind: "accepted" }, from + 2000, settings)
    }
    cleanPeriod(0)
    expect(origin.proven).toBeCloseTo(0.04, 5)
    expect(origin.estimate).toBeCloseTo(0.04 * 1.1, 5)
    cleanPeriod(2000)
    expect(origin.estimate).toBeCloseTo(0.04 * 1.1 * 1.2, 5)
    // The probe is refused: back to what was proven.
    const probe = origin.estimate
    const refused = traffic.take(origin, 4_100)
    traffic.onAnswer(origin, refused, { kind: "rate-limited", retryAfterMillis: 1000 }, 4_100, settings)
    expect(origin.refused).toBeCloseTo(probe, 5)
    expect(origin.estimate).toBeCloseTo(0.04 * 1.1, 5)
    // More than 10% below the refused pace: the next probe goes at most halfway, then the search is over.
    cleanPeriod(5_100)
    expect(origin.estimate).toBeLessThanOrEqual((0.044 + probe) / 2 + 1e-9)
    expect(origin.estimate).toBeGreaterThan(0.044)
    cleanPeriod(7_100)
    expect(origin.refused / origin.proven).toBeLessThanOrEqual(settings.convergedWithin)
    const settled = origin.estimate
    cleanPeriod(9_100)
    expect(origin.estimate).toBe(settled)
  })

  it("a creep over the edge doubles the time to the next one", () => {
    const origin = traffic.makeOrigin(settings)
    Object.assign(origin, {
      estimate: 0.049,
      interval: 1 / 0.049,
      targetInterval: 1 / 0.049,
      window: 1000,
      proven: 0.049,
      refused: 0.0505
    })
    origin.estimate *= settings.increase
    origin.interval = 1 / origin.estimate
    const ticket = traffic.take(origin, 0)
    traffic.onAnswer(origin, ticket, { kind: "rate-limited", retryAfterMillis: 1000 }, 10, settings)
    expect(origin.creepWindows).toBe(40)
    expect(origin.estimate).toBeCloseTo(0.049, 5)
  })

  it("a pace the client does not keep up with is neither proven nor raised", () => {
    const origin = traffic.makeOrigin(settings)
    Object.assign(origin, { estimate: 0.05, interval: 20, targetInterval: 20, window: 1000 })
    // Calls queue, but only 30 answers come back in the second (the client, not the pace, is the limit).
    for (let i = 0; i < 30; i++) {
      traffic.onAnswer(origin, traffic.take(origin, i * 33), { kind: "accepted" }, i * 33, settings)
    }
    traffic.noteQueued(origin)
    traffic.onAnswer(origin, traffic.take(origin, 1_000), { kind: "accepted" }, 1_000, settings)
    expect(origin.estimate).toBe(0.05)
    expect(origin.proven).toBeLessThan(0.035)
  })

  it("a token bucket without headers: the pace climbs from a poor first sample in doubling steps, two windows each", () => {
    const origin = traffic.makeOrigin(settings)
    Object.assign(origin, { estimate: 0.01, interval: 100, targetInterval: 100, window: 1000 })
    const rates: Array<number> = []
    for (let period = 0; period < 5; period++) {
      const from = period * 2000
      const count = Math.ceil(2000 * origin.estimate)
      for (let i = 0; i < count; i++) {
        const at = from + (i * 2000) / count
        traffic.onAnswer(origin, traffic.take(origin, at), { kind: "accepted" }, at, settings)
      }
      traffic.noteQueued(origin)
      traffic.onAnswer(origin, traffic.take(origin, from + 2000), { kind: "accepted" }, from + 2000, settings)
      rates.push(traffic.ratePerSecond(origin))
    }
    // ×1.1, ×1.2, ×1.4, ×1.8, ×2.6: five periods multiply it by ~8 (×1.1 each: by 1.6).
    expect(rates[4]! / 10).toBeGreaterThan(6)
  })
})

describe("traffic pacing", () => {
  it("a send a little late keeps the schedule: no drift, and no window gets more than the pace allows", () => {
    const origin = traffic.makeOrigin(settings)
    origin.interval = 1000 / (50 * (1 - settings.reserve))
    origin.targetInterval = origin.interval
    const sends: Array<number> = []
    let now = 0
    while (sends.length < 500) {
      // Each send goes 1–3 ms after its slot, as a timer does.
      now = Math.ceil(traffic.eligibleAt(origin, now)) + 1 + (sends.length % 3)
      traffic.take(origin, now)
      sends.push(now)
    }
    // 500 sends at 49.25/s take ~10.15 s: lateness was made up, not accumulated.
    expect(sends.at(-1)!).toBeLessThan(500 * origin.interval + 10)
    // Any 1 s window (at any phase) holds at most 50.
    for (let start = 0; start < sends.at(-1)! - 1000; start += 7) {
      expect(sends.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(50)
    }
  })

  it("with headers, the first window spends only what the unpaced requests left, then the policy's pace", () => {
    const origin = traffic.makeOrigin(settings)
    const tickets = Array.from({ length: 16 }, () => traffic.take(origin, 0))
    const quota = (remaining: number, resetAt: number) => ({
      remaining,
      resetAt,
      limit: 50,
      windowMillis: 1000,
      source: "draft" as const
    })
    // 16 went at once; the first answer says 34 are left until the reset in (up to) 1 s, 15 still in flight.
    traffic.onAnswer(origin, tickets[0]!, { kind: "accepted", quota: quota(34, 1000) }, 10, settings)
    expect(origin.interval).toBeGreaterThanOrEqual(990 / (34 - 15))
    // After the first window, the policy's pace.
    traffic.onAnswer(origin, tickets[1]!, { kind: "accepted", quota: quota(49, 2000) }, 1_010, settings)
    expect(origin.interval).toBeCloseTo(1000 / (50 * (1 - settings.reserve)), 5)
  })
})

describe("what an attempt tells the controller", () => {
  const timeout = (phase: "attempt" | "deadline") =>
    Exit.fail(
      new ApiError.Timeout({ method: "GET", url: "https://api.example/x", phase, timeout: Duration.seconds(1) })
    )

  it("a call's own deadline running out says nothing of the origin; an attempt timing out does", () => {
    // A probe cut short by its caller must not count as a failed probe (which backs the next one off).
    expect(answerOf(timeout("deadline") as never, 0)).toEqual({ kind: "not-sent" })
    expect(answerOf(timeout("attempt") as never, 0)).toEqual({ kind: "failed" })
  })
})

describe("traffic state in a store", () => {
  it("round-trips through its text form, except this process's requests in flight", () => {
    const origin = traffic.makeOrigin(settings)
    const ticket = traffic.take(origin, 0)
    traffic.onAnswer(origin, ticket, { kind: "rate-limited", retryAfterMillis: 1000 }, 5, settings)
    origin.refused = Infinity
    origin.inflight = 3
    const copy = traffic.makeOrigin(settings)
    copy.inflight = 7
    expect(traffic.deserializeInto(traffic.serialize(origin), copy, 0)).toBe(true)
    expect({ ...copy, inflight: 3 }).toEqual(origin)
    expect(copy.inflight).toBe(7)
    expect(copy.refused).toBe(Infinity)
  })

  it("a stored value out of range is refused (the next write heals it); a missing field keeps the local one", () => {
    const now = 1_000_000
    const local = traffic.makeOrigin(settings)
    const before = { ...local }
    for (
      const bad of [
        { notBefore: now + 10 * 86_400_000 }, // a pause of ten days: another version's units, or garbage
        { tat: "Infinity" },
        { interval: -5 },
        { burst: 0 },
        { estimate: 1e9 },
        { notBefore: "soon" }
      ]
    ) {
      expect(traffic.deserializeInto(JSON.stringify(bad), local, now), JSON.stringify(bad)).toBe(false)
      expect(local).toEqual(before)
    }
    // An older version's state, without the newer fields: what it has is read, the rest stays.
    expect(traffic.deserializeInto(JSON.stringify({ notBefore: now + 500, refused: "Infinity" }), local, now)).toBe(
      true
    )
    expect(local.notBefore).toBe(now + 500)
    expect(local.creepWindows).toBe(before.creepWindows)
  })

  it("never throws on stored garbage, and leaves the local state as it was", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.constantFrom("null", "[]", "{\"notBefore\":\"soon\"}", "{\"estimate\":NaN}", "Infinity")
        ),
        (text) => {
          const local = traffic.makeOrigin(settings)
          local.notBefore = 1234
          const before = { ...local }
          const ok = traffic.deserializeInto(text, local, 0)
          if (!ok) expect(local).toEqual(before)
        }
      ),
      { seed: 42, numRuns: 500 }
    )
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

  it.scoped("clients sharing a store pace as one: one floor, one schedule", () =>
    Effect.gen(function*() {
      const store = yield* TrafficStore.makeMemory
      const a = yield* make({ store })
      const b = yield* make({ store })
      // A learns the policy from headers: 10 per second.
      const first = yield* a.acquire("o", 0, undefined)
      yield* a.answer("o", first, {
        kind: "accepted",
        quota: { remaining: 9, resetAt: 0, limit: 10, windowMillis: 1000, source: "draft" }
      })
      // B's requests take the next slots of the same schedule: together, one every ~101.5 ms.
      const sent: Array<number> = []
      const fibers = yield* Effect.forEach([a, b, a, b], (controller, i) =>
        Effect.fork(
          Effect.flatMap(controller.acquire("o", i + 1, undefined), (t) => Effect.sync(() => sent.push(t.sentAt)))
        ))
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      sent.sort((x, y) => x - y)
      for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(100)
      // A 429 seen by B pauses A.
      const third = yield* b.acquire("o", 9, undefined)
      yield* b.answer("o", third, { kind: "rate-limited", retryAfterMillis: 5_000 })
      const refused = yield* Effect.exit(a.acquire("o", 10, 1_000 + 2_000))
      expect(Exit.isFailure(refused)).toBe(true)
    }))

  it.scoped("a store that fails leaves each client on its own state, counted", () =>
    Effect.gen(function*() {
      const failing: TrafficStore.Service = {
        modify: () => Effect.fail(new TrafficStore.TrafficStoreError({ reason: "Unavailable", detail: "test" }))
      }
      const controller = yield* make({ store: failing })
      const before = (yield* Metric.value(TrafficControl.metrics.storeFallbacks)).count
      const ticket = yield* controller.acquire("o", 0, undefined)
      yield* controller.answer("o", ticket, { kind: "rate-limited", retryAfterMillis: 1_000 })
      // Its own 429 still pauses it.
      const refused = yield* Effect.exit(controller.acquire("o", 1, 500))
      expect(refused).toEqual(Exit.fail({ _tag: "Refusal", reason: "deadline", retryAt: 1_000 }))
      expect((yield* Metric.value(TrafficControl.metrics.storeFallbacks)).count - before).toBe(3)
    }))

  it.scoped("a 429's pause taken while the store failed survives the store's return", () =>
    Effect.gen(function*() {
      const memory = yield* TrafficStore.makeMemory
      let failing = false
      const flaky: TrafficStore.Service = {
        modify: (origin, update) =>
          failing
            ? Effect.fail(new TrafficStore.TrafficStoreError({ reason: "Timeout", detail: "test" }))
            : memory.modify(origin, update)
      }
      const controller = yield* make({ store: flaky })
      const ticket = yield* controller.acquire("o", 0, undefined)
      failing = true
      yield* controller.answer("o", ticket, { kind: "rate-limited", retryAfterMillis: 2_000 })
      failing = false
      // The store's state knows nothing of the pause; the next decision must not lower the floor.
      const refused = yield* Effect.exit(controller.acquire("o", 1, 1_000))
      expect(refused).toEqual(Exit.fail({ _tag: "Refusal", reason: "deadline", retryAt: 2_000 }))
      // And the floor is now in the store for the other clients too.
      const other = yield* make({ store: memory })
      expect(Exit.isFailure(yield* Effect.exit(other.acquire("o", 2, 1_500)))).toBe(true)
    }))

  it.scoped("a call interrupted while it waits for its reserved slot gives the slot back", () =>
    Effect.gen(function*() {
      const store = yield* TrafficStore.makeMemory
      const controller = yield* make({ store })
      const first = yield* controller.acquire("o", 0, undefined)
      yield* controller.answer("o", first, {
        kind: "accepted",
        quota: { remaining: 9, resetAt: 0, limit: 10, windowMillis: 1000, source: "draft" }
      })
      yield* controller.acquire("o", 1, undefined) // the next slot, now
      const waiting = yield* Effect.fork(controller.acquire("o", 2, undefined)) // a slot ~105 ms ahead
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(waiting)
      // Only the ticket still out counts as in flight: the given-back one does not.
      expect(controller.inspect("o")!.inflight).toBe(1)
    }))

  const policy = (limit: number): traffic.Answer => ({
    kind: "accepted",
    quota: { remaining: limit - 1, resetAt: 0, limit, windowMillis: 1000, source: "draft" }
  })

  it.scoped("with a store, maxQueue bounds the slots reserved ahead", () =>
    Effect.gen(function*() {
      const store = yield* TrafficStore.makeMemory
      const controller = yield* make({ store, maxQueue: 1 })
      yield* controller.answer("o", yield* controller.acquire("o", 0, undefined), policy(10))
      // ~105 ms apart: the first goes now, one slot ahead is allowed, two ahead is refused at once.
      const fibers = yield* Effect.forEach([1, 2, 3], (priority) =>
        Effect.fork(Effect.exit(controller.acquire("o", priority, undefined))))
      yield* TestClock.adjust("1 second")
      const exits = yield* Fiber.joinAll(fibers)
      expect(exits.filter(Exit.isSuccess).length).toBe(2)
      expect(exits.filter(Exit.isFailure)[0]).toEqual(
        Exit.fail(expect.objectContaining({ _tag: "Refusal", reason: "queue-full" }))
      )
    }))

  it.scoped("a slot reserved before another client's 429 is given back and taken again after the pause", () =>
    Effect.gen(function*() {
      const store = yield* TrafficStore.makeMemory
      const a = yield* make({ store })
      const b = yield* make({ store })
      yield* a.answer("o", yield* a.acquire("o", 0, undefined), policy(10))
      const inB = yield* b.acquire("o", 1, undefined) // the next slot, now
      const waiting = yield* Effect.fork(a.acquire("o", 2, undefined)) // reserved ~105 ms ahead
      yield* TestClock.adjust("10 millis")
      // B's request is refused with a short Retry-After, which ends before A's slot: the slot is stale (a new
      // epoch, a new pace to learn) and is taken again.
      yield* b.answer("o", inB, { kind: "rate-limited", retryAfterMillis: 50 })
      yield* TestClock.adjust("1 second")
      const ticket = yield* Fiber.join(waiting)
      const state = a.inspect("o")!
      expect(ticket.epoch).toBe(state.epoch)
      expect(ticket.sentAt).toBeGreaterThanOrEqual(60)
    }))
})

describe("Plugins.trafficControl", () => {
  it.scoped("a pipeline composed by hand honours a 429's Retry-After for every call, and refuses beyond a deadline", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi((_, index) =>
        index === 0 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200, body: {} }
      )
      const traffic = yield* Plugins.trafficControl()
      const client = fake.client.pipe(Plugins.classify(), traffic)
      const get = (path: string) => Effect.exit(client.get(`https://api.example${path}`))
      expect(Exit.isFailure(yield* get("/a"))).toBe(true) // the 429 itself
      const second = yield* Effect.fork(get("/b"))
      yield* TestClock.adjust("1999 millis")
      expect((yield* fake.sent).length).toBe(1) // nothing before the Retry-After
      yield* TestClock.adjust("10 millis")
      expect(Exit.isSuccess(yield* Fiber.join(second))).toBe(true)
      expect((yield* fake.sent)[1]!.at).toBeGreaterThanOrEqual(2_000)
    }))
})
