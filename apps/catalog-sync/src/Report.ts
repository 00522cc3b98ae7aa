/**
 * The final report: a table for the terminal, JSON for machines, and a self-contained HTML page with a
 * timeline chart (inline SVG, no script or network needed to view it).
 */
import { Chart } from "@bulwark/simulation"
import type { Outcome, Sample } from "./Sync.js"

/** How many entries of each kind of problem, and of warnings, the report lists. The counts are always complete. */
export const listLimit = 50

/**
 * The kinds of problem, in the order they are listed. A problem makes the run fail (exit code 1).
 *
 * - `createFailed`: a create ended in an error and the read-back did not confirm its item;
 * - `listingFailed`: the items could not be read back, so nothing could be confirmed;
 * - `missing`, `duplicated`, `wrongContent`: what the read-back found instead of the item exactly once.
 */
export type ProblemKind = "createFailed" | "listingFailed" | "missing" | "duplicated" | "wrongContent"

const problemLabels: Record<ProblemKind, string> = {
  createFailed: "create failures",
  listingFailed: "listing failures",
  missing: "missing",
  duplicated: "duplicated",
  wrongContent: "wrong content"
}

export interface Report {
  readonly ok: boolean
  readonly target: string
  readonly items: {
    readonly total: number
    readonly confirmed: number
    readonly missing: number
    readonly duplicated: number
    readonly wrongContent: number
    /** Creates that ended in an error and whose item the read-back did not confirm: problems. */
    readonly createFailures: number
    /** Creates that ended in an error although the read-back confirmed their item: warnings. */
    readonly createWarnings: number
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
  /** Every problem, counted; `problems` lists at most `listLimit` of each kind. */
  readonly problemCount: number
  readonly problems: ReadonlyArray<string>
  /** How many problems `problems` leaves out, in all and by kind (only the kinds that were cut). */
  readonly problemsNotShown: number
  readonly problemsNotShownByKind: Readonly<Partial<Record<ProblemKind, number>>>
  /** Every warning, counted; `warnings` lists at most `listLimit` of them. */
  readonly warningCount: number
  readonly warnings: ReadonlyArray<string>
  readonly warningsNotShown: number
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
  const kinds: Array<[ProblemKind, ReadonlyArray<string>]> = [
    ["createFailed", outcome.createFailures.map((failure) => `${failure.sku}: create failed: ${failure.error}`)],
    [
      "listingFailed",
      outcome.verificationError === undefined ? [] : [`the items could not be listed: ${outcome.verificationError}`]
    ],
    ["missing", (v?.missing ?? []).map((sku) => `${sku}: missing`)],
    ["duplicated", (v?.duplicated ?? []).map((d) => `${d.sku}: present ${d.count} times`)],
    ["wrongContent", (v?.mismatched ?? []).map((m) => `${m.sku}: ${m.problem}`)]
  ]
  const problems: Array<string> = []
  const problemsNotShownByKind: Partial<Record<ProblemKind, number>> = {}
  let problemCount = 0
  for (const [kind, entries] of kinds) {
    problemCount += entries.length
    problems.push(...entries.slice(0, listLimit))
    if (entries.length > listLimit) problemsNotShownByKind[kind] = entries.length - listLimit
  }
  const warnings = outcome.createWarnings.map((warning) =>
    `${warning.sku}: the create failed, but the item was confirmed on read-back: ${warning.error}`
  )
  const sorted = [...outcome.createLatenciesMillis].sort((a, b) => a - b)
  // Success is decided by the read-back alone: every item on the API exactly once with the right content.
  const ok = v !== undefined && v.confirmed === outcome.items && problemCount === 0
  return {
    ok,
    target,
    items: {
      total: outcome.items,
      confirmed: v?.confirmed ?? 0,
      missing: v?.missing.length ?? 0,
      duplicated: v?.duplicated.length ?? 0,
      wrongContent: v?.mismatched.length ?? 0,
      createFailures: outcome.createFailures.length,
      createWarnings: outcome.createWarnings.length
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
    problemCount,
    problems,
    problemsNotShown: problemCount - problems.length,
    problemsNotShownByKind,
    warningCount: warnings.length,
    warnings: warnings.slice(0, listLimit),
    warningsNotShown: Math.max(0, warnings.length - listLimit),
    server,
    timeline: outcome.timeline
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** The result line: OK (with its warnings) or FAILED with the true number of problems and how many are not listed. */
export const result = (report: Report): string => {
  if (report.ok) {
    return `OK: every item confirmed exactly once${
      report.warningCount === 0 ? "" : ` (${plural(report.warningCount, "warning", "warnings")})`
    }`
  }
  const cut = report.problemsNotShown === 0
    ? ""
    : `; listing the first ${listLimit} of each kind, ${report.problemsNotShown} not shown`
  return `FAILED: ${report.problemCount} problem(s)${cut}`
}

/** The summary as label/value rows, shared by the text and HTML forms. */
const summaryRows = (report: Report): Array<[string, string]> => [
  ["target", report.target],
  ["items", `${report.items.total}`],
  ["  confirmed exactly once", `${report.items.confirmed}`],
  ["  missing", `${report.items.missing}`],
  ["  duplicated", `${report.items.duplicated}`],
  ["  wrong content", `${report.items.wrongContent}`],
  ["  create failures", `${report.items.createFailures}`],
  ["  create warnings", `${report.items.createWarnings}`],
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
  ["result", result(report)]
]

/** The heading of the problem list, and what it leaves out (exact per kind). */
const problemsHeading = (report: Report) => `problems: ${report.problemCount}`
const problemsCut = (report: Report): string | undefined =>
  report.problemsNotShown === 0 ?
    undefined :
    `... ${report.problemsNotShown} more not shown (${
      (Object.keys(problemLabels) as Array<ProblemKind>)
        .filter((kind) => (report.problemsNotShownByKind[kind] ?? 0) > 0)
        .map((kind) => `${report.problemsNotShownByKind[kind]} ${problemLabels[kind]}`)
        .join(", ")
    })`

const warningsHeading = (report: Report) =>
  `warnings: ${
    report.warningCount === 1
      ? "1 create failed but the item was confirmed on read-back"
      : `${report.warningCount} creates failed but their items were confirmed on read-back`
  }`
const warningsCut = (report: Report): string | undefined =>
  report.warningsNotShown === 0 ? undefined : `... ${report.warningsNotShown} more not shown`

/** The report as an aligned two-column table, then the problems and the warnings. */
export const toText = (report: Report): string => {
  const rows = summaryRows(report)
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)
  const list = (heading: string, entries: ReadonlyArray<string>, cut: string | undefined) => [
    "",
    heading,
    ...entries.map((p) => `  - ${p}`),
    ...(cut === undefined ? [] : [`  ${cut}`])
  ]
  const problems = report.problemCount === 0 ? [] : list(problemsHeading(report), report.problems, problemsCut(report))
  const warnings = report.warningCount === 0 ? [] : list(warningsHeading(report), report.warnings, warningsCut(report))
  return [...lines, ...problems, ...warnings].join("\n")
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

/** The timeline as chart panels: attempts (retries among them) per second, and the Retry-After waits apart. */
const panels = (report: Report): ReadonlyArray<Chart.Panel> => {
  const series = perSecond(report.timeline)
  const x = { start: 0, step: 1, format: (seconds: number) => `${Math.round(seconds)} s` }
  return [
    {
      title: "HTTP attempts per second",
      x,
      empty: "no attempt was sent",
      series: [
        { name: "attempts (all)", values: series.map((s) => s.attempts), color: "#8fb8de", style: "bars" },
        { name: "of which retries", values: series.map((s) => s.retries), color: "#e8a33d", style: "bars" }
      ]
    },
    {
      title: "Time spent waiting for Retry-After, per second (summed over calls)",
      x,
      format: (millis) => `${Number((millis / 1000).toFixed(2))} s`,
      empty: "no call waited for a Retry-After",
      series: [{ name: "Retry-After wait", values: series.map((s) => s.waitMillis), color: "#cf222e" }]
    }
  ]
}

/** A self-contained HTML page: the summary, the problems, the warnings and the timeline chart, with the data embedded. */
export const toHtml = (report: Report): string => {
  const rows = summaryRows(report)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("\n")
  const list = (className: string, entries: ReadonlyArray<string>, cut: string | undefined) =>
    `<ul class="${className}">${entries.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}${
      cut === undefined ? "" : `<li class="cut">${escapeHtml(cut)}</li>`
    }</ul>`
  const problems = report.problemCount === 0
    ? "<p class=\"ok\">Every item was confirmed exactly once.</p>"
    : `<p>${escapeHtml(problemsHeading(report))}</p>${list("problems", report.problems, problemsCut(report))}`
  const warnings = report.warningCount === 0
    ? ""
    : `<h2>Warnings</h2>\n<p>${escapeHtml(warningsHeading(report))}</p>${
      list("warnings", report.warnings, warningsCut(report))
    }`
  const data = JSON.stringify({ perSecond: perSecond(report.timeline), report: { ...report, timeline: undefined } })
    .replace(/</g, "\\u003c")
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>catalog-sync report: ${report.ok ? "OK" : "FAILED"}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
  th, td { overflow-wrap: anywhere; }
  h1 { font-size: 1.4rem; } h1 .ok { color: #1a7f37; } h1 .failed { color: #cf222e; }
  table { border-collapse: collapse; margin: 1rem 0; }
  th { text-align: left; font-weight: normal; color: #555; padding: 2px 16px 2px 0; white-space: pre; }
  td { font-variant-numeric: tabular-nums; }
  ${Chart.styles}
  .problems { color: #cf222e; } .warnings { color: #9a6700; } .cut { list-style: none; color: #555; } .ok { color: #1a7f37; }
</style>
</head>
<body>
<h1>catalog-sync: <span class="${report.ok ? "ok" : "failed"}">${report.ok ? "OK" : "FAILED"}</span></h1>
<table>
${rows}
</table>
<h2>Timeline</h2>
${panels(report).map(Chart.figure).join("\n")}
<h2>Problems</h2>
${problems}
${warnings}
<script type="application/json" id="report-data">${data}</script>
</body>
</html>
`
}
