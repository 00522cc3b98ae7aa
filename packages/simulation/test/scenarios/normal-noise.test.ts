import { Scenario, Simulation } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The shipped scenario at its full size, as a platform team would run it: every goal must hold.
it.live("the normal-noise scenario meets its goals", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("normal-noise", { seed: 7 })
    const missed = report.goals!.filter((goal) => !goal.passed)
    expect(missed, Simulation.toText(report)).toEqual([])
    expect(report.goals!.length).toBe(Scenario.get("normal-noise")!.goals.length)
  }), 180_000)

it.live("its goals catch a policy without retries", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("normal-noise", {
      seed: 7,
      client: { retry: { maxRetries: 0 } },
      traffic: { duration: "5 minutes" }
    })
    const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
    expect(missed).toContain("every call succeeds")
    expect(report.errors.ServerError).toBeGreaterThan(0)
  }), 60_000)
