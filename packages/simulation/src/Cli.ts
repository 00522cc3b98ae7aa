/**
 * The `bulwark-simulate` command line (also `bulwark-sandbox simulate`, a subcommand, when this package is
 * installed next to `@bulwark/sandbox`; in a clone of the repository, `npm run simulate -- ...`):
 *
 * ```sh
 * bulwark-simulate --preset scaling-up --duration 30m --rate 20 --seed 7
 * bulwark-simulate --scenario outage --client policy.json --html > outage.html
 * ```
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `--scenario` | | a shipped scenario; its goals are checked and a missed goal exits with 1 |
 * | `--preset` | `realistic` | the sandbox preset of a plain run |
 * | `--duration` | `30m` | simulated time: `30m`, `90s`, `2h`, `1h30m`, `"10 minutes"` |
 * | `--rate` | `20` | logical calls per second |
 * | `--seed` | `1` | seeds faults, arrivals and the client's randomness |
 * | `--arrival` | `poisson` | `poisson`, `uniform` or `burst` |
 * | `--concurrency` | unbounded | calls in flight at most |
 * | `--write-ratio` | `0` | the fraction of calls that are POSTs |
 * | `--latency` | `20ms` | the round trip of every exchange |
 * | `--breaker` | off | add the circuit breaker |
 * | `--client` | | a JSON file of `ApiClient` options to test (all but `baseUrl` and `auth`) |
 * | `--json` / `--html` | text | the report's format |
 *
 * The report goes to stdout; the wall time it took goes to stderr (the report itself is the same for the
 * same seed, byte for byte). Exit codes: 0 when the run (and every goal of a scenario) passed, 1 when a goal
 * was missed or the run could not start, 2 for a usage error (a bad flag or `--client` file: one message per
 * bad field, naming it).
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as Command from "@effect/cli/Command"
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/cli.js"
import type * as Simulation from "./Simulation.js"

/**
 * The command, to embed in a larger CLI (`Command.withSubcommands`).
 *
 * @since 0.1.0
 * @category commands
 */
export const command: typeof internal.command = internal.command

/**
 * The same command named `simulate`: `bulwark-sandbox` adds it with `Command.withSubcommands`.
 *
 * @since 0.2.0
 * @category commands
 */
export const subcommand: Command.Command<"simulate", CliApp.CliApp.Environment, unknown, unknown> = internal
  .subcommand as never

/**
 * Flags that cannot be used together (`--json` with `--html`, `--scenario` with `--preset`); exit code 2.
 *
 * @since 0.1.0
 * @category errors
 */
export type CliError = internal.CliError

/**
 * A scenario run missed some of its goals (the report says which); the process exits with 1.
 *
 * @since 0.1.0
 * @category errors
 */
export type GoalsMissed = internal.GoalsMissed

/**
 * Runs the CLI with `process.argv`-style arguments (the first two are skipped), printing every error once.
 *
 * @example
 * ```ts
 * import { CliKit } from "@bulwark/sandbox/cli"
 * import { Cli } from "@bulwark/simulation/cli"
 *
 * CliKit.runMain(Cli.run)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  argv: ReadonlyArray<string>
) => Effect.Effect<
  void,
  CliError | GoalsMissed | Simulation.SimulationError | ValidationError.ValidationError,
  CliApp.CliApp.Environment
> = internal.run
