import { RetryBudget } from "@bulwark/retry-schedules"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Random, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { program } from "../src/Program.js"

const run = (config: Parameters<typeof Sandbox.layer>[0]) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    return yield* program({
      baseUrl: sandbox.url,
      tokenUrl: sandbox.tokenUrl,
      clientId: SandboxConfig.demoClient.clientId,
      clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret),
      reads: 200,
      concurrency: 8
    })
  }).pipe(
    Effect.withRandom(Random.make(3)),
    Effect.provide(Layer.mergeAll(Sandbox.layer(config), RetryBudget.layer(), NodeHttpClient.layerUndici))
  )

describe("retry-only", () => {
  it.live("every read succeeds through 5xx noise with core-errors and retry-schedules alone", () =>
    Effect.gen(function*() {
      const summary = yield* run({
        seed: 7,
        faults: { serverError: { probability: 0.05, statuses: [500, 502, 503, 504] } }
      })
      expect(summary.succeeded).toBe(200)
      expect(summary.attempts).toBeGreaterThan(201)
      expect(summary.budget.retriesGranted).toBe(summary.attempts - 201)
    }))

  it.live("503s with Retry-After are waited out and retried", () =>
    Effect.gen(function*() {
      const summary = yield* run({ seed: 8, faults: { unavailable: { probability: 0.05, retryAfterSeconds: 0 } } })
      expect(summary.succeeded).toBe(200)
    }))

  it("depends on core-errors and retry-schedules only, not on the client or token packages", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      dependencies: Record<string, string>
    }
    const bulwark = Object.keys(pkg.dependencies).filter((name) => name.startsWith("@bulwark/"))
    expect(bulwark.sort()).toEqual(["@bulwark/core-errors", "@bulwark/retry-schedules", "@bulwark/sandbox"])
  })
})
