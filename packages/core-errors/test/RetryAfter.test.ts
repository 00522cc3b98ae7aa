import { RetryAfter } from "@bulwark/core-errors"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import * as fc from "fast-check"

const NOW = Date.parse("2026-11-25T10:00:00Z")
const seconds = (value: Option.Option<Duration.Duration>) => Option.map(value, (d) => Duration.toMillis(d) / 1000)

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const
const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const
const pad = (n: number, width = 2) => String(n).padStart(width, "0")
const time = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
const rfc850 = (d: Date) =>
  `${LONG_DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${pad(d.getUTCFullYear() % 100)} ${
    time(d)
  } GMT`
const asctime = (d: Date) =>
  `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${
    time(d)
  } ${d.getUTCFullYear()}`

describe("RetryAfter.parse", () => {
  it("reads delta-seconds", () => {
    expect(seconds(RetryAfter.parse("120", NOW))).toEqual(Option.some(120))
    expect(seconds(RetryAfter.parse("0", NOW))).toEqual(Option.some(0))
    expect(seconds(RetryAfter.parse("  7 ", NOW))).toEqual(Option.some(7))
    expect(seconds(RetryAfter.parse("007", NOW))).toEqual(Option.some(7))
  })

  it("reads the three HTTP-date forms", () => {
    expect(seconds(RetryAfter.parse("Wed, 25 Nov 2026 10:00:30 GMT", NOW))).toEqual(Option.some(30))
    expect(seconds(RetryAfter.parse("Wednesday, 25-Nov-26 10:01:00 GMT", NOW))).toEqual(Option.some(60))
    expect(seconds(RetryAfter.parse("Wed Nov 25 10:02:00 2026", NOW))).toEqual(Option.some(120))
    expect(seconds(RetryAfter.parse("Tue Dec  1 10:00:00 2026", NOW, { cap: "30 days" }))).toEqual(
      Option.some(6 * 86400)
    )
    expect(seconds(RetryAfter.parse("wed, 25 nov 2026 10:00:30 gmt", NOW))).toEqual(Option.some(30))
  })

  it("treats a past date as zero", () => {
    expect(seconds(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW))).toEqual(Option.some(0))
    expect(seconds(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW))).toEqual(Option.some(0))
  })

  it("resolves two-digit RFC 850 years within 50 years of now", () => {
    const at = RetryAfter.parseHttpDate("Thursday, 01-Jan-70 00:00:00 GMT", NOW)
    expect(at).toBe(Date.UTC(2070, 0, 1))
    expect(RetryAfter.parseHttpDate("Friday, 01-Jan-99 00:00:00 GMT", NOW)).toBe(Date.UTC(1999, 0, 1))
  })

  it("rejects garbage, negatives, fractions and impossible dates", () => {
    for (
      const value of [
        "",
        "   ",
        "-1",
        "+5",
        "1.5",
        "1e3",
        "0x10",
        "soon",
        "120s",
        "Infinity",
        "NaN",
        "Wed, 31 Feb 2026 10:00:00 GMT",
        "Wed, 25 Nov 2026 25:00:00 GMT",
        "Wed, 25 Nov 2026 10:61:00 GMT",
        "Wed, 25 Nov 2026 10:00:00 UTC",
        "Wed, 25 Nov 2026 10:00:00",
        "2026-11-25T10:00:30Z",
        "Wed, 25 Foo 2026 10:00:00 GMT",
        "1".repeat(100)
      ]
    ) {
      expect(RetryAfter.parse(value, NOW), value).toEqual(Option.none())
    }
  })

  it("clamps huge delta-seconds and caps every result", () => {
    expect(seconds(RetryAfter.parse("99999999999999999999", NOW))).toEqual(Option.some(86400))
    expect(seconds(RetryAfter.parse("999999", NOW, { cap: "1 hour" }))).toEqual(Option.some(3600))
    expect(seconds(RetryAfter.parse("Fri, 01 Jan 2100 00:00:00 GMT", NOW, { cap: "10 minutes" }))).toEqual(
      Option.some(600)
    )
  })

  it("reads the header from a record", () => {
    expect(seconds(RetryAfter.fromHeaders({ "retry-after": "3" }, NOW))).toEqual(Option.some(3))
    expect(RetryAfter.fromHeaders({}, NOW)).toEqual(Option.none())
  })

  it.effect("parseNow uses the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-25T10:00:00Z"))
      const wait = yield* RetryAfter.parseNow("Wed, 25 Nov 2026 10:00:45 GMT")
      expect(seconds(wait)).toEqual(Option.some(45))
    }))

  describe("properties", () => {
    // 300 seeded runs in the default suite (with `expect` inside each); `npm run fuzz` raises them (FUZZ_RUNS).
    const params = { seed: 20261125, numRuns: Number(process.env.FUZZ_RUNS ?? 300) }
    const dates = fc.date({
      min: new Date("1971-01-01T00:00:00Z"),
      max: new Date("2070-12-31T23:59:59Z"),
      noInvalidDate: true
    })
      .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000))

    it("never throws on any string", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 80 }), fc.integer(), (value, now) => {
          const result = RetryAfter.parse(value, now)
          if (Option.isSome(result)) {
            const millis = Duration.toMillis(result.value)
            expect(millis).toBeGreaterThanOrEqual(0)
            expect(millis).toBeLessThanOrEqual(86_400_000)
          }
        }),
        params
      )
    })

    it("agrees with Date.parse on IMF-fixdate and with the calendar on the obsolete forms", () => {
      fc.assert(
        fc.property(dates, dates, (target, now) => {
          const expected = Math.max(0, Math.min(target.getTime() - now.getTime(), 86_400_000))
          const imf = target.toUTCString()
          expect(RetryAfter.parseHttpDate(imf, now)).toBe(Date.parse(imf))
          expect(Option.map(RetryAfter.parse(imf, now), Duration.toMillis)).toEqual(Option.some(expected))
          expect(RetryAfter.parseHttpDate(asctime(target), now)).toBe(target.getTime())
          // RFC 850 years are relative to now: compare only where the two-digit year is unambiguous.
          if (
            target.getUTCFullYear() - now.getUTCFullYear() <= 50 && now.getUTCFullYear() - target.getUTCFullYear() < 49
          ) {
            expect(RetryAfter.parseHttpDate(rfc850(target), now)).toBe(target.getTime())
          }
        }),
        params
      )
    })

    it("agrees with the number on any delta-seconds", () => {
      fc.assert(
        fc.property(fc.nat({ max: 10_000_000 }), (n) => {
          expect(Option.map(RetryAfter.parse(String(n), NOW), Duration.toMillis)).toEqual(
            Option.some(Math.min(n * 1000, 86_400_000))
          )
        }),
        params
      )
    })
  })
})
