// Renders results.json into RESULTS.md and two SVG charts (amplification and latency per contender).

const fmt = (x) => (x === null || x === undefined ? "—" : typeof x === "number" ? x.toLocaleString("en-US") : String(x))

const table = (rows, columns) => {
  const head = `| ${columns.map(([title]) => title).join(" | ")} |`
  const rule = `|${columns.map(() => "---").join("|")}|`
  const body = rows.map((r) => `| ${columns.map(([, get]) => fmt(get(r))).join(" | ")} |`)
  return [head, rule, ...body].join("\n")
}

const errorsOf = (r) =>
  Object.entries(r.errors ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ×${v}`).join(", ") ||
  "none"

const common = [
  ["contender", (r) => r.contender],
  ["calls", (r) => r.calls],
  ["HTTP attempts", (r) => r.attempts],
  ["amplification", (r) => r.amplification],
  ["success %", (r) => r.successRate],
  ["p50 ms", (r) => r.p50],
  ["p95 ms", (r) => r.p95],
  ["p99 ms", (r) => r.p99],
  ["sent early", (r) => r.early],
  ["429s", (r) => r.rateLimited],
  ["token requests", (r) => r.tokenRequests]
]

const escape = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

// Horizontal bar chart: one panel per group, one bar per contender (or several series per contender).
const barChart = ({ title, groups, series, unit, log = false }) => {
  const labelW = 150
  const barW = 420
  const rowH = 16
  const colors = ["#4e79a7", "#f28e2b", "#e15759"]
  let y = 40
  const parts = []
  for (const group of groups) {
    const values = group.rows.flatMap((r) => series.map((s) => r[s.key] ?? 0))
    const max = Math.max(...values, group.min ?? 0, 1e-9)
    const scale = (v) => (log ? (Math.log10(1 + v) / Math.log10(1 + max)) * barW : (v / max) * barW)
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(group.title)}</text>`)
    y += 8
    for (const r of group.rows) {
      const h = rowH * series.length
      parts.push(`<text x="10" y="${y + h / 2 + 4}">${escape(r.contender)}</text>`)
      series.forEach((s, i) => {
        const v = r[s.key]
        const w = v === null || v === undefined ? 0 : Math.max(1, scale(v))
        parts.push(
          `<rect x="${labelW}" y="${y + i * rowH + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${
            colors[i % colors.length]
          }"/>`,
          `<text x="${labelW + w + 4}" y="${y + i * rowH + rowH - 4}" font-size="10">${escape(fmt(v))}${
            v === null || v === undefined ? "" : unit
          }</text>`
        )
      })
      y += h + 2
    }
    y += 22
  }
  const legend = series.length > 1
    ? series.map((s, i) =>
      `<rect x="${labelW + i * 90}" y="${y - 12}" width="10" height="10" fill="${colors[i]}"/><text x="${
        labelW + i * 90 + 14
      }" y="${y - 3}">${escape(s.label)}</text>`
    ).join("")
    : ""
  const height = y + 10
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    labelW + barW + 120
  }" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>
${parts.join("\n")}
${legend}
</svg>
`
}

export const charts = (results) => {
  const s = results.scenarios
  const groups = (key, titleOf) =>
    Object.entries(s).filter(([, v]) => v?.rows).map(([name, v]) => ({ title: titleOf(name), rows: v.rows, key }))
  const titles = {
    overhead: "1. Overhead (faults off)",
    noise: "2. Realistic noise",
    outage: "3. Outage then recovery",
    rateLimit: "4. Rate limit (429 + Retry-After)",
    quotaHeaders: "4b. Quota with RateLimit headers",
    quotaFixed: "4c. Quota, fixed windows, no headers",
    quotaBucket: "4d. Quota, token bucket, no headers",
    quotaBare: "4e. Quota, bare 429s",
    fleet: "4f. Fleet of 8 on one quota",
    tokenExpiry: "5a. Token expiry under load (2 s timeout)",
    tokenExpiry10s: "5b. Token expiry under load (10 s timeout)",
    memory: "6. Memory (faults on)"
  }
  const amplification = barChart({
    title: "Amplification: HTTP attempts per logical call (lower is better; 1.0 = no extra traffic)",
    groups: groups("amplification", (n) => titles[n]),
    series: [{ key: "amplification", label: "amplification" }],
    unit: "×",
    log: true
  })
  const latency = barChart({
    title: "Latency per logical call, ms (p50 / p95 / p99; log scale)",
    groups: groups("latency", (n) => titles[n]).filter((g) => g.title !== titles.memory),
    series: [{ key: "p50", label: "p50" }, { key: "p95", label: "p95" }, { key: "p99", label: "p99" }],
    unit: " ms",
    log: true
  })
  return { amplification, latency }
}

// The columns of every quota table (4b–4f): the share of the quota, the 429s per window, early arrivals.
const quotaColumns = [
  ["contender", (r) => r.contender],
  ["ok calls/s", (r) => r.throughput],
  ["÷ R", (r) => r.fractionOfRate],
  ["HTTP attempts", (r) => r.attempts],
  ["429s", (r) => r.rateLimited],
  ["429s after 2 windows", (r) => r.rateLimitedAfterTwoWindows],
  ["max/window", (r) => r.maxRateLimitedPerWindow],
  ["windows > 1", (r) => r.windowsOverOne],
  ["sent early", (r) => r.early],
  ["early after 2 windows", (r) => r.earlyAfterTwoWindows],
  ["failed calls", (r) => r.failedCalls]
]

export const markdown = (results) => {
  const { meta, scenarios: s, contenders } = results
  const out = []
  out.push(`# Bulwark benchmark results`)
  out.push("")
  out.push(
    `Generated by \`npm run bench\` (Nx target \`bench\` of \`@bulwark/bench\`, \`node --expose-gc src/run.mjs\`) on ${meta.date}.`
  )
  out.push("")
  out.push(
    `Machine: ${meta.cpu} × ${meta.cores} cores, ${meta.memoryGiB} GiB RAM, ${meta.os}; Node ${meta.node}; total run ${meta.totalSeconds} s.`
  )
  out.push("")
  out.push(
    `Every scenario runs all contenders in one process, in turn, against the same seeded \`@bulwark/sandbox\` (seed ${meta.seed}) on loopback, in a child process so the client under test has a core to itself; the sandbox is reset before each contender, so each sees the same fault sequence, fresh quotas and fresh stats. **HTTP attempts, 429s, requests sent early (before a Retry-After had passed: the sandbox's \`earlyRetries\`) and token requests are counted by the sandbox**, the same way for every contender; latency is measured per logical call around the contender's own call. This is a 2-core VM shared between the client, the sandbox and other jobs: treat the overhead figures as ±15%.`
  )
  out.push("")
  out.push(`![amplification](charts/amplification.svg)`)
  out.push("")
  out.push(`![latency](charts/latency.svg)`)
  out.push("")
  out.push(`## Contenders and their configuration`)
  out.push("")
  out.push(
    "All: `GET /v1/items?limit=1` on the sandbox (200 with a small JSON page, decoded), 4 attempts at most (3 retries), 2 s per-attempt timeout (scaled down from the usual 10 s so a hung response does not dominate a bounded run). Bulwark fetches its OAuth2 token itself; every other contender fetches one token up front (client credentials, HTTP Basic) and sends it as a bearer header, with the hand-rolled \"on 401, fetch a new token and retry once\" a team would typically write (no single flight)."
  )
  out.push("")
  out.push(table(contenders, [["name", (c) => c.name], ["what", (c) => c.label], ["configuration", (c) => c.config]]))
  out.push("")
  out.push(`## Scaled down from the issue`)
  out.push("")
  for (const line of meta.scaledDown) out.push(`- ${line}`)
  out.push("")
  if (s.overhead) {
    const o = s.overhead
    out.push(`## 1. Overhead (faults off)`)
    out.push("")
    out.push(
      `${
        o.calls.toLocaleString("en-US")
      } calls per round, concurrency ${o.concurrency}, keep-alive, ${o.rounds} alternating rounds (the order rotates each round); the medians. Wall time is largely bound by the sandbox (an Effect HttpServer, ~3–4k requests/s on this machine), so **CPU µs per call in the client process is the measure of a client's own cost**. Latency percentiles are from the median round.`
    )
    out.push("")
    out.push(table(o.rows, [
      ["contender", (r) => r.contender],
      ["calls/s", (r) => r.callsPerSecond],
      ["wall ms", (r) => r.wallMs],
      ["CPU µs/call", (r) => r.cpuMicrosPerCall],
      ["wall ÷ undici", (r) => r.wallVsUndici],
      ["CPU ÷ undici", (r) => r.cpuVsUndici],
      ["wall ÷ platform", (r) => r.wallVsPlatform],
      ["CPU ÷ platform", (r) => r.cpuVsPlatform],
      ["p50 ms", (r) => r.p50],
      ["p95 ms", (r) => r.p95],
      ["p99 ms", (r) => r.p99],
      ["amplification", (r) => r.amplification],
      ["success %", (r) => r.successRate]
    ]))
    out.push("")
  }
  if (s.noise) {
    out.push(`## 2. Realistic noise`)
    out.push("")
    out.push(
      `${s.noise.calls.toLocaleString("en-US")} calls, concurrency ${s.noise.concurrency}, no quota. Faults: \`${
        JSON.stringify(s.noise.faults)
      }\` (1% 5xx, half as gateway HTML pages; 0.2% hung responses, i.e. timeouts; 2% added latency). Goals: success 100%, amplification ≤ 1.02.`
    )
    out.push("")
    out.push(table(s.noise.rows, [...common, ["failures", errorsOf]]))
    out.push("")
  }
  if (s.outage) {
    const o = s.outage
    out.push(`## 3. Outage then recovery`)
    out.push("")
    out.push(
      `Open loop: ${o.ratePerSecond} calls/s arriving for ${
        o.startS + o.outageS + o.afterS
      } s whatever the answers; 100% 503 (with \`Retry-After: 2\`) from ${o.startS} s to ${
        o.startS + o.outageS
      } s (an \`outage\` fault window), then recovery. "attempts/call in outage" = 503s the outage sent ÷ calls that started during it (naive retrying without a budget: 4). "first success after" = from the end of the outage to the first successful answer.`
    )
    out.push("")
    out.push(table(o.rows, [
      ["contender", (r) => r.contender],
      ["calls", (r) => r.calls],
      ["HTTP attempts", (r) => r.attempts],
      ["amplification", (r) => r.amplification],
      ["calls in outage", (r) => r.callsInOutage],
      ["outage 503s", (r) => r.outage503s],
      ["attempts/call in outage", (r) => r.attemptsPerCallInOutage],
      ["first success after (ms)", (r) => r.timeToFirstSuccessMs],
      ["success % (all)", (r) => r.successRate],
      ["p50 ms", (r) => r.p50],
      ["p99 ms", (r) => r.p99],
      ["token requests", (r) => r.tokenRequests]
    ]))
    out.push("")
  }
  if (s.rateLimit) {
    const o = s.rateLimit
    out.push(`## 4. Rate limit`)
    out.push("")
    out.push(
      `Quota R = ${o.limit} requests per 1 s window per client; above it 429 with \`Retry-After\` (delta-seconds, to the window's end, rounded up). ${o.concurrency} workers call back to back for ${o.durationS} s (demand far above R). "÷ allowed" = successful calls ÷ (R × the quota windows the run touched; windows are aligned on the clock's seconds). Goals: 0 sent early, throughput ≥ 0.9 R. A request counts as sent early when it reaches the sandbox before a Retry-After the sandbox sent this client on a 429 has passed — requests already in flight when the first 429 of a window goes out count too.`
    )
    out.push("")
    out.push(table(o.rows, [
      ...common,
      ["ok calls/s", (r) => r.throughput],
      ["÷ allowed", (r) => r.fractionOfQuota],
      ["failures", errorsOf]
    ]))
    out.push("")
  }
  const quotaSections = [["quotaHeaders", "4b"], ["quotaFixed", "4c"], ["quotaBucket", "4d"], ["quotaBare", "4e"]]
  for (const [key, label] of quotaSections) {
    const q = s[key]
    if (!q) continue
    out.push(`## ${label}. Quota: ${q.title}`)
    out.push("")
    out.push(
      `Sandbox: \`${JSON.stringify(q.config)}\` (R = ${
        q.limit / q.windowSeconds
      } requests/s per client). ${q.concurrency} workers call back to back for ${q.durationS} s (demand far above R). "÷ R" = successful calls that ended within the run ÷ (R × ${q.durationS} s). The sandbox's 429 counter is sampled every ${q.windowSeconds} s: "429s after 2 windows" sums the windows from the third on, "max/window" is the worst of them, "windows > 1" how many had more than one. "sent early" is the sandbox's count of requests that arrived after it had sent this client a 429 and before that 429's Retry-After, which includes requests already on their way when the 429 went out (a client meeting an unknown quota's edge with 16 requests in flight has up to 15); "early after 2 windows" counts them from the third window on. Goal: ${q.goal}; 0 sent early after the first windows; 0 failed calls.`
    )
    out.push("")
    out.push(
      table(q.rows, [...quotaColumns, ["p50 ms", (r) => r.p50], ["p99 ms", (r) => r.p99], ["failures", errorsOf]])
    )
    out.push("")
  }
  if (s.fleet) {
    const q = s.fleet
    out.push(`## 4f. A fleet on one quota: ${q.processes} processes`)
    out.push("")
    out.push(
      `Sandbox: \`${JSON.stringify(q.config)}\` (${q.title}; R = ${
        q.limit / q.windowSeconds
      } requests/s for the one client id all replicas use). ${q.processes} replicas, each in its own process with ${q.concurrency} workers (${
        q.processes * q.concurrency
      } in all), start together and call back to back for ${q.durationS} s. \`bulwark+redis\`: every replica has \`RedisFleet.layer\` on this machine's Redis (one token, one traffic controller state) and no hand-set limit; \`bulwark\` and \`got\`: each replica on its own. Columns as in 4b–4e, for the fleet as a whole. Goal: fleet total ≥ 0.95 R, ≤ 1 429 per window after convergence.`
    )
    out.push("")
    out.push(table(q.rows, [...quotaColumns, ["token requests", (r) => r.tokenRequests], ["failures", errorsOf]]))
    out.push("")
  }
  for (const key of ["tokenExpiry", "tokenExpiry10s"]) {
    const t = s[key]
    if (!t) continue
    const label = key === "tokenExpiry" ? "5a" : "5b"
    const why = key === "tokenExpiry" ? "as in the other scenarios" : "the usual default: Bulwark's and ky's"
    out.push(`## ${label}. Token expiry under load (per-attempt timeout ${t.timeoutMs / 1000} s)`)
    out.push("")
    out.push(
      `After 10 warm-up calls, every token is revoked (\`Sandbox.revokeTokens()\`, equivalent to the token expiring), then ${t.calls} calls start at once; every contender's per-attempt timeout is ${
        t.timeoutMs / 1000
      } s (${why}). Token requests counted by the sandbox from the revocation on. Goal: 1.`
    )
    out.push("")
    out.push(table(t.rows, [...common, ["failures", errorsOf]]))
    out.push("")
  }
  if (s.memory) {
    out.push(`## 6. Memory`)
    out.push("")
    out.push(
      `${s.memory.calls.toLocaleString("en-US")} calls per contender, concurrency ${s.memory.concurrency}, faults \`${
        JSON.stringify(s.memory.faults)
      }\`. \`heapUsed\` after two \`global.gc()\` (node --expose-gc) after a 1,000-call warm-up ("start"), after each fifth of the calls, and at the end. Same process for all, so the figures include the benchmark's own heap.`
    )
    out.push("")
    out.push(table(s.memory.rows, [
      ["contender", (r) => r.contender],
      ["calls", (r) => r.calls],
      ["amplification", (r) => r.amplification],
      ["success %", (r) => r.successRate],
      ["p50 ms", (r) => r.p50],
      ["p99 ms", (r) => r.p99],
      ["heap start MiB", (r) => r.heapStartMiB],
      ["heap samples MiB", (r) => r.heapSamplesMiB.join(" → ")],
      ["heap end MiB", (r) => r.heapEndMiB]
    ]))
    out.push("")
  }
  if (meta.notes?.length) {
    out.push(`## Notes`)
    out.push("")
    for (const line of meta.notes) out.push(`- ${line}`)
    out.push("")
  }
  return out.join("\n")
}
