/**
 * The `bulwark-sandbox` command line:
 *
 * ```sh
 * bulwark-sandbox --port 8080 --faults realistic --seed 7
 * bulwark-sandbox --config sandbox.json --port 0
 * bulwark-sandbox simulate --preset scaling-up --duration 30m --rate 20 --seed 7
 * ```
 *
 * `simulate` hands the rest of the line to `@bulwark/simulation`'s `bulwark-simulate` (it must be installed
 * next to this package): a simulation of a client policy against this sandbox, in virtual time.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `--port`, `-p` | `8080` | TCP port (0: any free port) |
 * | `--host` | `127.0.0.1` | address to listen on |
 * | `--faults` | `none` | preset: `none`, `realistic`, `harsh`, `outage`, `scaling-up`, `quota-headers`, `quota-bare` |
 * | `--seed` | `1` | seed of every random choice |
 * | `--config` | | a JSON sandbox config; the flags override it |
 *
 * On start it prints the URL and the OAuth clients (with the secrets of the built-in sandbox clients,
 * which are published sandbox credentials); SIGINT or SIGTERM close every connection and exit with 0. A bad
 * option, `--config` file or setting prints one message naming it (never a value from the file) to stderr and
 * exits with 2.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/cli.js"
import type * as SandboxConfig from "./SandboxConfig.js"

/**
 * The command, to embed in a larger CLI (`Command.withSubcommands`).
 *
 * @since 0.1.0
 * @category commands
 */
export const command: typeof internal.command = internal.command

/**
 * The config file given with `--config` could not be read or is not a JSON object.
 *
 * @since 0.1.0
 * @category errors
 */
export type ConfigFileError = internal.ConfigFileError

/**
 * `bulwark-sandbox simulate` was run where `@bulwark/simulation` is not installed.
 *
 * @since 0.1.0
 * @category errors
 */
export type SimulationNotInstalled = internal.SimulationNotInstalled

/**
 * `bulwark-sandbox simulate` ran and failed (it printed why), or missed a scenario goal.
 *
 * @since 0.1.0
 * @category errors
 */
export type SimulationFailed = internal.SimulationFailed

/**
 * Runs the CLI with `process.argv`-style arguments (the first two are skipped). It serves until
 * interrupted; run it with `NodeRuntime.runMain` so SIGINT and SIGTERM interrupt it.
 *
 * @example
 * ```ts
 * import { Cli } from "@bulwark/sandbox"
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * Cli.run(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disableErrorReporting: true }))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  argv: ReadonlyArray<string>
) => Effect.Effect<
  void,
  | ConfigFileError
  | SandboxConfig.SandboxConfigError
  | HttpServerError.ServeError
  | ValidationError.ValidationError
  | SimulationNotInstalled
  | SimulationFailed,
  CliApp.CliApp.Environment
> = internal.run
