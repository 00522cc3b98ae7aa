import { Policy } from "@bulwark/http-client"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Redacted, Schema } from "effect"
import * as fc from "fast-check"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const params = { seed: 18, numRuns: 200 }

const sample = {
  baseUrl: "https://api.partner.example/v1",
  auth: { tokenUrl: "https://auth.partner.example/oauth/token", clientId: "catalog-sync", scope: "items:read" },
  deadline: "20 seconds",
  retry: { maxRetries: 2 },
  routes: [
    { name: "reports", match: "GET /reports/**", attemptTimeout: "60 seconds", deadline: "2 minutes" },
    { name: "payments", match: "POST /payments", retry: false },
    { name: "item-reads", match: "GET /items/*", hedging: { delay: "p95" }, traffic: { maxWait: "2 seconds" } },
    { match: "GET /items/*/history", retry: { maxRetries: 5 }, breaker: false }
  ]
}

const decode = (input: unknown) => Policy.decodeEither(input)
const issuesOf = (input: unknown) =>
  Either.match(decode(input), { onLeft: (error) => error.issues, onRight: () => [] as const })

describe("the policy document", () => {
  it("fills every default and keeps the rules in order, each with its label and pattern", () => {
    const policy = Either.getOrThrow(decode(sample))
    expect(policy.document.attemptTimeout).toEqual(Duration.seconds(10))
    expect(policy.document.deadline).toEqual(Duration.seconds(20))
    expect(policy.document.retry).toMatchObject({ maxRetries: 2, maxRateLimitRetries: 10 })
    expect(policy.document.breaker).toBe(false)
    expect(policy.rules.map((rule) => rule.label)).toEqual([
      "reports",
      "payments",
      "item-reads",
      "GET /items/*/history"
    ])
    expect(policy.rules[2]!.hedging).toEqual({
      delay: "p95",
      maxHedges: 1,
      minDelay: Duration.millis(20),
      initialDelay: Duration.seconds(1)
    })
    expect(policy.rules[0]!.pattern).toMatchObject({ methods: ["GET"], segments: ["reports"], rest: true })
  })

  it("round trips: decoding what it encodes gives the same document", () => {
    const policy = Either.getOrThrow(decode(sample))
    const encoded = Schema.encodeSync(Policy.Document)(policy.document)
    const again = Either.getOrThrow(decode(encoded))
    expect(again.document).toEqual(policy.document)
    expect(again.rules).toEqual(policy.rules)
  })

  it("reports every problem at once, each by field and rule, never with a value", () => {
    const issues = issuesOf({
      baseUrl: "ftp://nope",
      deadline: "soon-ish",
      retry: { maxRetries: 99 },
      surprise: 1,
      routes: [
        { name: "reports", match: "GET reports", retry: { maxRetries: -1 } },
        { match: "GET /a/**/b" },
        { name: "x", match: "GET /x", hedging: { delay: "p100", maxHedges: 9 } },
        { name: "x", match: "GET /y" }
      ]
    })
    expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining([
      "baseUrl",
      "deadline",
      "retry.maxRetries",
      "surprise",
      "routes.0 (\"reports\").match",
      "routes.0 (\"reports\").retry.maxRetries",
      "routes.1.match",
      "routes.2 (\"x\").hedging.delay",
      "routes.2 (\"x\").hedging.maxHedges"
    ]))
    const text = JSON.stringify(issues)
    for (const value of ["ftp://nope", "soon-ish", "99", "p100"]) expect(text).not.toContain(value)
    // A duplicate name is a problem of the decoded document: reported once the rest is valid.
    const duplicate = issuesOf({ routes: [{ name: "x", match: "GET /x" }, { name: "x", match: "GET /y" }] })
    expect(duplicate).toEqual([{
      path: "routes.1 (\"x\").name",
      problem: "repeats the label of routes.0: give each rule its own name (it labels metrics and spans)"
    }])
  })

  it("refuses a secret written in the file, naming the field, never the secret", () => {
    const secret = "s3cr3t-Value-42"
    const issues = issuesOf({
      auth: {
        tokenUrl: "https://auth.example.com/token",
        clientId: "a",
        clientSecret: secret,
        extraParams: { client_assertion: secret }
      },
      routes: [{ match: "GET /x", password: secret }]
    })
    expect(issues.map((issue) => issue.path)).toEqual([
      "auth.clientSecret",
      "auth.extraParams.client_assertion",
      "routes.0 (\"GET /x\").password"
    ])
    expect(issues[0]!.problem).toContain("never carries one")
    expect(issues[0]!.problem).toContain("{ \"config\": \"PARTNER_CLIENT_SECRET\" }")
    expect(JSON.stringify(issues)).not.toContain(secret)
    expect(issuesOf({ auth: { token: secret } }).map((issue) => issue.path)).toEqual(["auth.token"])
  })

  it("a URL field is an address wherever it stands, even one whose name says token", () => {
    // Misplaced under an unknown key, the token endpoint's URL was once reported as a secret written in the file.
    const issues = issuesOf({ client: { auth: { tokenUrl: "https://auth.example.com/token", clientId: "a" } } })
    expect(issues.map((issue) => issue.problem).join("\n")).not.toContain("holds a secret")
    expect(issues.map((issue) => issue.path)).toEqual(["client"])
  })

  it("never throws, and every issue names a path, on any input", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), (input) => {
        const result = decode(input)
        if (Either.isLeft(result)) {
          expect(result.left.issues.length).toBeGreaterThan(0)
          for (const issue of result.left.issues) {
            expect(issue.path.length).toBeGreaterThan(0)
            expect(issue.problem.length).toBeGreaterThan(0)
          }
          expect(typeof result.left.message).toBe("string")
        }
      }),
      params
    )
  })

  it("near-valid documents: every issue names a path inside the document and echoes no string from it", () => {
    const canary = fc.string({ minLength: 6, maxLength: 12 }).map((s) => `CANARY${s}`)
    const value = fc.oneof(canary, fc.integer(), fc.boolean(), fc.constant(null), fc.constant("200 millis"))
    const rule = fc.record({
      name: fc.option(value, { nil: undefined }),
      match: fc.oneof(fc.constantFrom("GET /a/*", "POST /b", "/c/**"), canary),
      attemptTimeout: fc.option(value, { nil: undefined }),
      retry: fc.option(fc.oneof(fc.constant(false), fc.record({ maxRetries: value })), { nil: undefined }),
      hedging: fc.option(fc.oneof(fc.constant(false), fc.record({ delay: value, maxHedges: value })), {
        nil: undefined
      })
    }, { requiredKeys: ["match"] })
    const document = fc.record({
      baseUrl: fc.option(fc.oneof(fc.constant("https://api.example.com"), canary), { nil: undefined }),
      deadline: fc.option(value, { nil: undefined }),
      retry: fc.option(fc.oneof(fc.constant(false), fc.record({ maxRetries: value, jitter: value })), {
        nil: undefined
      }),
      traffic: fc.option(fc.oneof(fc.constant(false), fc.record({ maxQueue: value })), { nil: undefined }),
      routes: fc.option(fc.array(rule, { maxLength: 4 }), { nil: undefined })
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(document, (input) => {
        const result = decode(JSON.parse(JSON.stringify(input)))
        if (Either.isRight(result)) return
        const top = ["(policy)", "baseUrl", "deadline", "retry", "traffic", "routes"]
        for (const issue of result.left.issues) {
          expect(
            top.some((field) =>
              issue.path === field || issue.path.startsWith(`${field}.`) || issue.path.startsWith(`${field} `)
            )
          )
            .toBe(true)
          // Rule names are labels and may be quoted; nothing else from the document is.
          expect(issue.problem).not.toContain("CANARY")
        }
      }),
      params
    )
  })

  it.effect("JSON text: a syntax error gives line and column, never the text", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Policy.fromJson("{\n  \"deadline\": \"10 seconds\",\n  oops\n}", "policy.json"))
      expect(error.message).toContain("policy.json")
      expect(error.issues[0]!.problem).toMatch(/line 3, column 3/)
      expect(error.message).not.toContain("oops")
      const empty = yield* Effect.flip(Policy.fromJson("", "policy.json"))
      expect(empty.issues[0]!.problem).toContain("empty")
    }))

  it.effect("loads a file; a missing one names the file and the reason", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "bulwark-policy-"))
      const path = join(dir, "policy.json")
      writeFileSync(path, JSON.stringify(sample))
      const policy = yield* Policy.load(path)
      expect(policy.source).toBe(path)
      expect(policy.rules).toHaveLength(4)
      const missing = yield* Effect.flip(Policy.load(join(dir, "nope.json")))
      expect(missing.issues).toEqual([{ path: "(file)", problem: "cannot be read (NotFound): check the path" }])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("secrets come from the Config provider, as Redacted; a missing one names the field and the key", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.decode({
        ...sample,
        auth: { ...sample.auth, clientSecret: { config: "PARTNER_SECRET" } }
      })
      const config = yield* Policy.clientConfig(policy).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PARTNER_SECRET", "from-env"]])))
      )
      const auth = config.auth as { clientSecret: Redacted.Redacted<string>; clientId: string }
      expect(Redacted.value(auth.clientSecret)).toBe("from-env")
      expect(auth.clientId).toBe("catalog-sync")
      expect(config.baseUrl).toBe(sample.baseUrl)
      expect(String(auth.clientSecret)).not.toContain("from-env")

      const missing = yield* Effect.flip(
        Policy.clientConfig(policy).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      expect(missing.issues).toEqual([{
        path: "auth.clientSecret",
        problem: "names PARTNER_SECRET, which is not set: set it in the environment (or the Config provider)"
      }])

      const noBase = yield* Policy.decode({ auth: "none" })
      expect((yield* Effect.flip(Policy.clientConfig(noBase))).issues[0]!.path).toBe("baseUrl")
      expect((yield* Policy.clientConfig(noBase, { baseUrl: "http://127.0.0.1:1" })).baseUrl).toBe("http://127.0.0.1:1")
    }))

  it("the rule for a request: first match, relative to the base URL, query ignored", () => {
    const policy = Either.getOrThrow(decode(sample))
    const rule = (method: string, url: string) => Policy.ruleFor(policy, method, url)?.label
    expect(rule("GET", `${sample.baseUrl}/reports/2026/q1?format=pdf`)).toBe("reports")
    expect(rule("POST", `${sample.baseUrl}/payments/`)).toBe("payments")
    expect(rule("GET", `${sample.baseUrl}/items/7`)).toBe("item-reads")
    expect(rule("GET", `${sample.baseUrl}/items/7/history`)).toBe("GET /items/*/history")
    expect(rule("DELETE", `${sample.baseUrl}/items/7`)).toBeUndefined()
    expect(rule("GET", "https://elsewhere.example/v1/reports/1")).toBeUndefined()
  })

  it("the effective policy says where each value came from, and which rules are shadowed", () => {
    const policy = Either.getOrThrow(decode({
      ...sample,
      routes: [...sample.routes, { name: "shadowed", match: "GET /reports/2026" }]
    }))
    const view = Policy.effective(policy)
    const setting = (route: string, key: string) =>
      view.routes.find((r) => r.label === route)!.settings.find((s) => s.key === key)
    expect(setting("reports", "deadline")).toEqual({ key: "deadline", value: "2m", from: "rule \"reports\"" })
    expect(setting("reports", "attemptTimeout")).toEqual({
      key: "attemptTimeout",
      value: "1m",
      from: "rule \"reports\""
    })
    expect(setting("reports", "retry.maxRetries")).toEqual({ key: "retry.maxRetries", value: "2", from: "policy" })
    expect(setting("reports", "retry.base")).toEqual({ key: "retry.base", value: "200ms", from: "default" })
    expect(setting("payments", "retry")).toEqual({ key: "retry", value: "false", from: "rule \"payments\"" })
    expect(setting("item-reads", "hedging.delay")).toEqual({
      key: "hedging.delay",
      value: "p95",
      from: "rule \"item-reads\""
    })
    expect(setting("item-reads", "hedging.maxHedges")?.from).toBe("default")
    expect(setting("(other requests)", "deadline")).toEqual({ key: "deadline", value: "20s", from: "policy" })
    expect(setting("(other requests)", "hedging")).toEqual({ key: "hedging", value: "off", from: "default" })
    expect(view.warnings).toEqual([
      "routes.4 (\"shadowed\") never matches: routes.0 (\"reports\") matches every request it would, and the first match wins; move it above"
    ])
  })
})
