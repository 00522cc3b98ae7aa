// The six scenarios. Each starts its own seeded sandbox (in a child process), runs every contender
// against it in turn (the sandbox is reset before each, so each sees the same fault sequence and fresh
// quotas, tokens and stats), and stops by itself.
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
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
  const runs = (c) =>
    (c.only === undefined || c.only.includes(scenario)) && (c.skip === undefined || !c.skip.includes(scenario))
  for (const c of contenders.filter(runs)) {
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

// 4b. Quotas over 30 s: one quota R per client in several shapes (draft-11 headers, fixed windows not aligned to
// the second, a token bucket, bare 429s); 16 workers back to back. The sandbox's 429 counter is sampled once a
// quota window, so "429s per window after the first two" is measured, not inferred.
export const quotaVariants = {
  headers: {
    title: "quota with draft-11 RateLimit headers (fixed 1 s windows, boundaries at .370 s)",
    config: { quota: { limit: 50, windowSeconds: 1, alignMillis: 370 }, rateLimitHeaders: "draft-11" },
    goal: ">= 0.98 R, 0 429s after the first window"
  },
  fixed: {
    title: "fixed windows, no headers (1 s windows, boundaries at .370 s; Retry-After rounded up)",
    config: { quota: { limit: 50, windowSeconds: 1, alignMillis: 370 } },
    goal: ">= 0.95 R, <= 1 429 per window after the first two"
  },
  bucket: {
    title: "token bucket, no headers (50/s, burst 10; Retry-After rounded up to 1 s)",
    config: { quota: { limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 10 } },
    goal: ">= 0.95 R, <= 1 429 per window after the first two"
  },
  bare: {
    title: "bare 429s (token bucket 50/s, burst 10; no Retry-After, no headers, as nginx limit_req)",
    config: { quota: { limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 10 }, quotaResponse: "bare" },
    goal: ">= 0.95 R, 0 failed calls, <= 1 429 per window after convergence"
  }
}

/**
 * Samples the sandbox's 429 and "sent early" counters every `windowMs` while `body` runs: per window of the run.
 * (The sandbox counts as early every request that arrives after it sent this client a 429 and before its
 * Retry-After, including those already on their way when the 429 went out: per window, those of the windows
 * where a client meets the quota's edge can be told from later ones.)
 */
const sample429s = async (sandbox, windowMs, body, startsAt = Promise.resolve(Date.now())) => {
  const perWindow = []
  const earlyPerWindow = []
  let last = undefined
  let stopped = false
  const sampler = (async () => {
    // From the start of the load (the fleet's replicas start together once all are built).
    const start = await startsAt
    if (start > Date.now()) await new Promise((resolve) => setTimeout(resolve, start - Date.now()))
    last = await snapshot(sandbox)
    const origin = performance.now()
    for (let i = 1; !stopped; i++) {
      const wait = origin + i * windowMs - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      if (stopped) break
      const now = await snapshot(sandbox)
      perWindow.push(now.rateLimited - last.rateLimited)
      earlyPerWindow.push(now.earlyRetries - last.earlyRetries)
      last = now
    }
  })()
  try {
    return { result: await body(), perWindow, earlyPerWindow }
  } finally {
    stopped = true
    await sampler
  }
}

/** The figures of one contender against one quota over `durationS`. */
const quotaRow = ({ contender, durationS, earlyPerWindow, limit, perWindow, result, server, windowSeconds }) => {
  const okInTime = result.records.filter((r) => r.ok && r.end <= durationS * 1000).length
  const settled = perWindow.slice(2, Math.floor(durationS / windowSeconds))
  return {
    ...row({ contender, ...result, server }),
    throughput: round(okInTime / durationS, 1),
    fractionOfRate: round(okInTime / ((limit / windowSeconds) * durationS), 3),
    failedCalls: result.records.filter((r) => !r.ok).length,
    rateLimitedAfterTwoWindows: settled.reduce((a, b) => a + b, 0),
    maxRateLimitedPerWindow: settled.length === 0 ? 0 : Math.max(...settled),
    windowsOverOne: settled.filter((n) => n > 1).length,
    rateLimitedPerWindow: perWindow,
    earlyAfterTwoWindows: earlyPerWindow.slice(2).reduce((a, b) => a + b, 0),
    wallMs: round(result.wallMs, 0)
  }
}

export const quota = ({ contenders, variant, durationS, concurrency = 16 }) => {
  const { config, goal, title } = quotaVariants[variant]
  const { limit, windowSeconds } = config.quota
  return withSandbox(config, async (sandbox) => ({
    variant,
    title,
    goal,
    config,
    limit,
    windowSeconds,
    durationS,
    concurrency,
    rows: await eachContender(sandbox, contenders, "quota", async (c, client) => {
      const before = await snapshot(sandbox)
      const { earlyPerWindow, perWindow, result } = await sample429s(
        sandbox,
        windowSeconds * 1000,
        () => timedLoop({ call: client.call, durationMs: durationS * 1000, concurrency })
      )
      const server = diff(await snapshot(sandbox), before)
      return quotaRow({
        contender: c.name,
        result,
        server,
        perWindow,
        earlyPerWindow,
        limit,
        windowSeconds,
        durationS
      })
    })
  }))
}

// 4f. A fleet: `processes` replicas in their own processes, one quota for all (the same client id), 16 workers
// in all. Bulwark with the fleet layer on the machine's Redis (no hand-set limit), and, for comparison, every
// replica on its own (Bulwark without Redis, got).
export const fleetContenders = (process.env.BENCH_FLEET ?? "bulwark+redis,bulwark,got").split(",")

const runReplicas = async ({ concurrency, contender, durationMs, onStart, processes, redisPrefix, sandbox }) => {
  const children = Array.from({ length: processes }, () => ({ child: undefined, ready: undefined, done: undefined }))
  const options = JSON.stringify({
    contender,
    url: sandbox.url,
    tokenUrl: sandbox.tokenUrl,
    redisPrefix,
    durationMs,
    concurrency
  })
  // Each replica reports ready (its client built) and is then told the common start over IPC, so the build
  // times (token, Redis connection) are not part of the run.
  for (const entry of children) {
    entry.child = fork(fileURLToPath(new URL("./fleet-child.mjs", import.meta.url)), [options], {
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    entry.ready = new Promise((resolve) => entry.child.once("message", resolve))
    entry.done = new Promise((resolve, reject) => {
      entry.child.on("message", (message) => message.done && resolve(message))
      entry.child.once("exit", (code) => code !== 0 && reject(new Error(`replica exited with ${code}`)))
    })
  }
  await Promise.all(children.map((entry) => entry.ready))
  const start = Date.now() + 300
  onStart(start)
  for (const entry of children) entry.child.send({ startAt: start })
  return { start, results: await Promise.all(children.map((entry) => entry.done)) }
}

export const fleet = ({ variant, processes, durationS, concurrency = 2 }) => {
  const { config, title } = quotaVariants[variant]
  const { limit, windowSeconds } = config.quota
  return withSandbox(config, async (sandbox) => {
    const rows = []
    for (const contender of fleetContenders) {
      await sandbox.reset()
      const before = await snapshot(sandbox)
      const redisPrefix = `bench-fleet-${process.pid}-${Date.now()}`
      let started
      const startsAt = new Promise((resolve) => (started = resolve))
      const { earlyPerWindow, perWindow, result } = await sample429s(sandbox, windowSeconds * 1000, async () => {
        const { results } = await runReplicas({
          onStart: started,
          contender,
          sandbox,
          processes,
          concurrency,
          durationMs: durationS * 1000,
          redisPrefix
        })
        const errors = {}
        for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
        return {
          records: results.flatMap((r) => r.records),
          errors,
          wallMs: Math.max(...results.map((r) => r.wallMs))
        }
      }, startsAt)
      const server = diff(await snapshot(sandbox), before)
      rows.push({
        ...quotaRow({ contender, result, server, perWindow, earlyPerWindow, limit, windowSeconds, durationS }),
        processes
      })
      log(`  ${contender} done`)
    }
    return { variant, title, config, limit, windowSeconds, durationS, processes, concurrency, rows }
  })
}

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
