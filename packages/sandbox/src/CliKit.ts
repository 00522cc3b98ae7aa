/**
 * The kit every Bulwark command line is built with (`bulwark-sandbox`, `bulwark-simulate`, the apps): flags
 * whose errors name the flag and say what is allowed, JSON files decoded by a Schema (`Options.withSchema`) with
 * one message per bad field and never a value from the file, `--log-level` accepted anywhere, no ANSI colours
 * when stdout is not a terminal or `NO_COLOR` is set, and one `runMain` for the exit codes: 0 success, 2 a usage
 * error (a bad flag, file or setting), 1 any other failure (or the failure's own `exitCode`), 70 a bug.
 *
 * @since 0.2.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as Command from "@effect/cli/Command"
import type * as Options from "@effect/cli/Options"
import type * as ValidationError from "@effect/cli/ValidationError"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/cliKit.js"

/**
 * A usage error with this message, for a flag's own check (`Options.mapEffect`): exit code 2.
 *
 * @since 0.2.0
 * @category flags
 */
export const invalid: (message: string) => ValidationError.ValidationError = internal.invalid

/**
 * An integer flag (`--port 8080`) whose error names the flag and the allowed range:
 * `--port "abc" is not a whole number from 0 to 65535`.
 *
 * @since 0.2.0
 * @category flags
 */
export const integer: (
  name: string,
  range?: { readonly min?: number; readonly max?: number }
) => Options.Options<number> = internal.integer

/**
 * A number flag (`--rate 20`) whose error names the flag and the allowed range.
 *
 * @since 0.2.0
 * @category flags
 */
export const float: (
  name: string,
  range?: { readonly min?: number; readonly max?: number; readonly above?: number; readonly unit?: string }
) => Options.Options<number> = internal.float

/**
 * A flag taking one of a list of values (`--faults realistic`); the error names the flag and lists them.
 *
 * @since 0.2.0
 * @category flags
 */
export const choice: <const A extends string>(name: string, values: ReadonlyArray<A>) => Options.Options<A> =
  internal.choice

/**
 * A text flag decoded by a Schema through `Options.withSchema` (a duration, a URL): the error names the flag
 * and gives the schema's message for what is allowed.
 *
 * @since 0.2.0
 * @category flags
 */
export const withSchema: <A, I extends string>(
  name: string,
  schema: Schema.Schema<A, I>,
  pseudoName?: string
) => Options.Options<A> = internal.withSchema

/**
 * A JSON file flag (`--client policy.json`) decoded by a Schema through `Options.withSchema`, with unknown keys
 * refused: one line per bad field naming the flag and the field, never a value from the file (it may hold
 * secrets); a missing file, a syntax error (line and column) or a non-object names the flag too. `what` ends
 * the message: "Pass `what`."
 *
 * @since 0.2.0
 * @category flags
 */
export const jsonFile: <A, I>(name: string, schema: Schema.Schema<A, I>, what: string) => Options.Options<A> =
  internal.jsonFile

/**
 * One line per bad field of a Schema decoding, `path: problem`, with the noise of optional fields and
 * literal-or-object unions removed and without the offending value.
 *
 * @since 0.2.0
 * @category formatting
 */
export const formatIssues: (issue: ParseResult.ParseIssue, root: string) => Array<string> = internal.formatIssues

/**
 * The `version` of the package.json one directory above the calling module: `versionOf(import.meta.url)`.
 *
 * @since 0.2.0
 * @category running
 */
export const versionOf: (moduleUrl: string) => string = internal.versionOf

/**
 * Runs a command on `process.argv`-style arguments, with `--log-level` accepted anywhere, printing each
 * failure that is not a usage error (those `@effect/cli` prints with the usage) once to stderr as its message,
 * and a defect as a bug to report. A failure with `printed: true` is not printed again.
 *
 * @since 0.2.0
 * @category running
 */
export const run: <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  config: { readonly name: string; readonly version: string }
) => (
  argv: ReadonlyArray<string>
) => Effect.Effect<void, E | ValidationError.ValidationError, R | CliApp.CliApp.Environment> = internal.run

/**
 * The exit code of a run: 0 success (and an interruption, when `interrupted` is 0; 130 by default), 2 a
 * usage error (`ValidationError` or `isUsageError`), a failure's own numeric `exitCode`, 1 any other failure,
 * 70 a defect.
 *
 * @since 0.2.0
 * @category running
 */
export const exitCode: (
  exit: Exit.Exit<unknown, unknown>,
  options?: { readonly isUsageError?: (error: unknown) => boolean; readonly interrupted?: number }
) => number = internal.exitCode

/**
 * The main of an executable: runs `program(process.argv)` with `NodeContext`, strips ANSI colours when stdout
 * is not a terminal or `NO_COLOR` is set, interrupts on SIGINT/SIGTERM and exits with {@link exitCode}.
 *
 * @example
 * ```ts
 * import { CliKit } from "@bulwark/sandbox/cli"
 * import { Command } from "@effect/cli"
 * import { Console } from "effect"
 *
 * const hello = Command.make("hello", { name: CliKit.choice("name", ["world", "you"]) }, ({ name }) =>
 *   Console.log(`hello ${name}`))
 *
 * CliKit.runMain(CliKit.run(hello, { name: "hello", version: "1.0.0" }))
 * ```
 *
 * @since 0.2.0
 * @category running
 */
export const runMain: <E>(
  program: (argv: ReadonlyArray<string>) => Effect.Effect<void, E, CliApp.CliApp.Environment>,
  options?: { readonly isUsageError?: (error: unknown) => boolean; readonly interrupted?: number }
) => void = internal.runMain

/**
 * Whether output may carry ANSI colours: never with `NO_COLOR`, always with `FORCE_COLOR` (not `0`), else only
 * on a terminal.
 *
 * @since 0.2.0
 * @category running
 */
export const wantsColor: (env: Readonly<Record<string, string | undefined>>, isTTY: boolean) => boolean =
  internal.wantsColor
