import { Scenario, Simulation } from "@bulwark/simulation"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The shipped scenario at its full size, as a platform team would run it: every goal must hold.
it.live("the scaling-up scenario meets its goals", () =>
  Effect.gen(function*() {
    const report = yield* Scenario.run("scaling-up", { seed: 7 })
    const missed = report.goals!.filter((goal) => !goal.passed)
    expect(missed, Simulation.toText(report)).toEqual([])
    expect(report.goals!.length).toBe(Scenario.get("scaling-up")!.goals.length)
  }), 180_000)

it.live(
  "its goals catch a breaker that counts load shedding (a 503 with Retry-After) as ill health",
  () =>
    Effect.gen(function*() {
      // 40% of attempts are 503s with Retry-After in each window. A breaker that counts them (as it did before)
      // opens in every window and fails the calls it refuses.
      const report = yield* Scenario.run("scaling-up", {
        seed: 7,
        circuitBreaker: {
          isFailure: (error) =>
            typeof error === "object" && error !== null && "_tag" in error &&
            (error._tag === "ServerError" || error._tag === "Timeout" || error._tag === "NetworkError")
        },
        traffic: { duration: "5 minutes" }
      })
      expect(report.breaker.opened).toBeGreaterThan(0)
      const missed = report.goals!.filter((goal) => !goal.passed).map((goal) => goal.goal)
      expect(missed, Simulation.toText(report)).toContain("at least 90% of calls succeed")
    }),
  60_000
)
