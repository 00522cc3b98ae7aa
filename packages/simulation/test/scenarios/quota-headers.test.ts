import { Scenario, Simulation } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The shipped scenario at its full size, as a platform team would run it: every goal must hold.
it.live("the quota-headers scenario meets its goals", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("quota-headers", { seed: 7 })
    const missed = report.goals!.filter((goal) => !goal.passed)
    expect(missed, Simulation.toText(report)).toEqual([])
    expect(report.goals!.length).toBe(Scenario.get("quota-headers")!.goals.length)
  }), 180_000)

it.live("its goals catch a client that ignores the RateLimit headers", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("quota-headers", { seed: 7, client: { traffic: false } })
    const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
    expect(missed).toContain("no 429 after the first second")
  }), 180_000)
