import * as Chart from "./chart.js"
import type { Report, TimelinePoint } from "./report.js"

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })
const n = (value: number): string => integer.format(value)
const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`

/** "30 min", "1 h 5 min", "45.5 s": a simulated span, for people. */
export const span = (seconds: number): string => {
  if (seconds < 60) return `${Number(seconds.toFixed(3))} s`
  // From a minute up, whole seconds: "10 min", not "10 min 0.01 s" (the drain's last hundredth of a second).
  const whole = Math.round(seconds)
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = whole % 60
  return [h > 0 ? `${h} h` : "", m > 0 ? `${m} min` : "", s > 0 ? `${s} s` : ""].filter((part) => part !== "").join(" ")
}

const list = (record: Readonly<Record<string, number>>): string => {
  const entries = Object.entries(record)
  return entries.length === 0 ? "none" : entries.map(([key, value]) => `${key}: ${n(value)}`).join(" · ")
}

const blocks = "▁▂▃▄▅▆▇█"

/** A one-line chart of `values`, squeezed to `width` columns by taking the maximum of each group. */
const sparkline = (values: ReadonlyArray<number>, width: number): string => {
  if (values.length === 0) return ""
  const group = Math.max(1, Math.ceil(values.length / width))
  const columns: Array<number> = []
  for (let i = 0; i < values.length; i += group) columns.push(Math.max(...values.slice(i, i + group)))
  const max = Math.max(...columns)
  return columns.map((value) =>
    max === 0 || value === 0 ? " " : blocks[Math.min(blocks.length - 1, Math.floor(value / max * (blocks.length - 1)))]
  ).join("")
}

const series: ReadonlyArray<readonly [string, (point: TimelinePoint) => number]> = [
  ["calls", (point) => point.calls],
  ["failed", (point) => point.failed],
  ["attempts", (point) => point.attempts],
  ["5xx", (point) => point.status5xx],
  ["429", (point) => point.status429],
  ["p99 ms", (point) => point.p99LatencyMs]
]

/**
 * The report as a plain-text table, for a terminal.
 *
 * @internal
 */
export const text = (report: Report, options: { readonly timeline?: boolean } = {}): string => {
  const { calls, setup } = report
  const traffic = setup.traffic
  const lines: Array<string> = []
  lines.push(`Simulation${report.name === null ? "" : `: ${report.name}`} (seed ${report.seed})`)
  lines.push(`  sandbox      ${setup.sandbox}`)
  lines.push(`  policy       ${setup.policy}`)
  lines.push(
    `  traffic      ${traffic.rate} calls/s (${traffic.arrival})${
      traffic.concurrency === null ? "" : `, at most ${traffic.concurrency} at once`
    }${traffic.writeRatio > 0 ? `, ${percent(traffic.writeRatio)} writes` : ""} for ${
      span(traffic.durationSeconds)
    }, ` +
      `round trip ${traffic.latencyMs} ms`
  )
  lines.push(`  simulated    ${span(report.simulatedSeconds)}`)
  lines.push("")
  lines.push(
    `calls          ${n(calls.total)}: ${n(calls.succeeded)} succeeded (${percent(calls.successRate)}), ` +
      `${n(calls.failed)} failed, ${n(calls.unfinished)} unfinished`
  )
  lines.push(`attempts       ${n(report.attempts.total)} (amplification ${report.attempts.amplification.toFixed(4)})`)
  lines.push(`  by status    ${list(report.attempts.byStatus)}`)
  lines.push(`errors         ${list(report.errors)}`)
  lines.push(
    `429s           ${n(report.rateLimit.responses429)}; requests sent before a Retry-After the client had ` +
      `received: ${n(report.rateLimit.sentBeforeRetryAfter)} (received by the API before its Retry-After, ` +
      `in flight included: ${n(report.rateLimit.receivedBeforeRetryAfter)})`
  )
  lines.push(`tokens         ${n(report.tokens.requests)} requested, ${n(report.tokens.issued)} issued`)
  if (traffic.writeRatio > 0) {
    lines.push(
      `writes         ${n(report.writes.created)} created, ${n(report.writes.duplicateSkus)} duplicate SKUs, ` +
        `${n(report.writes.replayedByIdempotencyKey)} retries answered from the Idempotency-Key`
    )
  }
  if (report.breaker.enabled) {
    const shown = report.breaker.transitions.slice(0, 6).map((t) => `${span(t.atSeconds)} ${t.from}→${t.to}`)
    const more = report.breaker.transitions.length - shown.length
    lines.push(
      `breaker        opened ${n(report.breaker.opened)} time${report.breaker.opened === 1 ? "" : "s"}${
        shown.length === 0 ? "" : `: ${shown.join(", ")}${more > 0 ? `, … ${n(more)} more` : ""}`
      }`
    )
  }
  const l = report.latencyMs
  lines.push(
    `latency (ms)   p50 ${n(l.p50)} · p90 ${n(l.p90)} · p99 ${n(l.p99)} · p99.9 ${n(l.p999)} · max ${n(l.max)} · ` +
      `mean ${l.mean}`
  )
  lines.push(`faults         ${list(report.faultsInjected)}`)
  const points = report.timeline.points
  if (points.length > 1 && options.timeline !== false) {
    lines.push("")
    lines.push(`timeline (${points.length} buckets of ${span(report.timeline.bucketSeconds)}, peak per column)`)
    for (const [label, pick] of series) {
      const values = points.map(pick)
      lines.push(`  ${label.padEnd(9)}${sparkline(values, 60).padEnd(60)} max ${n(Math.max(...values))}`)
    }
  }
  if (report.goals !== null) {
    lines.push("")
    lines.push("goals")
    for (const goal of report.goals) lines.push(`  ${goal.passed ? "✓" : "✗"} ${goal.goal}: ${goal.actual}`)
  }
  return lines.join("\n")
}

/**
 * The report as JSON: stable key order, so the same seed gives the same bytes.
 *
 * @internal
 */
export const json = (report: Report): string => JSON.stringify(report, null, 2)

const escape = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const colors = {
  calls: "#4c78a8",
  attempts: "#72b7b2",
  failed: "#c0392b",
  "5xx": "#f58518",
  "429": "#8e5ea2",
  p99: "#54a24b"
}

/** The charts of the HTML page: one panel per scale, so failures are never hidden under calls or 5xx. */
const panels = (report: Report): ReadonlyArray<Chart.Panel> => {
  const points = report.timeline.points
  const bucket = report.timeline.bucketSeconds
  const x = { start: 0, step: bucket, format: (seconds: number) => span(Math.round(seconds)) }
  const marks = report.breaker.transitions.filter((t) => t.to === "open").map((t) => ({
    at: t.atSeconds,
    label: `breaker opened at ${span(t.atSeconds)}`
  }))
  const of = (pick: (point: TimelinePoint) => number) => points.map(pick)
  const per = `per ${span(bucket)} of simulated time`
  return [
    {
      title: `Calls and attempts (${per})`,
      x,
      marks,
      series: [
        { name: "calls", values: of((p) => p.calls), color: colors.calls },
        {
          name: "attempts (calls and their retries)",
          values: of((p) => p.attempts),
          color: colors.attempts,
          style: "dashed"
        }
      ]
    },
    {
      title: `Failed calls (${per})`,
      x,
      marks,
      empty: "no call failed",
      series: [{ name: "failed calls", values: of((p) => p.failed), color: colors.failed, style: "bars" }]
    },
    {
      title: `Responses the API refused (${per})`,
      x,
      marks,
      empty: "no 5xx and no 429",
      series: [
        { name: "5xx", values: of((p) => p.status5xx), color: colors["5xx"] },
        { name: "429", values: of((p) => p.status429), color: colors["429"], style: "dashed" }
      ]
    },
    {
      title: "p99 latency of the calls that finished (ms)",
      x,
      marks,
      series: [{ name: "p99 latency", values: of((p) => p.p99LatencyMs), color: colors.p99 }]
    }
  ]
}

/**
 * The report as a self-contained HTML page (inline CSS and SVG, no script, nothing fetched).
 *
 * @internal
 */
export const html = (report: Report): string => {
  const title = `Bulwark simulation${report.name === null ? "" : `: ${report.name}`} (seed ${report.seed})`
  const goals = report.goals === null ?
    "" :
    `<h2>Goals</h2><table>${
      report.goals.map((goal) =>
        `<tr class="${goal.passed ? "pass" : "fail"}"><td>${goal.passed ? "✓" : "✗"}</td><td>${
          escape(goal.goal)
        }</td><td>${escape(goal.actual)}</td></tr>`
      ).join("")
    }</table>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; } td, th { padding: 2px 12px 2px 0; text-align: left; vertical-align: top; }
tr.pass td:first-child { color: #2a7d2a; } tr.fail td:first-child { color: #c0392b; font-weight: bold; }
pre { background: #f6f6f6; padding: 1rem; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
${Chart.styles}
</style>
</head>
<body>
<h1>${escape(title)}</h1>
${goals}
${panels(report).map(Chart.figure).join("\n")}
<h2>Report</h2>
<pre>${escape(text({ ...report, goals: null }, { timeline: false }))}</pre>
</body>
</html>
`
}
