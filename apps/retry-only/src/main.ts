#!/usr/bin/env node
/**
 * Runs the retry-only program against an embedded sandbox with realistic faults and prints a summary.
 */
import { RetryBudget } from "@bulwark/retry-schedules"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Redacted } from "effect"
import { program } from "./Program.js"

const main = Effect.gen(function*() {
  const sandbox = yield* Sandbox.Sandbox
  const summary = yield* program({
    baseUrl: sandbox.url,
    tokenUrl: sandbox.tokenUrl,
    clientId: SandboxConfig.demoClient.clientId,
    clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret),
    reads: 300,
    concurrency: 8
  })
  yield* Console.log(
    `retry-only: ${summary.succeeded}/${summary.reads} reads succeeded in ${summary.attempts} HTTP requests ` +
      `(${summary.budget.retriesGranted} retries granted, ${summary.budget.retriesDenied} denied by the budget)`
  )
  if (summary.succeeded !== summary.reads) {
    yield* Console.error(`failures by type: ${JSON.stringify(summary.failed)}`)
    process.exitCode = 1
  }
}).pipe(
  Effect.provide(RetryBudget.layer()),
  Effect.provide(Sandbox.layer({ preset: "realistic", seed: 7, quota: null })),
  Effect.provide(NodeHttpClient.layerUndici)
)

NodeRuntime.runMain(main)
