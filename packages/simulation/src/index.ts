/**
 * @since 0.2.0
 */
export * as Chart from "./Chart.js"

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
