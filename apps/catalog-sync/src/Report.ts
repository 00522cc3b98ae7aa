/**
 * The final report: a table for the terminal, JSON for machines, and a self-contained HTML page with a
 * timeline chart (inline SVG, no script or network needed to view it).
 */
import type { Outcome, Sample } from "./Sync.js"

export interface Report {
  readonly ok: boolean
  readonly target: string
  readonly items: {
    readonly total: number
    readonly confirmed: number
    readonly missing: number
    readonly duplicated: number
    readonly wrongContent: number
    readonly createFailures: number
  }
  readonly calls: { readonly logical: number; readonly httpAttempts: number; readonly amplification: number }
  readonly retries: {
    readonly total: number
    readonly byReason: {
      readonly "5xx": number
      readonly timeout: number
      readonly network: number
      readonly "401-refresh": number
      readonly "429": number
      readonly other: number
    }
  }
  readonly rateLimitWaitSeconds: number
  readonly tokensFetched: number
  readonly latencyMillis: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number }
  readonly wallSeconds: number
  readonly problems: ReadonlyArray<string>
  readonly server: Readonly<Record<string, unknown>> | undefined
  readonly timeline: ReadonlyArray<Sample>
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

const round = (n: number, digits = 3) => Number(n.toFixed(digits))

export const make = (outcome: Outcome, target: string, server?: Readonly<Record<string, unknown>>): Report => {
  const attempts = Object.values(outcome.counters.attempts).reduce((a, b) => a + b, 0)
  const byReason = {
    "5xx": outcome.counters.attempts["5xx"],
    timeout: outcome.counters.attempts.timeout,
    network: outcome.counters.attempts.network,
    "401-refresh": outcome.counters.attempts["401-refresh"],
    "429": outcome.counters.attempts["429"],
    other: outcome.counters.attempts.other
  }
  const v = outcome.verification
  const problems: Array<string> = []
  for (const failure of outcome.createFailures.slice(0, 50)) {
    problems.push(`${failure.sku}: not created: ${failure.error}`)
  }
  if (outcome.verificationError !== undefined) {
    problems.push(`the items could not be listed: ${outcome.verificationError}`)
  }
  if (v !== undefined) {
    for (const sku of v.missing.slice(0, 50)) problems.push(`${sku}: missing`)
    for (const d of v.duplicated.slice(0, 50)) problems.push(`${d.sku}: present ${d.count} times`)
    for (const m of v.mismatched.slice(0, 50)) problems.push(`${m.sku}: ${m.problem}`)
  }
  const sorted = [...outcome.createLatenciesMillis].sort((a, b) => a - b)
  const ok = v !== undefined && v.confirmed === outcome.items && outcome.createFailures.length === 0
  return {
    ok,
    target,
    items: {
      total: outcome.items,
      confirmed: v?.confirmed ?? 0,
      missing: v?.missing.length ?? 0,
      duplicated: v?.duplicated.length ?? 0,
      wrongContent: v?.mismatched.length ?? 0,
      createFailures: outcome.createFailures.length
    },
    calls: {
      logical: outcome.logicalCalls,
      httpAttempts: attempts,
      amplification: outcome.logicalCalls === 0 ? 0 : round(attempts / outcome.logicalCalls)
    },
    retries: { total: attempts - outcome.counters.attempts.initial, byReason },
    rateLimitWaitSeconds: round(
      (outcome.counters.gateWaitMillis + outcome.counters.retryWaitMillis["429"]) / 1000,
      1
    ),
    tokensFetched: outcome.counters.tokensFetched,
    latencyMillis: {
      p50: Math.round(percentile(sorted, 50)),
      p95: Math.round(percentile(sorted, 95)),
      p99: Math.round(percentile(sorted, 99)),
      max: Math.round(sorted.at(-1) ?? 0)
    },
    wallSeconds: round(outcome.wallMillis / 1000, 1),
    problems,
    server,
    timeline: outcome.timeline
  }
}

/** The report as an aligned two-column table. */
export const toText = (report: Report): string => {
  const rows: Array<[string, string]> = [
    ["target", report.target],
    ["items", `${report.items.total}`],
    ["  confirmed exactly once", `${report.items.confirmed}`],
    ["  missing", `${report.items.missing}`],
    ["  duplicated", `${report.items.duplicated}`],
    ["  wrong content", `${report.items.wrongContent}`],
    ["  create failures", `${report.items.createFailures}`],
    ["logical calls", `${report.calls.logical}`],
    ["HTTP attempts", `${report.calls.httpAttempts}`],
    ["amplification", `${report.calls.amplification.toFixed(3)} attempts per call`],
    ["retries", `${report.retries.total}`],
    ...Object.entries(report.retries.byReason).map(([reason, n]): [string, string] => [`  ${reason}`, `${n}`]),
    ["waited for Retry-After", `${report.rateLimitWaitSeconds.toFixed(1)} s (summed over calls)`],
    ["tokens fetched", `${report.tokensFetched}`],
    [
      "create latency",
      `p50 ${report.latencyMillis.p50} ms, p95 ${report.latencyMillis.p95} ms, p99 ${report.latencyMillis.p99} ms`
    ],
    ["wall time", `${report.wallSeconds.toFixed(1)} s`],
    ["result", report.ok ? "OK: every item confirmed exactly once" : `FAILED: ${report.problems.length} problem(s)`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)
  const problems = report.problems.length === 0 ? [] : ["", "problems:", ...report.problems.map((p) => `  - ${p}`)]
  return [...lines, ...problems].join("\n")
}

export const toJson = (report: Report): string => JSON.stringify(report, null, 2)

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/** Per-second series from the cumulative samples: attempts, retries and 429 wait per second. */
export const perSecond = (timeline: ReadonlyArray<Sample>) => {
  const seconds = Math.max(1, Math.ceil((timeline.at(-1)?.atMillis ?? 0) / 1000))
  const at = (second: number) => {
    let last: Sample | undefined
    for (const s of timeline) if (s.atMillis <= second * 1000) last = s
    return last ?? { atMillis: 0, itemsDone: 0, attempts: 0, retries: 0, rateLimitWaitMillis: 0 }
  }
  const series: Array<{ second: number; attempts: number; retries: number; waitMillis: number; done: number }> = []
  for (let second = 1; second <= seconds; second++) {
    const a = at(second - 1)
    const b = second === seconds ? (timeline.at(-1) ?? at(second)) : at(second)
    series.push({
      second,
      attempts: b.attempts - a.attempts,
      retries: b.retries - a.retries,
      waitMillis: b.rateLimitWaitMillis - a.rateLimitWaitMillis,
      done: b.itemsDone
    })
  }
  return series
}

const chart = (report: Report): string => {
  const series = perSecond(report.timeline)
  const width = 900
  const height = 280
  const pad = { left: 50, right: 50, top: 20, bottom: 30 }
  const innerW = width - pad.left - pad.right
  const innerH = height - pad.top - pad.bottom
  const maxAttempts = Math.max(1, ...series.map((s) => s.attempts))
  const maxWait = Math.max(1, ...series.map((s) => s.waitMillis))
  const barW = innerW / series.length
  const y = (v: number, max: number) => pad.top + innerH - (v / max) * innerH
  const bars = series
    .map((s, i) => {
      const x = pad.left + i * barW
      const ok = s.attempts - s.retries
      return `<rect class="attempts" x="${x.toFixed(1)}" y="${y(ok, maxAttempts).toFixed(1)}" width="${
        Math.max(1, barW - 1).toFixed(1)
      }" height="${
        (innerH - (y(ok, maxAttempts) - pad.top)).toFixed(1)
      }"><title>second ${s.second}: ${s.attempts} attempts</title></rect>` +
        `<rect class="retries" x="${x.toFixed(1)}" y="${y(s.attempts, maxAttempts).toFixed(1)}" width="${
          Math.max(1, barW - 1).toFixed(1)
        }" height="${
          ((s.retries / maxAttempts) * innerH).toFixed(1)
        }"><title>second ${s.second}: ${s.retries} retries</title></rect>`
    })
    .join("")
  const line = series
    .map((s, i) => `${(pad.left + (i + 0.5) * barW).toFixed(1)},${y(s.waitMillis, maxWait).toFixed(1)}`)
    .join(" ")
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="attempts, retries and Retry-After waits per second">
  <line x1="${pad.left}" y1="${pad.top + innerH}" x2="${pad.left + innerW}" y2="${pad.top + innerH}" class="axis"/>
  <text x="${pad.left - 6}" y="${pad.top + 10}" class="label" text-anchor="end">${maxAttempts}</text>
  <text x="${pad.left - 6}" y="${pad.top + innerH}" class="label" text-anchor="end">0</text>
  <text x="${width - pad.right + 6}" y="${pad.top + 10}" class="label">${(maxWait / 1000).toFixed(1)} s</text>
  <text x="${pad.left}" y="${height - 8}" class="label">0 s</text>
  <text x="${pad.left + innerW}" y="${height - 8}" class="label" text-anchor="end">${series.length} s</text>
  ${bars}
  <polyline class="wait" points="${line}"/>
</svg>`
}

/** A self-contained HTML page: the summary, the problems and the timeline chart, with the data embedded. */
export const toHtml = (report: Report): string => {
  const rows = toText(report)
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("problems:") && !line.startsWith("  - "))
    .map((line) => {
      const match = /^(\S.*?|\s+\S.*?)\s{2,}(.*)$/.exec(line)
      return match === null ? "" : `<tr><th>${escapeHtml(match[1]!)}</th><td>${escapeHtml(match[2]!)}</td></tr>`
    })
    .join("\n")
  const problems = report.problems.length === 0
    ? "<p class=\"ok\">Every item was confirmed exactly once.</p>"
    : `<ul class="problems">${report.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`
  const data = JSON.stringify({ perSecond: perSecond(report.timeline), report: { ...report, timeline: undefined } })
    .replace(/</g, "\\u003c")
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>catalog-sync report: ${report.ok ? "OK" : "FAILED"}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
  h1 { font-size: 1.4rem; } h1 .ok { color: #1a7f37; } h1 .failed { color: #cf222e; }
  table { border-collapse: collapse; margin: 1rem 0; }
  th { text-align: left; font-weight: normal; color: #555; padding: 2px 16px 2px 0; white-space: pre; }
  td { font-variant-numeric: tabular-nums; }
  svg { width: 100%; height: auto; border: 1px solid #ddd; }
  .attempts { fill: #8fb8de; } .retries { fill: #e8a33d; } .wait { fill: none; stroke: #cf222e; stroke-width: 2; }
  .axis { stroke: #999; } .label { font-size: 11px; fill: #555; }
  .legend span { display: inline-block; margin-right: 1.5rem; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
  .problems { color: #cf222e; } .ok { color: #1a7f37; }
</style>
</head>
<body>
<h1>catalog-sync: <span class="${report.ok ? "ok" : "failed"}">${report.ok ? "OK" : "FAILED"}</span></h1>
<table>
${rows}
</table>
<h2>Timeline</h2>
<p class="legend"><span><i style="background:#8fb8de"></i>first attempts per second</span><span><i style="background:#e8a33d"></i>retries per second</span><span><i style="background:#cf222e"></i>time waiting for Retry-After per second (right axis)</span></p>
${chart(report)}
<h2>Problems</h2>
${problems}
<script type="application/json" id="report-data">${data}</script>
</body>
</html>
`
}
