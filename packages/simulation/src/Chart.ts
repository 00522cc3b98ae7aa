/**
 * The SVG charts of Bulwark's HTML reports (the simulation's and catalog-sync's), in one style: a panel is one
 * chart with its own y scale, so a small series (failed calls) is never drawn under a large one; x labels stay
 * inside the picture; a panel with nothing to show says so; the legend is HTML and wraps on a narrow page.
 * Output is a string, the same for the same input.
 *
 * @example
 * ```ts
 * import { Chart } from "@bulwark/simulation"
 *
 * const page = `<style>${Chart.styles}</style>` + Chart.figure({
 *   title: "Attempts per second",
 *   x: { start: 0, step: 1, format: (seconds) => `${seconds} s` },
 *   series: [{ name: "attempts", values: [3, 5, 4], color: "#4c78a8", style: "bars" }],
 *   empty: "no attempts"
 * })
 * ```
 *
 * @since 0.2.0
 */
import * as internal from "./internal/chart.js"

/**
 * One series of a panel: its values, one per x step, drawn as a line, a dashed line or bars.
 *
 * @since 0.2.0
 * @category models
 */
export type Series = internal.Series

/**
 * One chart: a title, the series, the x axis (`start`, `step` per value and how to label a value), the y
 * labels' format, vertical marks and the text shown when every value is 0.
 *
 * @since 0.2.0
 * @category models
 */
export type Panel = internal.Panel

/**
 * A panel as an SVG element (900 × 200 user units, scaled to the page's width).
 *
 * @since 0.2.0
 * @category rendering
 */
export const svg: (panel: Panel) => string = internal.svg

/**
 * A panel as a `<figure>` with its title, an HTML legend and the SVG; needs {@link styles} on the page.
 *
 * @since 0.2.0
 * @category rendering
 */
export const figure: (panel: Panel) => string = internal.figure

/**
 * The CSS of {@link figure}.
 *
 * @since 0.2.0
 * @category rendering
 */
export const styles: string = internal.styles

/**
 * The round axis top at or above a value: 1, 2, 2.5 or 5 times a power of ten.
 *
 * @since 0.2.0
 * @category rendering
 */
export const niceCeil: (value: number) => number = internal.niceCeil
