import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Route from "../src/internal/route.js"

const BASE = "https://api.example.com/v1"

const compile = (...sources: ReadonlyArray<string>) =>
  Route.matcher(
    sources.map((source) => {
      const parsed = Route.parse(source)
      if (!Route.isPattern(parsed)) throw new Error(`${source}: ${parsed}`)
      return parsed
    }),
    BASE
  )

const segment = fc.stringMatching(/^[A-Za-z0-9._~%-]{1,8}$/).filter((s) => s !== "." && s !== ".." && s !== "**")
const segments = fc.array(segment, { maxLength: 5 })
const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
const params = { seed: 18, numRuns: 300 }

describe("route patterns", () => {
  it("parse methods, wildcards and paths; refuse what is not a pattern with the reason, never the text", () => {
    expect(Route.parse("GET /reports/**")).toEqual({
      source: "GET /reports/**",
      methods: ["GET"],
      segments: ["reports"],
      rest: true
    })
    expect(Route.parse("get,head /items/*/")).toMatchObject({ methods: ["GET", "HEAD"], segments: ["items", "*"] })
    expect(Route.parse("* /a")).toMatchObject({ methods: undefined })
    expect(Route.parse("/a")).toMatchObject({ methods: undefined })
    for (
      const [input, problem] of [
        ["", "must be a method and a path"],
        ["GET reports", "the path starts with \"/\""],
        ["GET /reports?x=1", "must not contain a query string"],
        ["GET /a/**/b", "\"**\" only as its last segment"],
        ["GET /rep*", "wildcard inside a segment"],
        ["G3T /a", "methods separated by commas"],
        ["GET /a /b", "one method list, one space, one path"]
      ] as const
    ) {
      const parsed = Route.parse(input)
      expect(parsed).toContain(problem)
    }
  })

  it("never throws on any input, and a refusal never quotes it", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (input) => {
        const parsed = Route.parse(input)
        if (typeof parsed === "string" && input.trim().length > 3) expect(parsed).not.toContain(input.trim())
      }),
      params
    )
  })
})

describe("route matching", () => {
  it("a pattern made of a path's segments matches it, with or without trailing slash, query or fragment", () => {
    fc.assert(
      fc.property(method, segments, fc.boolean(), fc.string({ maxLength: 10 }), (m, path, slash, query) => {
        const match = compile(`${m} /${path.join("/")}`).match
        const url = `${BASE}/${path.join("/")}${slash ? "/" : ""}`
        expect(match(m, url)).toBe(0)
        expect(match(m.toLowerCase(), `${url}?${query}`)).toBe(0)
        expect(match(m, `${url}#${query}`)).toBe(0)
        // A relative URL (plugins composed without a base URL) is matched as it is.
        expect(match(m, `/${path.join("//")}`)).toBe(0)
      }),
      params
    )
  })

  it("methods: a rule for some methods never matches another", () => {
    fc.assert(
      fc.property(fc.uniqueArray(method, { minLength: 1, maxLength: 3 }), method, segments, (ms, m, path) => {
        const match = compile(`${ms.join(",")} /${path.join("/")}`).match
        expect(match(m, `${BASE}/${path.join("/")}`)).toBe(ms.includes(m) ? 0 : -1)
      }),
      params
    )
  })

  it("`*` stands for exactly one segment, a final `**` for any number, none included", () => {
    fc.assert(
      fc.property(segments, segments, (head, tail) => {
        const url = `${BASE}/${[...head, ...tail].join("/")}`
        const one = compile(`GET /${[...head, "*"].join("/")}`).match
        expect(one("GET", url)).toBe(tail.length === 1 ? 0 : -1)
        const rest = compile(`GET /${[...head, "**"].join("/")}`).match
        expect(rest("GET", url)).toBe(0)
        const all = compile(`GET /${head.map(() => "*").join("/")}/**`).match
        expect(all("GET", url)).toBe(0)
      }),
      params
    )
  })

  it("first match wins: the index is the first rule that matches on its own", () => {
    const pattern = fc.tuple(
      fc.constantFrom("GET", "POST", "*"),
      fc.array(fc.constantFrom("a", "b", "*"), { maxLength: 3 }),
      fc.boolean()
    )
      .map(([m, parts, rest]) => `${m} /${[...parts, ...(rest ? ["**"] : [])].join("/")}`)
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 6 }),
        fc.constantFrom("GET", "POST"),
        fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 4 }),
        (patterns, m, path) => {
          const url = `${BASE}/${path.join("/")}`
          const alone = patterns.map((p) => compile(p).match(m, url) === 0)
          expect(compile(...patterns).match(m, url)).toBe(alone.indexOf(true))
        }
      ),
      params
    )
  })

  it("is relative to the base URL's path; another origin or path outside the base matches no rule", () => {
    const { match } = compile("GET /reports/**", "GET /**")
    expect(match("GET", `${BASE}/reports/2026/q1?format=pdf`)).toBe(0)
    expect(match("GET", `${BASE}/items/1`)).toBe(1)
    expect(match("GET", `${BASE}`)).toBe(1)
    expect(match("GET", "https://API.example.com:443/v1/reports/x")).toBe(0)
    expect(match("GET", "https://other.example.com/v1/reports/x")).toBe(-1)
    expect(match("GET", "http://api.example.com/v1/reports/x")).toBe(-1)
    expect(match("GET", "https://api.example.com/v10/reports/x")).toBe(-1)
    expect(match("GET", "https://api.example.com/v2/reports/x")).toBe(-1)
    expect(match("GET", `${BASE}/x/../reports/1`)).toBe(0)
  })

  it("never throws on any URL", () => {
    const { match } = compile("GET /reports/*", "* /**")
    fc.assert(fc.property(fc.string({ maxLength: 60 }), method, (url, m) => void match(m, url)), params)
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        expect(match("GET", url)).toBeGreaterThanOrEqual(-1)
      }),
      params
    )
  })
})
