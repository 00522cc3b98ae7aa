import { Chart } from "@bulwark/simulation"
import { describe, expect, it } from "@effect/vitest"
import * as internal from "../src/internal/chart.js"

describe("Chart", () => {
  it("rounds the y axis up to 1, 2, 2.5 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 3, 24, 25, 26, 740, 1_001].map(Chart.niceCeil)).toEqual([1, 0.5, 1, 5, 25, 25, 50, 1_000, 2_000])
  })

  it("puts x ticks at round times, never two with the same label", () => {
    expect(internal.xTicks(0, 600)).toEqual([0, 120, 240, 360, 480, 600])
    expect(internal.xTicks(0, 3)).toEqual([0, 1, 2, 3])
    expect(internal.xTicks(0, 1_800)).toEqual([0, 600, 1_200, 1_800])
  })

  it("anchors the end labels inside the picture and says when a panel is empty", () => {
    const x = { start: 0, step: 60, format: (seconds: number) => `${seconds / 60} min` }
    const drawn = Chart.svg({ title: "t", x, series: [{ name: "a", values: Array(10).fill(1), color: "#000" }] })
    expect(drawn).toContain(`text-anchor="start">0 min</text>`)
    expect(drawn).toContain(`text-anchor="end">10 min</text>`)
    const empty = Chart.svg({
      title: "t",
      x,
      empty: "no call failed",
      series: [{ name: "a", values: [0, 0], color: "#000" }]
    })
    expect(empty).toContain("no call failed")
    expect(empty).not.toContain("<path")
  })

  it("gives every series its legend entry, in its own style", () => {
    const figure = Chart.figure({
      title: "Failed calls",
      x: { start: 0, step: 1, format: String },
      series: [{ name: "failed calls", values: [1, 2], color: "#c0392b", style: "bars" }]
    })
    expect(figure).toContain(`<i class="bars" style="--c:#c0392b"></i>failed calls`)
  })
})
