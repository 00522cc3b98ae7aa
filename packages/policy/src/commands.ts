/**
 * The `bulwark-policy` command line, on its own entry point so that a library user never loads `@effect/cli`:
 * `import { Cli } from "@bulwark/policy/cli"`.
 *
 * @since 0.1.0
 */

/**
 * The `bulwark-policy` command line.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
