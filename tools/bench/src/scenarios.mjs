// The six scenarios. Each starts its own seeded sandbox (in a child process), runs every contender
// against it in turn (the sandbox is reset before each, so each sees the same fault sequence and fresh
// quotas, tokens and stats), and stops by itself.
import { closedLoop, counters, diff, median, openLoop, round, row, timedLoop } from "./measure.mjs"
import { startSandbox } from "./sandbox.mjs"

const SEED = 42

const withSandbox = async (config, body) => {
  const sandbox = await startSandbox({ seed: SEED, ...config })
  try {
    return await body(sandbox)
  } finally {
    await sandbox.close()
  }
}

const snapshot = async (sandbox) => counters(await sandbox.stats())

const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args)

// 1. Overhead: faults off, keep-alive, concurrency 32; alternating rounds, medians.
export const overhead = ({ calls, concurrency = 32, rounds, ...options }) =>
  withSandbox({}, async (sandbox) => {
    const contenders = options.contenders.filter((c) => c.only === undefined)
    const live = []
    for (const c of contenders) live.push({ c, client: await c.make(sandbox) })
    for (const { client } of live) await closedLoop({ call: client.call, total: Math.min(1000, calls), concurrency })
    const runs = Object.fromEntries(contenders.map((c) => [c.name, []]))
    for (let r = 0; r < rounds; r++) {
      // Rotate the order every round so drift on a shared machine hits everyone alike.
      const order = live.map((_, i) => live[(i + r) % live.length])
      for (const { c, client } of order) {
        const before = await snapshot(sandbox)
        const result = await closedLoop({ call: client.call, total: calls, concurrency })
        const server = diff(await snapshot(sandbox), before)
        runs[c.name].push({ ...result, server })
      }
      log(`overhead round ${r + 1}/${rounds} done`)
    }
    for (const { client } of live) await client.close()
    const rows = contenders.map((c) => {
      const rs = runs[c.name]
      const wallMs = median(rs.map((x) => x.wallMs))
      const cpu = median(rs.map((x) => x.cpuMicros / x.records.length))
      const mid = rs.find((x) => x.wallMs === wallMs)
      return {
        ...row({ contender: c.name, records: mid.records, errors: mid.errors, server: mid.server }),
        wallMs: round(wallMs, 0),
        callsPerSecond: round(calls / (wallMs / 1000), 0),
        cpuMicrosPerCall: round(cpu, 1)
      }
    })
    const by = Object.fromEntries(rows.map((r) => [r.contender, r]))
    for (const r of rows) {
      r.wallVsUndici = round(r.wallMs / by.undici.wallMs, 2)
      r.cpuVsUndici = round(r.cpuMicrosPerCall / by.undici.cpuMicrosPerCall, 2)
      r.wallVsPlatform = round(r.wallMs / by.platform.wallMs, 2)
      r.cpuVsPlatform = round(r.cpuMicrosPerCall / by.platform.cpuMicrosPerCall, 2)
    }
    return { calls, rounds, concurrency, rows }
  })

// Runs `body` for each contender against a freshly reset sandbox; returns one row each.
const eachContender = async (sandbox, contenders, scenario, body, timeoutMs) => {
  const rows = []
  for (const c of contenders.filter((c) => c.only === undefined || c.only.includes(scenario))) {
    await sandbox.reset()
    const client = await c.make({ url: sandbox.url, tokenUrl: sandbox.tokenUrl, timeoutMs })
    try {
      rows.push(await body(c, client))
    } finally {
      await client.close()
    }
    log(`  ${c.name} done`)
  }
  return rows
}

// 2. Realistic noise: ~1% 5xx (half of them HTML pages), 0.2% hung responses (timeouts), 2% latency.
export const noiseFaults = {
  serverError: { probability: 0.01, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
  hang: 0.002,
  latency: { probability: 0.02, minMs: 20, maxMs: 150 }
}
export const noise = ({ contenders, calls, concurrency = 32 }) =>
  withSandbox({ faults: noiseFaults }, async (sandbox) => ({
    calls,
    concurrency,
    faults: noiseFaults,
    rows: await eachContender(sandbox, contenders, "noise", async (c, client) => {
      const before = await snapshot(sandbox)
      const result = await closedLoop({ call: client.call, total: calls, concurrency })
      const server = diff(await snapshot(sandbox), before)
      return { ...row({ contender: c.name, ...result, server }), wallMs: round(result.wallMs, 0) }
    })
  }))

// 3. Outage: 100% 503 (Retry-After 2 s) from `startS` for `outageS`, then recovery; open-loop arrivals.
export const outage = ({ contenders, ratePerSecond, startS, outageS, afterS }) => {
  const faults = {
    windows: [{
      kind: "outage",
      startAfterSeconds: startS,
      durationSeconds: outageS,
      probability: 1,
      retryAfterSeconds: 2
    }]
  }
  return withSandbox({ faults }, async (sandbox) => ({
    ratePerSecond,
    startS,
    outageS,
    afterS,
    faults,
    rows: await eachContender(sandbox, contenders, "outage", async (c, client) => {
      // The window is timed from when the faults are set: set them again right before the load (after
      // make(), which fetched the non-Bulwark contenders' token) and take the origin from there.
      await sandbox.setFaults(faults)
      const before = await snapshot(sandbox)
      const origin = performance.now()
      const result = await openLoop({
        call: client.call,
        ratePerSecond,
        durationMs: (startS + outageS + afterS) * 1000,
        origin
      })
      const server = diff(await snapshot(sandbox), before)
      const from = startS * 1000
      const to = (startS + outageS) * 1000
      const inOutage = result.records.filter((r) => r.start >= from && r.start < to)
      const firstSuccess = result.records.filter((r) => r.ok && r.end >= to).reduce(
        (min, r) => Math.min(min, r.end),
        Infinity
      )
      return {
        ...row({ contender: c.name, ...result, server }),
        callsInOutage: inOutage.length,
        outage503s: server.outage503s,
        attemptsPerCallInOutage: round(server.outage503s / Math.max(inOutage.length, 1), 2),
        successInOutageCalls: round((100 * inOutage.filter((r) => r.ok).length) / Math.max(inOutage.length, 1), 1),
        timeToFirstSuccessMs: firstSuccess === Infinity ? null : round(firstSuccess - to, 0),
        wallMs: round(result.wallMs, 0)
      }
    })
  }))
}

// 4. Rate limit: quota R per second, 429 + Retry-After (delta-seconds); closed loop above the quota.
export const rateLimit = ({ contenders, limit, durationS, concurrency = 16 }) =>
  withSandbox({ quota: { limit, windowSeconds: 1 } }, async (sandbox) => ({
    limit,
    durationS,
    concurrency,
    rows: await eachContender(sandbox, contenders, "rateLimit", async (c, client) => {
      const before = await snapshot(sandbox)
      const startedAt = Date.now()
      const result = await timedLoop({ call: client.call, durationMs: durationS * 1000, concurrency })
      const server = diff(await snapshot(sandbox), before)
      const okInTime = result.records.filter((r) => r.ok && r.end <= durationS * 1000).length
      // The quota's windows are aligned on the clock's seconds: a 6 s run touches 6 or 7 of them.
      const windows = Math.floor((startedAt + durationS * 1000) / 1000) - Math.floor(startedAt / 1000) + 1
      return {
        ...row({ contender: c.name, ...result, server }),
        throughput: round(okInTime / durationS, 1),
        quotaWindows: windows,
        fractionOfQuota: round(okInTime / (windows * limit), 2),
        wallMs: round(result.wallMs, 0)
      }
    })
  }))

// 5. Token expiry under load: every token is revoked, then `calls` calls start at once.
export const tokenExpiry = ({ calls, contenders, timeoutMs }) =>
  withSandbox({}, async (sandbox) => ({
    calls,
    timeoutMs,
    rows: await eachContender(sandbox, contenders, "tokenExpiry", async (c, client) => {
      await closedLoop({ call: client.call, total: 10, concurrency: 1 })
      await sandbox.revokeTokens()
      const before = await snapshot(sandbox)
      const result = await closedLoop({ call: client.call, total: calls, concurrency: calls })
      const server = diff(await snapshot(sandbox), before)
      return { ...row({ contender: c.name, ...result, server }), wallMs: round(result.wallMs, 0) }
    }, timeoutMs)
  }))

// 6. Memory: many calls with faults on; heap after a full GC at the start and the end.
export const memoryFaults = {
  serverError: { probability: 0.01, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
  latency: { probability: 0.02, minMs: 5, maxMs: 30 }
}
export const memory = ({ contenders, calls, concurrency = 32 }) =>
  withSandbox({ faults: memoryFaults }, async (sandbox) => ({
    calls,
    concurrency,
    faults: memoryFaults,
    rows: await eachContender(sandbox, contenders, "memory", async (c, client) => {
      const heap = () => {
        globalThis.gc?.()
        globalThis.gc?.()
        return round(process.memoryUsage().heapUsed / 1024 / 1024, 2)
      }
      await closedLoop({ call: client.call, total: 1000, concurrency })
      const heapStartMiB = heap()
      const before = await snapshot(sandbox)
      const samples = []
      const durations = new Float64Array(calls)
      let n = 0
      let ok = 0
      const errors = {}
      const chunk = Math.ceil(calls / 5)
      for (let done = 0; done < calls; done += chunk) {
        const result = await closedLoop({ call: client.call, total: Math.min(chunk, calls - done), concurrency })
        for (const r of result.records) {
          durations[n++] = r.end - r.start
          if (r.ok) ok++
        }
        for (const [k, v] of Object.entries(result.errors)) errors[k] = (errors[k] ?? 0) + v
        samples.push(heap())
      }
      const server = diff(await snapshot(sandbox), before)
      const sorted = Array.from(durations.subarray(0, n)).sort((a, b) => a - b)
      const at = (p) => round(sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)])
      return {
        contender: c.name,
        calls: n,
        attempts: server.attempts,
        amplification: round(server.attempts / n, 3),
        successRate: round((100 * ok) / n, 2),
        p50: at(50),
        p95: at(95),
        p99: at(99),
        early: server.earlyRetries,
        rateLimited: server.rateLimited,
        tokenRequests: server.tokenRequests,
        errors,
        heapStartMiB,
        heapSamplesMiB: samples,
        heapEndMiB: heap()
      }
    })
  }))
