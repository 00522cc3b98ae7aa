/**
 * Scenarios shipped with their goals: the failure patterns the partner API documents, each with what a
 * good policy must achieve under it.
 *
 * | name | what | goals |
 * |---|---|---|
 * | `normal-noise` | 30 min at 20 calls/s (10% writes), 0.9% 5xx, 2% slow, 5-min tokens, quota 50/s, with the breaker | 100% success, amplification ≤ 1.02, breaker never opens, no duplicate writes |
 * | `scaling-up` | 30 min at 20 calls/s, 40% 503 + Retry-After 2 s for 30 s of every minute | none sent early, ≥ 85% success, amplification ≤ 1.25 |
 * | `outage` | 10 min at 20 calls/s, 100% 503 from minute 1 to 6, no breaker | ≤ 100 retries in the outage (the retry budget), all calls before and after succeed, none sent early |
 * | `quota` | 10 min at 48 calls/s against 50 req/s, Retry-After as HTTP-date | 429s happen, none sent early, 100% success |
 * | `token-expiry` | 30 min, 50 callers at once every second, 5-min tokens | ≤ 1 token request per token lifetime, no 401, 100% success |
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as report from "./internal/report.js"
import * as internal from "./internal/scenarios.js"
import type * as Simulation from "./Simulation.js"

/**
 * A named scenario: its simulation options and its goals.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scenario {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly options: Simulation.Options
  readonly goals: ReadonlyArray<Goal>
}

/**
 * A goal: what it promises, and how a report is checked against it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Goal {
  /** The goal with the scenario's own settings (the retry budget's defaults, say). */
  readonly goal: string
  /**
   * The goal for the options a run actually used, naming its configured values rather than the defaults
   * (`Scenario.run("outage", { client: { deadline: "60 seconds" } })` reports "every call whose 60 s deadline
   * outlasts the outage ..."). Reports use it when present, `goal` otherwise.
   */
  readonly describe?: ((options: Simulation.Options) => string) | undefined
  readonly check: (
    report: Simulation.Report,
    options: Simulation.Options
  ) => { readonly actual: string; readonly passed: boolean }
}

/**
 * A goal checked against a report.
 *
 * @since 0.1.0
 * @category models
 */
export type GoalResult = report.GoalResult

/**
 * Every shipped scenario.
 *
 * @since 0.1.0
 * @category constants
 */
export const all: ReadonlyArray<Scenario> = internal.scenarios

/**
 * The names of the shipped scenarios.
 *
 * @since 0.1.0
 * @category constants
 */
export const names: ReadonlyArray<string> = internal.scenarios.map((scenario) => scenario.name)

/**
 * A shipped scenario by name, or `undefined`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (name: string): Scenario | undefined => internal.scenarios.find((scenario) => scenario.name === name)

/**
 * What a caller may change in a scenario: the seed, the traffic, the round trip, and the policy under test
 * (`client`, `pipeline`, `circuitBreaker`). The sandbox stays the scenario's, so its goals keep their meaning.
 *
 * @since 0.1.0
 * @category models
 */
export interface Overrides {
  readonly seed?: number | undefined
  readonly traffic?: Partial<Simulation.Traffic> | undefined
  readonly latency?: Simulation.Options["latency"]
  readonly client?: Simulation.Options["client"]
  readonly pipeline?: Simulation.Options["pipeline"]
  readonly circuitBreaker?: Simulation.Options["circuitBreaker"]
  readonly bucket?: Simulation.Options["bucket"]
}

/**
 * Runs a scenario (optionally with overrides) and checks its goals: the report's `goals` says which held.
 * It does not fail when a goal is missed; read `report.goals`.
 *
 * @example
 * ```ts
 * import { Scenario } from "@bulwark/simulation"
 * import { Effect } from "effect"
 *
 * // Does a policy with 5 retries still keep the outage's retries within the budget?
 * const check = Scenario.run("outage", { seed: 7, client: { retry: { maxRetries: 5 } } }).pipe(
 *   Effect.map((report) => report.goals!.every((goal) => goal.passed))
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  scenario: string | Scenario,
  overrides?: Overrides
) => Effect.Effect<Simulation.Report, Simulation.SimulationError> = internal.run
