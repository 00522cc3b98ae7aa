/**
 * Check a Bulwark policy file and simulate it before it ships. The `bulwark-policy` command line is on the
 * `@bulwark/policy/cli` entry point (and the `bulwark-policy` executable), so importing this one never loads
 * `@effect/cli`.
 *
 * @since 0.1.0
 */

/**
 * The effective policy per route, and a scenario run against a policy.
 *
 * @since 0.1.0
 */
export * as PolicyCheck from "./PolicyCheck.js"
