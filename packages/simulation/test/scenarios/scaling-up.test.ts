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
  "with the circuit breaker at its defaults, the brown-out turns into failures (what this scenario is for)",
  () =>
    Effect.gen(function*() {
      // 40% of attempts fail in each window, far above the breaker's default 10% threshold: it opens, and the
      // calls it refuses fail at once instead of being retried after Retry-After.
      const report = yield* Scenario.run("scaling-up", {
        seed: 7,
        circuitBreaker: true,
        traffic: { duration: "5 minutes" }
      })
      expect(report.breaker.opened).toBeGreaterThan(0)
      // Transitions carry their simulated time: the first opening falls in the first window (from 5 s).
      const [first] = report.breaker.transitions
      expect(first).toMatchObject({ from: "closed", to: "open" })
      expect(first!.atSeconds).toBeGreaterThan(5)
      expect(first!.atSeconds).toBeLessThan(35)
      expect(report.errors.CircuitOpen).toBeGreaterThan(0)
      expect(report.goals!.find((goal) => goal.goal.startsWith("at least 85%"))!.passed).toBe(false)
    }),
  60_000
)
