import { Scenario, Simulation } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The shipped scenario at its full size, as a platform team would run it: every goal must hold.
it.live("the quota scenario meets its goals", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("quota", { seed: 7 })
    const missed = report.goals!.filter((goal) => !goal.passed)
    expect(missed, Simulation.toText(report)).toEqual([])
    expect(report.goals!.length).toBe(Scenario.get("quota")!.goals.length)
  }), 180_000)

it.live("its goals catch a policy without the 429 gate", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("quota", {
      seed: 7,
      client: { rateLimitGate: false },
      traffic: { duration: "3 minutes" }
    })
    const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
    expect(missed).toContain("no request is sent before a Retry-After has passed")
  }), 60_000)
