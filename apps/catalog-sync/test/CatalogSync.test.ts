import { Plugins } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { CliKit } from "@bulwark/sandbox/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Layer, Metric, MetricLabel, Option } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../src/Cli.js"
import type * as Report from "../src/Report.js"
import * as Sync from "../src/Sync.js"

const dir = mkdtempSync(join(tmpdir(), "catalog-sync-test-"))

const flags = (overrides: Partial<Cli.Flags> = {}): Cli.Flags => ({
  items: 100,
  file: Option.none(),
  concurrency: 8,
  baseUrl: Option.none(),
  tokenUrl: Option.none(),
  scope: Option.none(),
  preset: "realistic",
  seed: 7,
  attemptTimeoutMs: 1000,
  rate: Option.none(),
  report: [],
  ...overrides
})

/** Captures what the program prints (progress, report) as a non-TTY would see it. */
const capture = () => {
  const lines: Array<string> = []
  return { output: { isTTY: false, write: (text: string) => void lines.push(text) }, lines }
}

const runProgram = (f: Cli.Flags, output = capture().output) =>
  Cli.program(f, output).pipe(Effect.provide(NodeContext.layer))

describe("catalog-sync end to end against the embedded sandbox", () => {
  it.live("realistic: every item confirmed exactly once, with JSON and HTML reports", () =>
    Effect.gen(function*() {
      const json = join(dir, "realistic.json")
      const html = join(dir, "realistic.html")
      const { lines, output } = capture()
      const report = yield* runProgram(flags({ items: 150, report: [json, html] }), output)
      expect(report.ok).toBe(true)
      expect(report.items).toEqual({
        total: 150,
        confirmed: 150,
        missing: 0,
        duplicated: 0,
        wrongContent: 0,
        createFailures: 0,
        createWarnings: 0
      })

      // Non-TTY progress: plain lines, no carriage returns or escape codes.
      expect(lines.some((line) => line.startsWith("progress: "))).toBe(true)
      expect(lines.join("")).not.toContain("\r")
      expect(lines.join("")).not.toContain("\u001b[")

      const parsed = JSON.parse(readFileSync(json, "utf8")) as Report.Report
      expect(Object.keys(parsed)).toEqual(
        expect.arrayContaining([
          "ok",
          "items",
          "calls",
          "retries",
          "rateLimitWaitSeconds",
          "tokensFetched",
          "latencyMillis",
          "wallSeconds",
          "problems",
          "timeline"
        ])
      )
      expect(parsed.calls.logical).toBe(151)
      expect(parsed.calls.httpAttempts).toBeGreaterThanOrEqual(151)
      expect(parsed.tokensFetched).toBe(1)
      expect(parsed.server?.["duplicateSkus"]).toBe(0)
      expect(Object.keys(parsed.retries.byReason).sort()).toEqual([
        "401-refresh",
        "429",
        "5xx",
        "network",
        "other",
        "timeout"
      ])

      const page = readFileSync(html, "utf8")
      expect(page.startsWith("<!doctype html>")).toBe(true)
      expect(page).toContain("<svg")
      expect(page).not.toMatch(/\s(src|href)=/)
      expect(page).not.toMatch(/<link|<img|@import|url\(/)
      const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)![1]!)
      expect(data.perSecond.length).toBeGreaterThan(0)
      expect(data.report.items.confirmed).toBe(150)
    }), 60_000)

  it.live(
    "harsh: resets, hangs, 5xx, 429s and short-lived tokens, still every item exactly once",
    () =>
      Effect.gen(function*() {
        const report = yield* runProgram(flags({ items: 80, preset: "harsh", seed: 3 }))
        expect(report.ok).toBe(true)
        expect(report.items.confirmed).toBe(80)
        expect(report.retries.total).toBeGreaterThan(0)
        const server = report.server as { faultsInjected: Record<string, number>; duplicateSkus: number }
        expect(server.duplicateSkus).toBe(0)
        expect(Object.values(server.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      }),
    90_000
  )

  it.live("a re-run on the same API creates nothing twice (same idempotency keys)", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const real = flags({
        items: 30,
        baseUrl: Option.some(`${sandbox.url}/v1`),
        tokenUrl: Option.some(sandbox.tokenUrl)
      })
      const env = ConfigProvider.fromMap(
        new Map([["BULWARK_CLIENT_ID", SandboxConfig.demoClient.clientId], [
          "BULWARK_CLIENT_SECRET",
          SandboxConfig.demoClient.clientSecret
        ]])
      )
      yield* runProgram(real).pipe(Effect.withConfigProvider(env))
      const again = yield* runProgram(real).pipe(Effect.withConfigProvider(env))
      expect(again.ok).toBe(true)
      const stats = yield* sandbox.stats
      expect(stats.itemsStored).toBe(30)
      expect(stats.duplicateCreationsPrevented).toBe(30)
    }).pipe(Effect.provide(Layer.fresh(Sandbox.layer({ seed: 5 })))), 60_000)
})

describe("catalog-sync --policy", () => {
  it.live(
    "the embedded sandbox with a policy's settings: every item confirmed exactly once",
    () =>
      Effect.gen(function*() {
        const file = join(dir, "policy.json")
        writeFileSync(file, JSON.stringify({ deadline: "20 seconds", retry: { maxRetries: 4 } }))
        const report = yield* runProgram(flags({ items: 60, policy: Option.some(file) }))
        expect(report.ok).toBe(true)
        expect(report.items.confirmed).toBe(60)
      }),
    60_000
  )

  it.live(
    "the repository's policy.example.json: its route rules apply, every item confirmed exactly once",
    () =>
      Effect.gen(function*() {
        const example = fileURLToPath(new URL("../../../policy.example.json", import.meta.url))
        const creates = Metric.taggedWithLabels(Plugins.metrics.calls, [
          MetricLabel.make("route", "item-create"),
          MetricLabel.make("outcome", "201")
        ])
        const before = (yield* Metric.value(creates)).count
        const report = yield* runProgram(flags({ items: 60, policy: Option.some(example) }))
        expect(report.ok).toBe(true)
        expect(report.items.confirmed).toBe(60)
        // The creates went through the example's "item-create" rule, counted under its name.
        expect((yield* Metric.value(creates)).count - before).toBeGreaterThanOrEqual(60)
      }),
    60_000
  )

  it.live(
    "a real API through the policy's auth, its secret from the variable the policy names",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const file = join(dir, "policy-auth.json")
        writeFileSync(
          file,
          JSON.stringify({
            auth: {
              tokenUrl: sandbox.tokenUrl,
              clientId: SandboxConfig.demoClient.clientId,
              clientSecret: { config: "SANDBOX_SECRET" }
            }
          })
        )
        const run = flags({ items: 20, baseUrl: Option.some(`${sandbox.url}/v1`), policy: Option.some(file) })
        const report = yield* runProgram(run).pipe(
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["SANDBOX_SECRET", SandboxConfig.demoClient.clientSecret]]))
          )
        )
        expect(report.ok).toBe(true)
        const missing = yield* Effect.flip(
          runProgram(run).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        expect(missing.message).toContain("auth.clientSecret: names SANDBOX_SECRET, which is not set")
      }).pipe(Effect.provide(Layer.fresh(Sandbox.layer({ seed: 5 })))),
    60_000
  )

  it.live("a policy that does not decode: exit code 2, one line per problem, no value from the file", () =>
    Effect.gen(function*() {
      const file = join(dir, "bad-policy.json")
      writeFileSync(file, JSON.stringify({ deadline: "whenever", routes: [{ match: "GET items" }] }))
      const error = yield* Effect.flip(runProgram(flags({ policy: Option.some(file) })))
      if (error._tag !== "RunFailed") throw new Error(`expected RunFailed, got ${error._tag}`)
      expect(error.exitCode).toBe(2)
      expect(error.message).toContain("2 problem(s) in the policy")
      expect(error.message).toMatch(/\n {2}deadline: /)
      expect(error.message).toMatch(/\n {2}routes\.0\.match: /)
      expect(error.message).not.toContain("whenever")
    }))
})

describe("catalog-sync bad input: a clear message and exit code 2, no stack trace", () => {
  const expectFailure = (f: Cli.Flags, pattern: RegExp, exitCode = 2) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(runProgram(f))
      if (error._tag !== "RunFailed") throw new Error(`expected RunFailed, got ${error._tag}`)
      expect(error.exitCode).toBe(exitCode)
      expect(error.message).toMatch(pattern)
      expect(error.message).not.toMatch(/\n\s+at /)
      return error
    })

  it.live("a missing catalog file", () =>
    expectFailure(flags({ file: Option.some(join(dir, "nope.csv")) }), /does not exist/))

  it.live("malformed CSV rows are listed", () =>
    Effect.gen(function*() {
      const file = join(dir, "bad.csv")
      writeFileSync(file, "sku,name,price\nA,Lamp,1\nB,,2\nC,Chair,free\n")
      yield* expectFailure(flags({ file: Option.some(file) }), /row 3: name[\s\S]*row 4: price/)
    }))

  it.live("an unreachable API", () =>
    expectFailure(
      flags({ baseUrl: Option.some("http://127.0.0.1:1/v1"), tokenUrl: Option.some("http://127.0.0.1:1/oauth/token") }),
      /Could not get an access token[\s\S]*could not be reached/
    ).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(new Map([["BULWARK_CLIENT_ID", "x"], ["BULWARK_CLIENT_SECRET", "y"]]))
      )
    ), 30_000)

  it.live("wrong credentials: the 401 advice in words", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const error = yield* expectFailure(
        flags({ baseUrl: Option.some(`${sandbox.url}/v1`), tokenUrl: Option.some(sandbox.tokenUrl) }),
        /refused the credentials \(401\)/
      ).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([["BULWARK_CLIENT_ID", "bulwark-demo"], ["BULWARK_CLIENT_SECRET", "wrong-secret"]])
          )
        )
      )
      expect(error.message).not.toContain("wrong-secret")
    }).pipe(Effect.provide(Layer.fresh(Sandbox.layer({ seed: 6 })))))

  it.live("no credentials in the environment for a real API", () =>
    expectFailure(
      flags({ baseUrl: Option.some("http://127.0.0.1:1/v1"), tokenUrl: Option.some("http://127.0.0.1:1/t") }),
      /set BULWARK_CLIENT_ID and BULWARK_CLIENT_SECRET/
    ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.live("a read-only account: the 403 advice, exit code 1", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      yield* expectFailure(
        flags({ items: 3, baseUrl: Option.some(`${sandbox.url}/v1`), tokenUrl: Option.some(sandbox.tokenUrl) }),
        /Nothing could be created[\s\S]*Grant the service account the role/,
        1
      ).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([["BULWARK_CLIENT_ID", SandboxConfig.readOnlyClient.clientId], [
              "BULWARK_CLIENT_SECRET",
              SandboxConfig.readOnlyClient.clientSecret
            ]])
          )
        )
      )
    }).pipe(Effect.provide(Layer.fresh(Sandbox.layer({ seed: 8 })))))
})

describe("verification", () => {
  it("finds missing, duplicated and wrong items", () => {
    const catalog = [
      { sku: "A", name: "a", price: 1, tags: [] },
      { sku: "B", name: "b", price: 2, tags: ["x"] },
      { sku: "C", name: "c", price: 3, tags: [] },
      { sku: "D", name: "d", price: 4, tags: [] }
    ]
    const listed = [
      { id: "1", sku: "A", name: "a", price: 1, tags: [] },
      { id: "2", sku: "B", name: "b", price: 2, tags: ["y"] },
      { id: "3", sku: "C", name: "c", price: 3, tags: [] },
      { id: "4", sku: "C", name: "c", price: 3, tags: [] }
    ]
    expect(Sync.verify(catalog, listed)).toEqual({
      confirmed: 1,
      missing: ["D"],
      duplicated: [{ sku: "C", count: 2 }],
      mismatched: [{ sku: "B", problem: "tags are [y], expected [x]" }],
      listed: 4
    })
  })
})

describe("catalog-sync flags are checked before anything runs", () => {
  const runCli = (args: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const console = yield* Effect.console
      const exit = yield* Cli.run(["node", "catalog-sync", ...args]).pipe(
        Console.withConsole({
          ...console,
          log: (...parts) => Effect.sync(() => void out.push(parts.join(" "))),
          error: (...parts) => Effect.sync(() => void out.push(parts.join(" ")))
        }),
        Effect.provide(NodeContext.layer),
        Effect.exit
      )
      return { exit, output: out.join("\n") }
    })

  it.live("--report x.txt fails with exit code 2 before the sync starts", () =>
    Effect.gen(function*() {
      const { exit, output } = yield* runCli(["--items", "5", "--report", "x.txt"])
      expect(CliKit.exitCode(exit)).toBe(2)
      expect(output).toContain("--report x.txt: use a file name ending in .json or .html")
      expect(output).not.toContain("catalog-sync:")
    }))

  it.live("flag errors name the flag; the usage shows --report as optional", () =>
    Effect.gen(function*() {
      const concurrency = yield* runCli(["--concurrency", "0"])
      expect(CliKit.exitCode(concurrency.exit)).toBe(2)
      expect(concurrency.output).toContain("--concurrency \"0\" is not a whole number from 1 to 256")
      const preset = yield* runCli(["--preset", "chaos"])
      expect(preset.output).toContain("--preset \"chaos\" is not one of: none, realistic, harsh")
      const help = yield* runCli(["--help"])
      expect(help.output).toContain("[--report report.html...]")
    }))
})
