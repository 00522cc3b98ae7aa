import { Scenario, Simulation } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The shipped scenario at its full size, as a platform team would run it: every goal must hold.
it.live("the outage scenario meets its goals", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("outage", { seed: 7 })
    const missed = report.goals!.filter((goal) => !goal.passed)
    expect(missed, Simulation.toText(report)).toEqual([])
    expect(report.goals!.length).toBe(Scenario.get("outage")!.goals.length)
  }), 180_000)

it.live("its goals catch a policy without a retry budget or traffic controller", () =>
  Effect.gen(function*() {
    // The traffic controller holds calls back while the origin says "come back in 5 s" (outage mode, one probe
    // at a time), and the budget bounds what retries remain. Without both, every call retries on its own.
    const report = yield* Scenario.run("outage", {
      seed: 7,
      client: { budget: false, traffic: false },
      traffic: { duration: "2 minutes" }
    })
    const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
    expect(missed.some((goal) => goal.startsWith("at most 1.2 attempts per call"))).toBe(true)
    expect(report.attempts.total - report.calls.total).toBeGreaterThan(1_000)
  }), 180_000)
