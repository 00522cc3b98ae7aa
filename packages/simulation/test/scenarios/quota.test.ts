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

it.live(
  "its goals catch a client that only honours each 429's Retry-After (no traffic controller)",
  () =>
    Effect.gen(function*() {
      // Every caller waits out its own 429 and comes back at the same rounded-up second as the others: a herd
      // that overruns each window and collects a 429 per caller.
      const report = yield* Scenario.run("quota", { seed: 7, client: { traffic: false } })
      const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
      expect(missed.some((goal) => goal.includes("at most 1 429 per one-second window"))).toBe(true)
    }),
  180_000
)
