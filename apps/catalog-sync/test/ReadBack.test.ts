/**
 * The read-back decides: an item confirmed exactly once with the right content is a success even when its
 * create ended in an error (the error is a warning); the report counts every problem, however many it lists.
 */
import { ApiClient, RateLimitGate } from "@bulwark/http-client"
import { type Faults, Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Random, Redacted, TestClock } from "effect"
import * as Catalog from "../src/Catalog.js"
import * as Cli from "../src/Cli.js"
import * as Report from "../src/Report.js"
import * as Sync from "../src/Sync.js"

/**
 * Runs the job against the in-memory sandbox on the test's clock, one create at a time (so the sequence of
 * requests, and with it the run, is the same every time). `faultsFor` chooses the sandbox's faults for each
 * request just before the sandbox sees it, by its method and idempotency key.
 */
const syncInMemory = (
  catalog: ReadonlyArray<Catalog.CatalogItem>,
  faultsFor: (method: string, idempotencyKey: string | undefined) => Faults.Input
) =>
  Effect.gen(function*() {
    const { client, sandbox } = yield* Sandbox.makeInMemory({ seed: 31337 })
    const transport = HttpClient.mapRequestEffect(client, (request) =>
      Effect.as(
        Effect.orDie(sandbox.setFaults(faultsFor(request.method, request.headers["idempotency-key"]))),
        request
      ))
    const gate = yield* RateLimitGate.makeMemory
    const api = yield* ApiClient.make({
      baseUrl: `${sandbox.url}/v1`,
      auth: {
        tokenUrl: sandbox.tokenUrl,
        clientId: SandboxConfig.demoClient.clientId,
        clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret),
        eager: true
      }
    }).pipe(
      Effect.provideService(HttpClient.HttpClient, transport),
      Effect.provideService(RateLimitGate.RateLimitGate, gate)
    )
    const fiber = yield* Sync.run(catalog, {
      concurrency: 1,
      pageSize: 500,
      tickMillis: 1000,
      origin: new URL(sandbox.url).origin,
      onProgress: () => Effect.void
    }).pipe(
      Effect.provideService(ApiClient.ApiClient, api),
      Effect.provideService(RateLimitGate.RateLimitGate, gate),
      Effect.fork
    )
    // Backoffs are slept on the TestClock: move it until the job is done (a few simulated seconds).
    for (let second = 0; second < 600 && Option.isNone(yield* Fiber.poll(fiber)); second++) {
      yield* TestClock.adjust("1 second")
    }
    const outcome = yield* Fiber.join(fiber)
    const report = Report.make(outcome, "in-memory sandbox", { ...(yield* sandbox.stats) })
    return { outcome, report, stats: yield* sandbox.stats }
  }).pipe(Effect.scoped)

const catalog = Catalog.generate(12).pipe(Effect.withRandom(Random.make(31337)))

describe("a create that ended in an error, settled by the read-back", () => {
  it.effect("applied, then reset on every attempt: the item is confirmed, so a warning and success (exit 0)", () =>
    Effect.gen(function*() {
      const items = yield* catalog
      const unlucky = items[4]!
      const { report, stats } = yield* syncInMemory(
        items,
        (method, key) => method === "POST" && key === Sync.idempotencyKeyOf(unlucky) ? { resetAfter: 1 } : {}
      )
      // The sandbox applied the create once, then reset every attempt (the retries replayed it).
      expect(stats.itemsStored).toBe(12)
      expect(stats.duplicateSkus).toBe(0)
      expect(stats.faultsInjected["resetAfter"]).toBe(4)
      expect(stats.duplicateCreationsPrevented).toBe(3)

      expect(report.ok).toBe(true)
      expect(report.items).toEqual({
        total: 12,
        confirmed: 12,
        missing: 0,
        duplicated: 0,
        wrongContent: 0,
        createFailures: 0,
        createWarnings: 1
      })
      expect(report.problemCount).toBe(0)
      expect(report.problems).toEqual([])
      expect(report.warningCount).toBe(1)
      expect(report.warnings).toHaveLength(1)
      expect(report.warnings[0]).toMatch(/^CS-000005: the create failed, but the item was confirmed on read-back: /)
      expect(report.warnings[0]).toMatch(/ECONNRESET|connection|reset/i)

      const text = Report.toText(report)
      expect(text).toContain("OK: every item confirmed exactly once (1 warning)")
      expect(text).toContain("warnings: 1 create failed but the item was confirmed on read-back")
      expect(text).not.toContain("problems:")
      expect(Report.toHtml(report)).toContain("<h2>Warnings</h2>")

      // The exit: success, code 0.
      expect(yield* Cli.verdict(report)).toBe(report)
    }))

  it.effect("reset before the API saw it, on every attempt: the item is missing, so still a failure (exit 1)", () =>
    Effect.gen(function*() {
      const items = yield* catalog
      const unlucky = items[4]!
      const { report, stats } = yield* syncInMemory(
        items,
        (method, key) => method === "POST" && key === Sync.idempotencyKeyOf(unlucky) ? { resetBefore: 1 } : {}
      )
      expect(stats.itemsStored).toBe(11)
      expect(report.ok).toBe(false)
      expect(report.items).toMatchObject({ confirmed: 11, missing: 1, createFailures: 1, createWarnings: 0 })
      expect(report.warningCount).toBe(0)
      expect(report.problemCount).toBe(2)
      expect(report.problems).toEqual([expect.stringMatching(/^CS-000005: create failed: /), "CS-000005: missing"])
      const error = yield* Effect.flip(Cli.verdict(report))
      expect(error.exitCode).toBe(1)
      expect(error.message).toBe("catalog-sync found 2 problem(s); see the report above.")
    }))
})

describe("settleCreateErrors", () => {
  const verification: Sync.Verification = {
    confirmed: 2,
    missing: ["C"],
    duplicated: [{ sku: "D", count: 2 }],
    mismatched: [{ sku: "E", problem: "price is 1, expected 2" }],
    listed: 5
  }
  const errors = ["A", "C", "D", "E"].map((sku) => ({ sku, error: "reset" }))

  it("an error of a confirmed item is a warning; of a missing, duplicated or wrong item a failure", () => {
    expect(Sync.settleCreateErrors(errors, verification)).toEqual({
      failures: [{ sku: "C", error: "reset" }, { sku: "D", error: "reset" }, { sku: "E", error: "reset" }],
      warnings: [{ sku: "A", error: "reset" }]
    })
  })

  it("without a read-back nothing is confirmed: every error stays a failure", () => {
    expect(Sync.settleCreateErrors(errors, undefined)).toEqual({ failures: errors, warnings: [] })
  })
})

describe("the problem count", () => {
  /** An outcome of 7,321 items with more problems of some kinds than the report lists. */
  const outcome = (): Sync.Outcome => {
    const sku = (n: number) => `CS-${String(n).padStart(6, "0")}`
    const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => sku(from + i))
    const missing = range(1, 120)
    return {
      items: 7321,
      createFailures: missing.map((s) => ({ sku: s, error: "ECONNRESET" })),
      createWarnings: range(2000, 57).map((s) => ({ sku: s, error: "ECONNRESET" })),
      verification: {
        confirmed: 7321 - 120 - 3 - 60,
        missing,
        duplicated: range(1000, 3).map((s) => ({ sku: s, count: 2 })),
        mismatched: range(3000, 60).map((s) => ({ sku: s, problem: "price is 1, expected 2" })),
        listed: 7321 - 120 + 3
      },
      verificationError: undefined,
      logicalCalls: 7336,
      counters: {
        attempts: { initial: 7336, "5xx": 0, timeout: 0, network: 0, "401-refresh": 0, "429": 0, other: 0 },
        retryWaitMillis: { initial: 0, "5xx": 0, timeout: 0, network: 0, "401-refresh": 0, "429": 0, other: 0 },
        gateWaitMillis: 0,
        tokensFetched: 1
      },
      createLatenciesMillis: [],
      timeline: [],
      wallMillis: 1000
    }
  }

  it("is the true total; the report says how many of each kind it does not list", () => {
    const report = Report.make(outcome(), "test")
    // 120 create failures + 120 missing + 3 duplicated + 60 wrong content.
    expect(report.ok).toBe(false)
    expect(report.problemCount).toBe(303)
    expect(report.problems).toHaveLength(50 + 50 + 3 + 50)
    expect(report.problemsNotShown).toBe(150)
    expect(report.problemsNotShownByKind).toEqual({ createFailed: 70, missing: 70, wrongContent: 10 })
    expect(report.warningCount).toBe(57)
    expect(report.warnings).toHaveLength(50)
    expect(report.warningsNotShown).toBe(7)

    const text = Report.toText(report)
    expect(text).toContain("FAILED: 303 problem(s); listing the first 50 of each kind, 150 not shown")
    expect(text).toContain("problems: 303")
    expect(text).toContain("  ... 150 more not shown (70 create failures, 70 missing, 10 wrong content)")
    expect(text).toContain("warnings: 57 creates failed but their items were confirmed on read-back")
    expect(text).toContain("  ... 7 more not shown")
    expect(Report.toHtml(report)).toContain("150 more not shown (70 create failures, 70 missing, 10 wrong content)")
  })

  it("the exit message gives the true total too", () =>
    Effect.runPromise(Effect.gen(function*() {
      const error = yield* Effect.flip(Cli.verdict(Report.make(outcome(), "test")))
      expect(error.exitCode).toBe(1)
      expect(error.message).toBe(
        "catalog-sync found 303 problem(s) (the report lists the first 50 of each kind); see the report above."
      )
    })))

  it("under the listing limit nothing is said to be cut", () => {
    const small = outcome()
    const report = Report.make({
      ...small,
      createFailures: [],
      createWarnings: [],
      verification: { ...small.verification!, missing: ["CS-000001"], duplicated: [], mismatched: [] }
    }, "test")
    expect(report.problemCount).toBe(1)
    expect(report.problemsNotShown).toBe(0)
    expect(Report.toText(report)).toContain("FAILED: 1 problem(s)\n")
    expect(Report.toText(report)).not.toContain("not shown")
  })
})
