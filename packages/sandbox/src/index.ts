/**
 * A simulated partner API for tests, sample apps and benchmarks: OAuth2 client credentials with expiring
 * tokens, resource routes with roles, validation, quotas and idempotency keys, seeded and reproducible
 * fault injection (5xx, gateway HTML, Retry-After, latency, hangs, stalled bodies, connection resets,
 * scaling-up and outage windows) and a stats endpoint.
 *
 * @since 0.1.0
 */

/**
 * The service through which a transport drops connections (the reset faults).
 *
 * @since 0.1.0
 */
export * as ConnectionControl from "./ConnectionControl.js"

/**
 * The faults, their schema and kinds.
 *
 * @since 0.1.0
 */
export * as Faults from "./Faults.js"

/**
 * The item resource's schemas.
 *
 * @since 0.1.0
 */
export * as Item from "./Item.js"

/**
 * The presets: `none`, `realistic`, `harsh`, `outage`, `scaling-up`.
 *
 * @since 0.1.0
 */
export * as Preset from "./Preset.js"

/**
 * The sandbox: `layer`, `make`, `makeApp` and the `Sandbox` service.
 *
 * @since 0.1.0
 */
export * as Sandbox from "./Sandbox.js"

/**
 * The config, its schema, defaults and validation error.
 *
 * @since 0.1.0
 */
export * as SandboxConfig from "./SandboxConfig.js"

/**
 * The stats snapshot and its schema.
 *
 * @since 0.1.0
 */
export * as Stats from "./Stats.js"
