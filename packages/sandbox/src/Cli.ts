/**
 * The `bulwark-sandbox` command line:
 *
 * ```sh
 * bulwark-sandbox --port 8080 --faults realistic --seed 7
 * bulwark-sandbox --config sandbox.json --port 0
 * bulwark-sandbox simulate --preset scaling-up --duration 30m --rate 20 --seed 7
 * ```
 *
 * `simulate` is `@bulwark/simulation`'s command as a subcommand (`Command.withSubcommands`; it must be installed
 * next to this package): a simulation of a client policy against this sandbox, in virtual time. In a clone of
 * the repository, `npm run sandbox -- ...` and `npm run simulate -- ...` build what they need first.
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
 * exits with 2; a port in use says which and exits with 1.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as ValidationError from "@effect/cli/ValidationError"
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
 * The server could not listen on the port (in use, privileged) or the host; the message says which and what to
 * do. Exits with 1.
 *
 * @since 0.2.0
 * @category errors
 */
export type ListenFailed = internal.ListenFailed

/**
 * `bulwark-sandbox simulate` was run where `@bulwark/simulation` is not installed, or installed but not built
 * (a clone of the repository); the message says what to run.
 *
 * @since 0.1.0
 * @category errors
 */
export type SimulationNotInstalled = internal.SimulationNotInstalled

/**
 * Runs the CLI with `process.argv`-style arguments (the first two are skipped), printing every error once. It
 * serves until interrupted; the `bulwark-sandbox` executable runs it with `CliKit.runMain`, which maps SIGINT and
 * SIGTERM to a clean stop and the failures to exit codes.
 *
 * @example
 * ```ts
 * import { Cli, CliKit } from "@bulwark/sandbox/cli"
 *
 * CliKit.runMain(Cli.run, { interrupted: 0 })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  argv: ReadonlyArray<string>
) => Effect.Effect<
  void,
  unknown,
  CliApp.CliApp.Environment
> = internal.run

/**
 * Errors the sandbox command itself can fail with (the `simulate` subcommand adds its own).
 *
 * @since 0.2.0
 * @category errors
 */
export type CommandError = SandboxConfig.SandboxConfigError | ListenFailed | ValidationError.ValidationError
