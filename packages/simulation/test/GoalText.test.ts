import { Scenario } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// A goal names the value the run was configured with, not the default it was written for.
it.live("the outage goal names the configured deadline, and is checked against it", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("outage", { seed: 7, client: { deadline: "20 seconds" } })
    const outlasts = report.goals!.find((goal) => goal.goal.startsWith("every call whose"))!
    expect(outlasts.goal).toBe(
      "every call whose 20 s deadline outlasts the outage (and the time to find its end and drain the queue) succeeds"
    )
    // The end (360 s), plus 5 s to the probe that finds it, 1 s for its answer and 5 s for a queue of 400 calls
    // to drain on the recovery ramp, less the 20 s deadline.
    expect(outlasts.actual).toContain("arriving from 351 s on")
    expect(outlasts.passed).toBe(true)
  }), 120_000)

it("without overrides, the goal says the default; a custom pipeline is described with the default", () => {
  const goal = Scenario.get("outage")!.goals.find((g) => g.describe !== undefined)!
  expect(goal.goal).toBe(
    "every call whose 30 s deadline outlasts the outage (and the time to find its end and drain the queue) succeeds"
  )
  expect(goal.describe!({ traffic: { rate: 1, duration: "1 minute" }, client: { deadline: "45 seconds" } }))
    .toContain("whose 45 s deadline")
  expect(goal.describe!({ traffic: { rate: 1, duration: "1 minute" } })).toContain("whose 30 s deadline")
})
