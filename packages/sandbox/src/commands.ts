/**
 * The command lines of `@bulwark/sandbox`, on their own entry point so that a library user of
 * `@bulwark/sandbox` never loads `@effect/cli`: `import { Cli, CliKit } from "@bulwark/sandbox/cli"`.
 *
 * @since 0.2.0
 */

/**
 * The `bulwark-sandbox` command line.
 *
 * @since 0.2.0
 */
export * as Cli from "./Cli.js"

/**
 * The kit Bulwark's command lines share: flags that name themselves in errors, JSON files through Schemas,
 * one `runMain` with one set of exit codes.
 *
 * @since 0.2.0
 */
export * as CliKit from "./CliKit.js"
