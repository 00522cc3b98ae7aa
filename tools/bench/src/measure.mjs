// Load drivers and the sandbox-side counters every scenario reports the same way for every contender.

const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

const round = (x, digits = 1) => (x === null || x === undefined ? null : Number(x.toFixed(digits)))

// One logical call: its start and end (ms since the run's origin) and outcome.
const timed = async (call, path, origin, records) => {
  const start = performance.now()
  let ok = true
  let error
  try {
    await call(path)
  } catch (e) {
    ok = false
    error = e
    if (process.env.BENCH_ERRORS) console.error("CALL FAILED", String(e?.message ?? e).slice(0, 2000))
  }
  const end = performance.now()
  records.push({ start: start - origin, end: end - origin, ok })
  return error
}

const errorName = (error) => {
  const status = error?.status ?? error?.response?.status ?? error?.response?.statusCode ?? error?.cause?.status
  const tag = error?._tag ?? error?.name ?? "Error"
  return status === undefined ? tag : `${tag} ${status}`
}

/** `total` calls, `concurrency` at a time. */
export const closedLoop = async ({ call, total, concurrency, path = "/items?limit=1" }) => {
  const records = []
  const errors = {}
  const origin = performance.now()
  const cpu = process.cpuUsage()
  let next = 0
  const worker = async () => {
    while (next < total) {
      next++
      const error = await timed(call, path, origin, records)
      if (error !== undefined) errors[errorName(error)] = (errors[errorName(error)] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(cpu)
  return { records, errors, wallMs: performance.now() - origin, cpuMicros: used.user + used.system }
}

/** Workers calling back to back until `durationMs` has passed; calls in flight then are awaited. */
export const timedLoop = async ({ call, durationMs, concurrency, path = "/items?limit=1" }) => {
  const records = []
  const errors = {}
  const origin = performance.now()
  const worker = async () => {
    while (performance.now() - origin < durationMs) {
      const error = await timed(call, path, origin, records)
      if (error !== undefined) errors[errorName(error)] = (errors[errorName(error)] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { records, errors, wallMs: performance.now() - origin }
}

/** Calls arriving at a fixed rate for `durationMs` whatever the answers (open loop); then awaited. */
export const openLoop = async ({ call, ratePerSecond, durationMs, origin, path = "/items?limit=1" }) => {
  const records = []
  const errors = {}
  const inFlight = []
  const interval = 1000 / ratePerSecond
  const count = Math.floor(durationMs / interval)
  for (let i = 0; i < count; i++) {
    const due = origin + i * interval
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(
      timed(call, path, origin, records).then((error) => {
        if (error !== undefined) errors[errorName(error)] = (errors[errorName(error)] ?? 0) + 1
      })
    )
  }
  await Promise.all(inFlight)
  return { records, errors, wallMs: performance.now() - origin }
}

export const latencySummary = (records) => {
  const sorted = records.map((r) => r.end - r.start).sort((a, b) => a - b)
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) }
}

// Sandbox-side counters: every contender's attempts are counted by the server, the same way.
export const counters = (stats) => {
  let attempts = 0
  let tokenRequests = 0
  for (const [route, outcomes] of Object.entries(stats.requests)) {
    const n = Object.values(outcomes).reduce((a, b) => a + b, 0)
    if (route.includes("/oauth/token")) tokenRequests += n
    else attempts += n
  }
  return {
    attempts,
    tokenRequests,
    tokensIssued: stats.tokensIssued,
    rateLimited: stats.rateLimited,
    earlyRetries: Object.values(stats.earlyRetries).reduce((a, b) => a + b, 0),
    outage503s: stats.faultsInjected.outage,
    faults: stats.faultsInjected
  }
}

export const diff = (after, before) => {
  const out = {}
  for (const key of ["attempts", "tokenRequests", "tokensIssued", "rateLimited", "earlyRetries", "outage503s"]) {
    out[key] = after[key] - before[key]
  }
  return out
}

/** The row every scenario reports. */
export const row = ({ contender, records, errors, server }) => {
  const calls = records.length
  const ok = records.filter((r) => r.ok).length
  return {
    contender,
    calls,
    attempts: server.attempts,
    amplification: round(calls === 0 ? 0 : server.attempts / calls, 3),
    successRate: round((100 * ok) / Math.max(calls, 1), 2),
    ...latencySummary(records),
    early: server.earlyRetries,
    rateLimited: server.rateLimited,
    tokenRequests: server.tokenRequests,
    errors
  }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export { round }
