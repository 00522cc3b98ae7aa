import { Policy } from "@bulwark/http-client"
import { Scenario, type Simulation } from "@bulwark/simulation"
import * as Effect from "effect/Effect"

type Overrides = NonNullable<Parameters<typeof Scenario.run>[1]>

/** The lines of `bulwark-policy check`: client-wide settings, each route's, warnings. */
export const toText = (policy: Policy.Policy): string => {
  const view = Policy.effective(policy)
  const rules = policy.rules.length
  const lines: Array<string> = [
    `Policy ${policy.source}: valid, ${rules} route rule${rules === 1 ? "" : "s"} (first match wins)`,
    ""
  ]
  const table = (settings: ReadonlyArray<Policy.Setting>) => {
    const keyWidth = Math.max(...settings.map((s) => s.key.length))
    const valueWidth = Math.min(60, Math.max(...settings.map((s) => s.value.length)))
    for (const setting of settings) {
      lines.push(`  ${setting.key.padEnd(keyWidth)}  ${setting.value.padEnd(valueWidth)}  ${setting.from}`)
    }
    lines.push("")
  }
  lines.push("client (every route, one per origin)")
  table(view.client)
  for (const route of view.routes) {
    lines.push(route.match === undefined ? route.label : `route ${JSON.stringify(route.label)}: ${route.match}`)
    table(route.settings)
  }
  if (view.warnings.length > 0) {
    lines.push("warnings")
    for (const warning of view.warnings) lines.push(`  ! ${warning}`)
    lines.push("")
  }
  lines.push("from: default = Bulwark's default; policy = the policy's top level; rule \"<name>\" = that rule")
  return lines.join("\n")
}

/** `bulwark-policy check --json`. */
export const toJson = (policy: Policy.Policy): string =>
  JSON.stringify({ source: policy.source, ...Policy.effective(policy) }, null, 2)

/**
 * What a scenario is run with: the policy's client settings (its `baseUrl` and `auth` give way to the sandbox's),
 * and its breaker when the policy sets one (otherwise the scenario's own).
 */
export const overridesOf = (policy: Policy.Policy): Pick<Overrides, "client" | "circuitBreaker"> => {
  const { $schema: _schema, auth: _auth, baseUrl: _baseUrl, breaker, routes, ...client } = policy.written
  return {
    client: { ...client, ...(routes === undefined ? {} : { routes }) } as Simulation.Options["client"],
    ...(breaker === undefined
      ? {}
      : {
        circuitBreaker: policy.document.breaker as Simulation.Options["circuitBreaker"]
      })
  }
}

/** Runs one shipped scenario against the policy. */
export const simulate = (
  policy: Policy.Policy,
  scenario: string,
  overrides?: Omit<Overrides, "client" | "circuitBreaker" | "pipeline">
): Effect.Effect<Simulation.Report, Simulation.SimulationError> =>
  // The overrides are built when the effect runs, not when it is made (nothing runs at description time).
  Effect.suspend(() => Scenario.run(scenario, { ...overrides, ...overridesOf(policy) }))
