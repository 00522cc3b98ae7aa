/**
 * @since 0.1.0
 */
export * as Scenario from "./Scenario.js"

/**
 * @since 0.1.0
 */
export * as Simulation from "./Simulation.js"

/**
 * @since 0.1.0
 */
export * as VirtualTime from "./VirtualTime.js"
