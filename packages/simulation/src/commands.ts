/**
 * The `bulwark-simulate` command line, on its own entry point so that a library user of `@bulwark/simulation`
 * never loads `@effect/cli`: `import { Cli } from "@bulwark/simulation/cli"`.
 *
 * @since 0.2.0
 */

/**
 * The `bulwark-simulate` command line (and `bulwark-sandbox simulate`).
 *
 * @since 0.2.0
 */
export * as Cli from "./Cli.js"
