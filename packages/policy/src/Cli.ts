/**
 * The `bulwark-policy` command line (in a clone of the repository, `npm run policy -- ...`):
 *
 * ```sh
 * bulwark-policy check policy.json                       # validate; print the effective policy per route
 * bulwark-policy check policy.json --json
 * bulwark-policy simulate policy.json --scenario outage  # exits 1 when a goal of the scenario is missed
 * ```
 *
 * `check` prints, for the client and for each route rule (and the requests no rule matches), every setting, its
 * value and where it came from: `default` (Bulwark's), `policy` (the file's top level) or `rule "<name>"`; and
 * warns about rules an earlier rule shadows. `simulate` runs a shipped `@bulwark/simulation` scenario in virtual
 * time with the policy's settings and rules (`--seed`, `--duration`, `--rate` change the run, not the policy;
 * `--json`, `--html` the report's format).
 *
 * Exit codes: 0 the policy is valid (and every goal held), 1 a goal was missed (or the run could not start),
 * 2 bad input: a flag, a file that cannot be read or is not JSON, or a policy that does not decode (one line per
 * problem, naming its field and rule, never a value from the file).
 *
 * @since 0.1.0
 */
import type { Simulation } from "@bulwark/simulation"
import type * as CliApp from "@effect/cli/CliApp"
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/cli.js"

/**
 * The command, to embed in a larger CLI (`Command.withSubcommands`).
 *
 * @since 0.1.0
 * @category commands
 */
export const command: typeof internal.command = internal.command

/**
 * A policy file that cannot be used: exit code 2.
 *
 * @since 0.1.0
 * @category errors
 */
export const PolicyInvalid: typeof internal.PolicyInvalid = internal.PolicyInvalid

/**
 * A missed scenario goal: exit code 1.
 *
 * @since 0.1.0
 * @category errors
 */
export const GoalsMissed: typeof internal.GoalsMissed = internal.GoalsMissed

/**
 * Runs the command line on `process.argv`-style arguments (`["node", "bulwark-policy", "check", "policy.json"]`);
 * each error is printed once, and its `exitCode` says how the process should exit.
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  argv: ReadonlyArray<string>
) => Effect.Effect<
  void,
  | internal.PolicyInvalid
  | internal.GoalsMissed
  | internal.UsageError
  | Simulation.SimulationError
  | ValidationError.ValidationError,
  CliApp.CliApp.Environment
> = internal.run
