/**
 * What `bulwark-policy` does, as functions: the effective policy per route as text (or JSON), and a shipped
 * `@bulwark/simulation` scenario run against a policy, so a platform team can gate a policy change in CI from
 * code as well as from the shell.
 *
 * @example
 * ```ts
 * import { Policy } from "@bulwark/http-client"
 * import { PolicyCheck } from "@bulwark/policy"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const gate = Effect.gen(function*() {
 *   const policy = yield* Policy.load("policy.json")
 *   yield* Effect.log(PolicyCheck.toText(policy))
 *   const report = yield* PolicyCheck.simulate(policy, "outage")
 *   return report.goals!.every((goal) => goal.passed)
 * }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 */
import type { Policy } from "@bulwark/http-client"
import type { Scenario, Simulation } from "@bulwark/simulation"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/check.js"

/**
 * The effective policy as `bulwark-policy check` prints it: the client-wide settings, then for each route rule
 * (and for the requests no rule matches) every setting, its value and where it came from (`default`, `policy`,
 * or `rule "<name>"`), then warnings for rules an earlier rule shadows.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toText: (policy: Policy.Policy) => string = internal.toText

/**
 * The effective policy as JSON (`bulwark-policy check --json`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const toJson: (policy: Policy.Policy) => string = internal.toJson

/**
 * The overrides a scenario is run with: the policy's client settings and route rules (its `baseUrl` and `auth`
 * give way to the sandbox's), and its breaker when the policy sets `breaker` (otherwise the scenario's own).
 *
 * @since 0.1.0
 * @category simulating
 */
export const overridesOf: (policy: Policy.Policy) => Pick<Scenario.Overrides, "client" | "circuitBreaker"> =
  internal.overridesOf

/**
 * Runs a shipped scenario (`Scenario.names`) against the policy; the report's `goals` say whether it held.
 * `overrides` may change the seed and the traffic (a shorter run in CI), not the policy.
 *
 * @since 0.1.0
 * @category simulating
 */
export const simulate: (
  policy: Policy.Policy,
  scenario: string,
  overrides?: Omit<Scenario.Overrides, "client" | "circuitBreaker" | "pipeline">
) => Effect.Effect<Simulation.Report, Simulation.SimulationError> = internal.simulate
