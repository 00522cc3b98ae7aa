/** @internal */
export interface Series {
  readonly name: string
  readonly values: ReadonlyArray<number>
  readonly color: string
  readonly style?: "line" | "dashed" | "bars" | undefined
}

/** @internal */
export interface Panel {
  readonly title: string
  readonly series: ReadonlyArray<Series>
  readonly x: { readonly start: number; readonly step: number; readonly format: (value: number) => string }
  readonly format?: ((value: number) => string) | undefined
  readonly marks?: ReadonlyArray<{ readonly at: number; readonly label: string }> | undefined
  readonly empty?: string | undefined
}

const width = 900
const height = 200
const pad = { left: 64, right: 28, top: 14, bottom: 32 }
const innerWidth = width - pad.left - pad.right
const innerHeight = height - pad.top - pad.bottom

const escape = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 })

/** The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`: an axis top that reads well. */
export const niceCeil = (value: number): number => {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= value * (1 - 1e-12))!
  return step * power
}

/** Tick intervals that read well on a time axis in seconds, smallest first. */
const intervals = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 14_400, 21_600, 43_200, 86_400]

/**
 * At most six x ticks, at multiples of a round interval: 0, 2, 4 ... 10 min for ten minutes, 0, 1, 2, 3 s for
 * three seconds (never two ticks with the same label).
 *
 * @internal
 */
export const xTicks = (start: number, end: number): ReadonlyArray<number> => {
  const span = end - start
  const interval = intervals.find((candidate) => span / candidate <= 5) ?? niceCeil(span / 5)
  const ticks: Array<number> = []
  for (let value = Math.ceil(start / interval) * interval; value <= end + 1e-9; value += interval) ticks.push(value)
  return ticks
}

/**
 * One chart panel as an SVG: bars, lines or dashed lines over a shared x axis, x labels at round times that
 * stay inside the picture (the ends anchored inward), a y axis from 0 to a round maximum, and
 * vertical marks (a breaker opening, say). A panel whose values are all 0 says `empty` instead of drawing a
 * flat line against a made-up scale.
 *
 * @internal
 */
export const svg = (panel: Panel): string => {
  const count = Math.max(0, ...panel.series.map((s) => s.values.length))
  const end = panel.x.start + Math.max(1, count) * panel.x.step
  const x = (value: number) => pad.left + ((value - panel.x.start) / (end - panel.x.start)) * innerWidth
  const peak = Math.max(0, ...panel.series.flatMap((s) => s.values))
  const top = niceCeil(peak)
  const y = (value: number) => pad.top + (1 - value / top) * innerHeight
  const format = panel.format ?? ((value: number) => plain.format(value))
  const parts: Array<string> = []
  for (const f of [0, 0.5, 1]) {
    const at = y(top * f).toFixed(1)
    parts.push(`<line class="grid" x1="${pad.left}" x2="${width - pad.right}" y1="${at}" y2="${at}"/>`)
    if (peak > 0 || f === 0) {
      parts.push(
        `<text x="${pad.left - 6}" y="${(Number(at) + 4).toFixed(1)}" text-anchor="end">${
          escape(format(top * f))
        }</text>`
      )
    }
  }
  for (const value of xTicks(panel.x.start, end)) {
    const position = (value - panel.x.start) / (end - panel.x.start)
    // The labels at the ends are anchored inside the picture: "10 min" is never clipped to "10 mi".
    const anchor = position < 0.05 ? "start" : position > 0.95 ? "end" : "middle"
    parts.push(
      `<line class="axis" x1="${x(value).toFixed(1)}" x2="${x(value).toFixed(1)}" y1="${pad.top + innerHeight}" y2="${
        pad.top + innerHeight + 4
      }"/>`
    )
    parts.push(
      `<text x="${x(value).toFixed(1)}" y="${height - 10}" text-anchor="${anchor}">${
        escape(panel.x.format(value))
      }</text>`
    )
  }
  parts.push(
    `<line class="axis" x1="${pad.left}" x2="${width - pad.right}" y1="${pad.top + innerHeight}" y2="${
      pad.top + innerHeight
    }"/>`
  )
  if (peak === 0) {
    parts.push(
      `<text class="empty" x="${pad.left + innerWidth / 2}" y="${pad.top + innerHeight / 2}" text-anchor="middle">${
        escape(panel.empty ?? "nothing to show: every value is 0")
      }</text>`
    )
  } else {
    const slot = innerWidth / Math.max(1, count)
    for (const series of panel.series.filter((s) => s.style === "bars")) {
      const bars = series.values.map((value, i) =>
        value <= 0 ?
          "" :
          `<rect x="${(pad.left + i * slot).toFixed(1)}" y="${y(value).toFixed(1)}" width="${
            Math.max(0.5, slot * 0.9).toFixed(1)
          }" height="${(pad.top + innerHeight - y(value)).toFixed(1)}"/>`
      ).join("")
      parts.push(`<g fill="${series.color}"><title>${escape(series.name)}</title>${bars}</g>`)
    }
    for (const series of panel.series.filter((s) => s.style !== "bars")) {
      const d = series.values.map((value, i) =>
        `${i === 0 ? "M" : "L"}${(pad.left + (i + 0.5) * slot).toFixed(1)},${y(value).toFixed(1)}`
      ).join("")
      parts.push(
        `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="${series.style === "dashed" ? 1.5 : 1.75}"${
          series.style === "dashed" ? " stroke-dasharray=\"5,3\"" : ""
        }><title>${escape(series.name)}</title></path>`
      )
    }
  }
  for (const mark of panel.marks ?? []) {
    const at = x(mark.at).toFixed(1)
    parts.push(
      `<line class="mark" x1="${at}" x2="${at}" y1="${pad.top}" y2="${pad.top + innerHeight}"><title>${
        escape(mark.label)
      }</title></line>`
    )
  }
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escape(panel.title)}">${
    parts.join("")
  }</svg>`
}

/**
 * A panel as a `<figure>`: its title, an HTML legend (it wraps on a narrow page instead of running off the
 * picture) and the SVG.
 *
 * @internal
 */
export const figure = (panel: Panel): string => {
  const legend = panel.series.map((series) =>
    `<span><i class="${series.style ?? "line"}" style="--c:${series.color}"></i>${escape(series.name)}</span>`
  ).join("")
  const marks = (panel.marks ?? []).length === 0
    ? ""
    : `<span><i class="mark"></i>${escape(panel.marks![0]!.label.replace(/ at .*$/, ""))}</span>`
  return `<figure class="chart"><figcaption>${
    escape(panel.title)
  }</figcaption><div class="legend">${legend}${marks}</div>${svg(panel)}</figure>`
}

/**
 * The CSS the figures need.
 *
 * @internal
 */
export const styles = `figure.chart { margin: 1rem 0 1.5rem; }
figure.chart figcaption { color: #333; font-weight: 600; margin-bottom: 2px; }
figure.chart svg { display: block; width: 100%; height: auto; overflow: visible; }
figure.chart svg text { font: 11px system-ui, sans-serif; fill: #555; }
figure.chart svg text.empty { font-size: 13px; fill: #777; }
figure.chart .grid { stroke: #e4e4e4; } figure.chart .axis { stroke: #999; }
figure.chart .mark { stroke: #c0392b; stroke-dasharray: 3,3; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 16px; font-size: 12px; color: #444; margin-bottom: 2px; }
.legend i { display: inline-block; width: 16px; height: 10px; margin-right: 5px; vertical-align: -1px; }
.legend i.line { border-top: 2px solid var(--c); height: 0; vertical-align: 3px; }
.legend i.dashed { border-top: 2px dashed var(--c); height: 0; vertical-align: 3px; }
.legend i.bars { background: var(--c); }
.legend i.mark { border-left: 2px dashed #c0392b; width: 0; height: 12px; }`
