import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as RateLimitHeaders from "../src/RateLimitHeaders.js"

const NOW = Date.parse("2026-11-25T10:00:00Z")
const DATE_NOW = "Wed, 25 Nov 2026 10:00:00 GMT"
const HOUR = 3_600_000
const DAY = 24 * HOUR

type Headers = Record<string, string | undefined>
const parse = (headers: Headers, now = NOW) => RateLimitHeaders.parse(headers, now)

const quota = (
  source: RateLimitHeaders.Quota["source"],
  remaining: number,
  resetAt: number | undefined,
  limit: number | undefined = undefined,
  windowMillis: number | undefined = undefined
): RateLimitHeaders.Quota => ({ remaining, resetAt, limit, windowMillis, source })

/** The legacy headers the sandbox sends: `limit;w=window` policy plus the three counters. */
const legacy = {
  "ratelimit-limit": "50",
  "ratelimit-remaining": "7",
  "ratelimit-reset": "1",
  "ratelimit-policy": "50;w=1"
}

describe("RateLimitHeaders.parse", () => {
  describe("fast path", () => {
    it("returns undefined without any rate-limit header", () => {
      expect(parse({})).toBeUndefined()
      expect(parse({ "content-type": "application/json", "retry-after": "5" })).toBeUndefined()
      // Limits and resets alone say nothing about what is left.
      expect(parse({ "ratelimit-limit": "10", "ratelimit-reset": "5", "x-ratelimit-limit": "10" })).toBeUndefined()
      expect(parse({ "ratelimit-policy": "\"default\";q=100;w=60" })).toBeUndefined()
    })
  })

  describe("draft (RateLimit-Policy + RateLimit)", () => {
    it("reads one policy", () => {
      expect(parse({ "ratelimit-policy": "\"default\";q=100;w=60", "ratelimit": "\"default\";r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000, 100, 60_000)
      )
    })

    it("picks the most constraining policy: the smallest remaining per second until reset", () => {
      const policy = "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400"
      // burst: 50 / 30 s ≈ 1.7/s; daily: 20 / 3600 s ≈ 0.006/s
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"burst\";r=50;t=30, \"daily\";r=20;t=3600" }))
        .toEqual(quota("draft", 20, NOW + HOUR, 1000, 86_400_000))
      // burst: 2 / 30 s ≈ 0.07/s; daily: 900 / 3600 s = 0.25/s
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"burst\";r=2;t=30, \"daily\";r=900;t=3600" }))
        .toEqual(quota("draft", 2, NOW + 30_000, 100, 60_000))
      // An exhausted policy is always the most constraining; of two, the one that resets later.
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"burst\";r=0;t=10, \"daily\";r=0;t=500" }))
        .toEqual(quota("draft", 0, NOW + 500_000, 1000, 86_400_000))
    })

    it("picks the smallest remaining when some reset is unknown", () => {
      const policy = "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400"
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"burst\";r=50;t=30, \"daily\";r=900" }))
        .toEqual(quota("draft", 50, NOW + 30_000, 100, 60_000))
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"burst\";r=50, \"daily\";r=20" }))
        .toEqual(quota("draft", 20, undefined, 1000, 86_400_000))
    })

    it("matches RateLimit items to policies by name, in any order", () => {
      expect(
        parse({
          "ratelimit-policy": "\"a\";q=10;w=1, \"b\";q=500;w=3600",
          "ratelimit": "\"b\";r=3;t=100, \"a\";r=9;t=1"
        })
      ).toEqual(quota("draft", 3, NOW + 100_000, 500, HOUR))
      // An item without a policy still counts, without limit or window.
      expect(parse({ "ratelimit-policy": "\"a\";q=10;w=1", "ratelimit": "\"other\";r=4;t=2" })).toEqual(
        quota("draft", 4, NOW + 2000, undefined, undefined)
      )
      expect(parse({ "ratelimit": "\"default\";r=4;t=2" })).toEqual(quota("draft", 4, NOW + 2000))
    })

    it("accepts policy names as Strings or Tokens and matches them by their text", () => {
      const expected = quota("draft", 50, NOW + 30_000, 100, 60_000)
      expect(parse({ "ratelimit-policy": "default;q=100;w=60", "ratelimit": "default;r=50;t=30" })).toEqual(expected)
      expect(parse({ "ratelimit-policy": "\"default\";q=100;w=60", "ratelimit": "default;r=50;t=30" })).toEqual(
        expected
      )
      expect(parse({ "ratelimit-policy": "default;q=100;w=60", "ratelimit": "\"default\";r=50;t=30" })).toEqual(
        expected
      )
      expect(parse({ "ratelimit-policy": "\"a\\\"b\";q=100;w=60", "ratelimit": "\"a\\\"b\";r=50;t=30" })).toEqual(
        expected
      )
      // Names are case-sensitive.
      expect(parse({ "ratelimit-policy": "Default;q=100;w=60", "ratelimit": "default;r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000)
      )
    })

    it("ignores unknown parameters, accepts pk byte sequences and whitespace", () => {
      expect(
        parse({
          "ratelimit-policy": "\"default\";q=100;w=60;pk=:cHJvamVjdDEyMw==:;x-vendor=?1;qu=\"requests\"",
          "ratelimit": "  \"default\";r=50;t=30;pk=:cHJvamVjdDEyMw==:;foo;bar=\"baz\"\t"
        })
      ).toEqual(quota("draft", 50, NOW + 30_000, 100, 60_000))
      // Unknown member types beside the policies are ignored too.
      expect(
        parse({
          "ratelimit-policy": "(\"x\" 1);q=1, ?1, @1700000000, %\"caf%c3%a9\", :AQID:, \"default\";q=100;w=60",
          "ratelimit": "42;r=1, \"default\";r=50;t=30"
        })
      ).toEqual(quota("draft", 50, NOW + 30_000, 100, 60_000))
    })

    it("ignores policies counted in another unit than requests", () => {
      expect(
        parse({
          "ratelimit-policy": "\"bytes\";q=1000;qu=\"content-bytes\", \"default\";q=100;w=60",
          "ratelimit": "\"bytes\";r=0;t=10, \"default\";r=50;t=30"
        })
      ).toEqual(quota("draft", 50, NOW + 30_000, 100, 60_000))
      expect(
        parse({ "ratelimit-policy": "\"c\";q=5;qu=\"concurrent-requests\"", "ratelimit": "\"c\";r=0" })
      ).toBeUndefined()
    })

    it("ignores a field that is not an RFC 9651 List, as a whole", () => {
      for (
        const field of [
          "\"default\";r=50;t=30,",
          "\"default\";r=50;t=30,,\"b\";r=1",
          "\"default\";R=50",
          "\"default\" r=50",
          "\"default\" ;r=50",
          "\"default;r=50",
          "\"déf\";r=50",
          "\"a\\b\";r=50",
          "default;r=1234567890123456",
          "default;r=1.2345",
          "default;r=:not base64!:",
          "default;r=?2",
          "default;r=@1.5",
          "default;r=%\"%C3%A9\"",
          "default;r=%\"%ff\"",
          "(a b;r=1",
          "limit=100, remaining=50, reset=5",
          "{}"
        ]
      ) {
        expect(parse({ "ratelimit": field }), field).toBeUndefined()
        // ...and the next family answers instead.
        expect(parse({ "ratelimit": field, ...legacy }), field).toEqual(quota("legacy", 7, NOW + 1000, 50, 1000))
      }
      // A malformed policy field loses the limits only.
      expect(parse({ "ratelimit-policy": "\"default\";q=100;w=60,", "ratelimit": "\"default\";r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000)
      )
    })

    it("treats invalid parameter values as absent", () => {
      const policy = "\"default\";q=100;w=60"
      // r is required: negative, decimal, string or missing drops the item.
      for (const r of ["r=-1", "r=1.5", "r=\"5\"", "r", "x=5"]) {
        expect(parse({ "ratelimit-policy": policy, "ratelimit": `"default";${r};t=30` }), r).toBeUndefined()
      }
      // t: the reset becomes unknown.
      for (const t of ["t=-1", "t=1.5", "t=soon", "t"]) {
        expect(parse({ "ratelimit-policy": policy, "ratelimit": `"default";r=50;${t}` }), t).toEqual(
          quota("draft", 50, undefined, 100, 60_000)
        )
      }
      // q is required in a policy; w optional.
      expect(parse({ "ratelimit-policy": "\"default\";w=60", "ratelimit": "\"default\";r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000)
      )
      expect(parse({ "ratelimit-policy": "\"default\";q=100;w=0", "ratelimit": "\"default\";r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000, 100)
      )
      // A later duplicate parameter overrides an earlier one (RFC 9651).
      expect(parse({ "ratelimit-policy": policy, "ratelimit": "\"default\";r=1;r=50;t=30" })).toEqual(
        quota("draft", 50, NOW + 30_000, 100, 60_000)
      )
    })

    it("ignores the family when remaining exceeds the quota", () => {
      const headers = { "ratelimit-policy": "\"default\";q=100;w=60", "ratelimit": "\"default\";r=101;t=30" }
      expect(parse(headers)).toBeUndefined()
      expect(parse({ ...headers, "x-ratelimit-remaining": "3" })).toEqual(quota("x-ratelimit", 3, undefined))
    })

    it("ignores a reset further away than max(2 × window, 24 h)", () => {
      const headers = (t: number, w: number) => ({
        "ratelimit-policy": `"default";q=100;w=${w}`,
        "ratelimit": `"default";r=5;t=${t}`
      })
      expect(parse(headers(86_400, 60))).toEqual(quota("draft", 5, NOW + DAY, 100, 60_000))
      expect(parse(headers(86_401, 60))).toEqual(quota("draft", 5, undefined, 100, 60_000))
      expect(parse(headers(172_800, 86_400 * 7))).toEqual(quota("draft", 5, NOW + 2 * DAY, 100, 7 * DAY))
      expect(parse(headers(14 * 86_400 + 1, 86_400 * 7))).toEqual(quota("draft", 5, undefined, 100, 7 * DAY))
    })

    it("reports a zero quota as an unknown limit", () => {
      expect(parse({ "ratelimit-policy": "\"off\";q=0;w=60", "ratelimit": "\"off\";r=0;t=60" })).toEqual(
        quota("draft", 0, NOW + 60_000, undefined, 60_000)
      )
    })
  })

  describe("legacy (RateLimit-Limit/-Remaining/-Reset)", () => {
    it("reads what the sandbox sends, with the window from the older-draft policy", () => {
      expect(parse(legacy)).toEqual(quota("legacy", 7, NOW + 1000, 50, 1000))
      expect(parse({ ...legacy, "ratelimit-policy": undefined })).toEqual(quota("legacy", 7, NOW + 1000, 50))
      // The policy that matches the limit gives the window.
      expect(parse({ ...legacy, "ratelimit-policy": "10;w=1, 50;w=60" })).toEqual(
        quota("legacy", 7, NOW + 1000, 50, 60_000)
      )
      expect(parse({ ...legacy, "ratelimit-policy": "10;w=1" })).toEqual(quota("legacy", 7, NOW + 1000, 50))
      // Without RateLimit-Limit, the policy's quota is the limit.
      expect(parse({ ...legacy, "ratelimit-limit": undefined })).toEqual(quota("legacy", 7, NOW + 1000, 50, 1000))
      expect(parse({ "ratelimit-remaining": "3" })).toEqual(quota("legacy", 3, undefined))
    })

    it("takes the first item of a list and accepts fractions and whitespace", () => {
      expect(parse({ "ratelimit-limit": "100, 100;w=60", "ratelimit-remaining": "5, 5", "ratelimit-reset": "2, 2" }))
        .toEqual(quota("legacy", 5, NOW + 2000, 100))
      expect(parse({ "ratelimit-limit": " 100 ", "ratelimit-remaining": "\t5.9", "ratelimit-reset": "1.5" })).toEqual(
        quota("legacy", 5, NOW + 1500, 100)
      )
    })

    it("treats garbage in a field as that field being unknown", () => {
      const garbage = [
        "",
        " ",
        "-1",
        "+5",
        "1e3",
        "0x10",
        "NaN",
        "Infinity",
        "five",
        "5 5",
        "5.",
        ".5",
        "1".repeat(400)
      ]
      for (const g of garbage) {
        expect(parse({ ...legacy, "ratelimit-remaining": g }), g).toBeUndefined()
        expect(parse({ ...legacy, "ratelimit-limit": g, "ratelimit-policy": undefined }), g).toEqual(
          quota("legacy", 7, NOW + 1000)
        )
        expect(parse({ ...legacy, "ratelimit-reset": g }), g).toEqual(quota("legacy", 7, undefined, 50, 1000))
        expect(parse({ ...legacy, "ratelimit-policy": g }), g).toEqual(quota("legacy", 7, NOW + 1000, 50))
      }
    })

    it("ignores the family when remaining exceeds the limit", () => {
      expect(parse({ ...legacy, "ratelimit-remaining": "51" })).toBeUndefined()
      expect(parse({ ...legacy, "ratelimit-remaining": "51", "x-ratelimit-remaining": "1" })).toEqual(
        quota("x-ratelimit", 1, undefined)
      )
    })

    it("ignores an implausibly far reset but keeps the rest", () => {
      expect(parse({ ...legacy, "ratelimit-reset": "86400" })).toEqual(quota("legacy", 7, NOW + DAY, 50, 1000))
      expect(parse({ ...legacy, "ratelimit-reset": "86401" })).toEqual(quota("legacy", 7, undefined, 50, 1000))
      // An epoch sent where a delta belongs is far away.
      expect(parse({ ...legacy, "ratelimit-reset": "1764064830" })).toEqual(quota("legacy", 7, undefined, 50, 1000))
    })

    it("loses to the draft family when both are valid", () => {
      expect(parse({ ...legacy, "ratelimit": "\"default\";r=3;t=4" })).toEqual(quota("draft", 3, NOW + 4000))
    })
  })

  describe("X-RateLimit-*", () => {
    const x = { "x-ratelimit-limit": "60", "x-ratelimit-remaining": "59" }

    it("reads delta seconds", () => {
      expect(parse({ ...x, "x-ratelimit-reset": "30" })).toEqual(quota("x-ratelimit", 59, NOW + 30_000, 60))
      expect(parse({ ...x })).toEqual(quota("x-ratelimit", 59, undefined, 60))
    })

    it("prefers X-RateLimit-Reset-After when it is valid", () => {
      expect(parse({ ...x, "x-ratelimit-reset": "30", "x-ratelimit-reset-after": "2.5" })).toEqual(
        quota("x-ratelimit", 59, NOW + 2500, 60)
      )
      expect(parse({ ...x, "x-ratelimit-reset": "30", "x-ratelimit-reset-after": "soon" })).toEqual(
        quota("x-ratelimit", 59, NOW + 30_000, 60)
      )
    })

    it("reads epoch seconds and epoch milliseconds", () => {
      const seconds = String((NOW + 90_000) / 1000)
      expect(parse({ ...x, "x-ratelimit-reset": seconds })).toEqual(quota("x-ratelimit", 59, NOW + 90_000, 60))
      expect(parse({ ...x, "x-ratelimit-reset": String(NOW + 1234) })).toEqual(quota("x-ratelimit", 59, NOW + 1234, 60))
      // A reset in the past is now.
      expect(parse({ ...x, "x-ratelimit-reset": String((NOW - 90_000) / 1000) })).toEqual(
        quota("x-ratelimit", 59, NOW, 60)
      )
      // A year away: implausible.
      expect(parse({ ...x, "x-ratelimit-reset": String((NOW + 365 * DAY) / 1000) })).toEqual(
        quota("x-ratelimit", 59, undefined, 60)
      )
      // 1e9 itself is still delta seconds (31 years: implausible).
      expect(parse({ ...x, "x-ratelimit-reset": "1000000000" })).toEqual(quota("x-ratelimit", 59, undefined, 60))
    })

    it("corrects the server's clock skew with its Date header", () => {
      // The server's clock is 5 minutes ahead: its reset at 10:05:30 is 30 s after it sent the response.
      const reset = String(Date.parse("2026-11-25T10:05:30Z") / 1000)
      expect(parse({ ...x, "x-ratelimit-reset": reset, "date": "Wed, 25 Nov 2026 10:05:00 GMT" })).toEqual(
        quota("x-ratelimit", 59, NOW + 30_000, 60)
      )
      expect(
        parse({
          ...x,
          "x-ratelimit-reset": String(Date.parse("2026-11-25T10:05:30Z")),
          "date": "Wed, 25 Nov 2026 10:05:00 GMT"
        })
      )
        .toEqual(quota("x-ratelimit", 59, NOW + 30_000, 60))
      // The server's clock is behind: its reset is still 30 s after its Date.
      expect(
        parse({
          ...x,
          "x-ratelimit-reset": String(Date.parse("2026-11-25T09:59:30Z") / 1000),
          "date": "Wed, 25 Nov 2026 09:59:00 GMT"
        })
      ).toEqual(quota("x-ratelimit", 59, NOW + 30_000, 60))
      // No or an invalid Date: against now.
      for (const date of [undefined, "yesterday", "Wed, 31 Feb 2026 10:00:00 GMT"]) {
        expect(parse({ ...x, "x-ratelimit-reset": reset, date }), String(date)).toEqual(
          quota("x-ratelimit", 59, NOW + 330_000, 60)
        )
      }
      // Delta seconds do not depend on Date.
      expect(parse({ ...x, "x-ratelimit-reset": "30", "date": "Wed, 25 Nov 2026 10:05:00 GMT" })).toEqual(
        quota("x-ratelimit", 59, NOW + 30_000, 60)
      )
      expect(parse({ ...x, "x-ratelimit-reset": "30", "date": DATE_NOW })).toEqual(
        quota("x-ratelimit", 59, NOW + 30_000, 60)
      )
    })

    it("treats garbage in a field as that field being unknown", () => {
      for (const g of ["", "-1", "NaN", "1e3", "soon", "Infinity", "1".repeat(400)]) {
        expect(parse({ ...x, "x-ratelimit-remaining": g }), g).toBeUndefined()
        expect(parse({ ...x, "x-ratelimit-limit": g }), g).toEqual(quota("x-ratelimit", 59, undefined))
        expect(parse({ ...x, "x-ratelimit-reset": g }), g).toEqual(quota("x-ratelimit", 59, undefined, 60))
        expect(parse({ ...x, "x-ratelimit-reset-after": g, "x-ratelimit-reset": "3" }), g).toEqual(
          quota("x-ratelimit", 59, NOW + 3000, 60)
        )
      }
      // Duplicates joined with ", ": the first wins.
      expect(parse({ "x-ratelimit-limit": "60, 60", "x-ratelimit-remaining": "12, 11", "x-ratelimit-reset": "5, 5" }))
        .toEqual(quota("x-ratelimit", 12, NOW + 5000, 60))
      // Huge but finite numbers are numbers.
      expect(parse({ "x-ratelimit-remaining": "1".repeat(30) })).toEqual(
        quota("x-ratelimit", 1.111111111111111e29, undefined)
      )
    })

    it("ignores the family when remaining exceeds the limit", () => {
      expect(parse({ "x-ratelimit-limit": "60", "x-ratelimit-remaining": "61" })).toBeUndefined()
    })
  })

  describe("Age", () => {
    it("returns undefined for a cached response", () => {
      expect(parse({ ...legacy, "age": "1" })).toBeUndefined()
      expect(parse({ ...legacy, "age": " 3600 " })).toBeUndefined()
      expect(parse({ ...legacy, "age": "5, 0" })).toBeUndefined()
      expect(parse({ "ratelimit": "a;r=1", "age": "99999999999999999999999" })).toBeUndefined()
    })

    it("reads a fresh response and ignores an invalid Age (RFC 9111 §5.1)", () => {
      const expected = quota("legacy", 7, NOW + 1000, 50, 1000)
      for (const age of ["0", "00", " 0 ", "0, 5", "-1", "1.5", "soon", ""]) {
        expect(parse({ ...legacy, age }), age).toEqual(expected)
      }
    })
  })

  it("never throws on values that are not strings or a now that is not a number", () => {
    const odd = { "ratelimit": 5, "ratelimit-remaining": null, "x-ratelimit-remaining": {}, "age": [] } as unknown
    expect(parse(odd as Headers)).toBeUndefined()
    expect(parse(null as unknown as Headers)).toBeUndefined()
    expect(parse(legacy, Number.NaN)).toEqual(quota("legacy", 7, undefined, 50, 1000))
    expect(parse({ "x-ratelimit-remaining": "1", "x-ratelimit-reset": "1764064830", "date": DATE_NOW }, Infinity))
      .toEqual(quota("x-ratelimit", 1, undefined))
  })
})

describe("RateLimitHeaders.parse (property)", () => {
  const NAMES = [
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "date",
    "age"
  ] as const

  const number = fc.oneof(
    fc.integer({ min: -5, max: 200 }).map(String),
    fc.nat().map(String),
    fc.double({ noNaN: false }).map(String),
    fc.constantFrom(
      "1e12",
      "1e9",
      "1000000001",
      "1700000000",
      "1764064830",
      "1764064830000",
      "9".repeat(16),
      "9".repeat(400)
    ),
    fc.tuple(fc.nat(999), fc.nat(9999)).map(([a, b]) => `${a}.${b}`)
  )
  // Structured-field-looking lists: mostly valid (so the draft family is reached), sometimes with invalid keys,
  // values or separators, and sometimes with one random character spliced in.
  const sfName = fc.oneof(
    { arbitrary: fc.constantFrom("default", "\"default\"", "\"daily\"", "burst", "\"burst\""), weight: 4 },
    fc.constantFrom("*", "\"\"", "42", "?1", ":AQ==:", "(a \"b\");q=1"),
    fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s))
  )
  const sfValue = fc.oneof(
    { arbitrary: fc.integer({ min: -2, max: 150 }).map(String), weight: 4 },
    number,
    fc.constantFrom("\"requests\"", "\"content-bytes\"", "requests", ":cGs=:", "?0", "@1", "%\"a%20b\"", "")
  )
  const sfKey = fc.oneof(
    { arbitrary: fc.constantFrom("q", "w", "r", "t", "qu", "pk", "x-y"), weight: 9 },
    fc.constantFrom("Q", "", "1")
  )
  const sfParam = fc.tuple(sfKey, sfValue).map(([k, v]) => (v === "" ? `;${k}` : `;${k}=${v}`))
  const sfItem = fc.tuple(
    sfName,
    fc.option(fc.nat(150), { freq: 4 }),
    fc.option(fc.nat(150), { freq: 4 }),
    fc.array(sfParam, { maxLength: 3 })
  ).map(([n, q, r, ps]) => n + (q === null ? "" : `;q=${q}`) + (r === null ? "" : `;r=${r}`) + ps.join(""))
  const sfList = fc.tuple(
    fc.array(sfItem, { minLength: 1, maxLength: 4 }),
    fc.constantFrom(", ", ",", " , ", "\t,", ",,")
  ).map(([items, sep]) => items.join(sep))
  const spliced = fc.tuple(sfList, fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([list, at, c]) => {
    const i = at % (list.length + 1)
    return list.slice(0, i) + c + list.slice(i)
  })
  const httpDate = fc.integer({ min: NOW - 10 * DAY, max: NOW + 10 * DAY }).map((t) => new Date(t).toUTCString())

  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 20 }),
    number,
    fc.array(number, { minLength: 1, maxLength: 3 }).map((ns) => ns.join(", ")),
    { arbitrary: sfList, weight: 3 },
    spliced,
    httpDate
  )
  // Each known header is present half of the time, beside a few random ones.
  const known = fc.record(Object.fromEntries(NAMES.map((name) => [name, value])), { requiredKeys: [] })
  const headers = fc.tuple(known, fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 3 })).map((
    [named, random]
  ): Headers => ({ ...random, ...named }))
  const now = fc.oneof(fc.constant(NOW), fc.integer({ min: 0, max: 4_102_444_800_000 }))

  it("never throws and returns only plausible quotas", () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 2000)
    const seen = { none: 0, draft: 0, legacy: 0, "x-ratelimit": 0 }
    fc.assert(
      fc.property(headers, now, (h, at) => {
        const q = RateLimitHeaders.parse(h, at)
        seen[q?.source ?? "none"]++
        if (q === undefined) return
        expect(Number.isFinite(q.remaining) && q.remaining >= 0).toBe(true)
        if (q.resetAt !== undefined) expect(q.resetAt >= at && Number.isFinite(q.resetAt)).toBe(true)
        if (q.limit !== undefined) {
          expect(Number.isFinite(q.limit) && q.limit > 0).toBe(true)
          expect(q.remaining <= q.limit).toBe(true)
        }
        if (q.windowMillis !== undefined) expect(Number.isFinite(q.windowMillis) && q.windowMillis > 0).toBe(true)
        expect(["draft", "legacy", "x-ratelimit"]).toContain(q.source)
      }),
      { seed: 42, numRuns: runs }
    )
    // The generator reaches every family, not only "no information".
    if (runs >= 1000) {
      for (const count of Object.values(seen)) expect(count, JSON.stringify(seen)).toBeGreaterThan(10)
    }
  })
})
