import { Scenario } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// A goal names the value the run was configured with, not the default it was written for.
it.live("the outage goal names the configured retry budget, and is checked against it", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("outage", {
      seed: 7,
      client: { budget: { capacity: 1000 } },
      traffic: { duration: "2 minutes" }
    })
    const retries = report.goals!.find((goal) => goal.goal.startsWith("retries during the outage"))!
    expect(retries.goal).toBe(
      "retries during the outage ≤ 200 (retry budget: 1000 tokens at 5 per retry, no refill without successes)"
    )
    const count = report.attempts.total - report.calls.total
    expect(retries.passed).toBe(count <= 200)
  }), 120_000)

it("without overrides, the goal says the defaults; with the budget off, it says so", () => {
  const goal = Scenario.get("outage")!.goals[0]!
  expect(goal.goal).toBe(
    "retries during the outage ≤ 100 (retry budget: 500 tokens at 5 per retry, no refill without successes)"
  )
  expect(goal.describe!({ traffic: { rate: 1, duration: "1 minute" }, client: { budget: false } })).toContain(
    "this run turned the budget off"
  )
  expect(goal.describe!({ traffic: { rate: 1, duration: "1 minute" }, client: { budget: { retryCost: 10 } } }))
    .toContain("≤ 50 (retry budget: 500 tokens at 10 per retry")
})
