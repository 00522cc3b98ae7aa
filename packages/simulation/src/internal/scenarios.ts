import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Goal, Overrides, Scenario } from "../Scenario.js"
import type { Options } from "../Simulation.js"
import type { GoalResult, Report } from "./report.js"
import type { SimulationError } from "./simulation.js"
import * as simulation from "./simulation.js"

const pct = (ratio: number) => `${(ratio * 100).toFixed(3)}%`

const allSucceed: Goal = {
  goal: "every call succeeds",
  check: (report) => ({
    actual: `${pct(report.calls.successRate)} (${report.calls.failed} failed, ${report.calls.unfinished} unfinished)`,
    passed: report.calls.succeeded === report.calls.total
  })
}

const noneSentEarly: Goal = {
  goal: "no request is sent before a Retry-After has passed",
  check: (report) => ({
    actual: `${report.rateLimit.sentBeforeRetryAfter} sent early`,
    passed: report.rateLimit.sentBeforeRetryAfter === 0
  })
}

const amplificationAtMost = (limit: number): Goal => ({
  goal: `amplification (attempts per call) ≤ ${limit}`,
  check: (report) => ({
    actual: report.attempts.amplification.toFixed(4),
    passed: report.attempts.amplification <= limit
  })
})

const noDuplicates: Goal = {
  goal: "no write is applied twice",
  check: (report) => ({
    actual: `${report.writes.duplicateSkus} duplicate SKUs`,
    passed: report.writes.duplicateSkus === 0
  })
}

/** Failed calls among those that finished in `[from, to)` seconds. */
const failedBetween = (report: Report, from: number, to: number): number =>
  report.timeline.points
    .filter((point) => point.t >= from && point.t + report.timeline.bucketSeconds <= to)
    .reduce((total, point) => total + point.failed, 0)

/** The `realistic` preset with 5xx at 0.9%: "just under the 1% the API calls normal". */
const normalNoise: Scenario = {
  name: "normal-noise",
  title: "30 minutes at just under 1% errors",
  description: "The API's documented normal: 0.9% 5xx (half of them gateway HTML pages), 2% slow responses, " +
    "5-minute tokens, a 50 requests/s quota; 20 calls/s of reads and 10% writes through the standard pipeline " +
    "with the circuit breaker.",
  options: {
    sandbox: {
      preset: "realistic",
      faults: {
        serverError: { probability: 0.009, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
        latency: { probability: 0.02, minMs: 20, maxMs: 150 }
      }
    },
    circuitBreaker: true,
    traffic: { rate: 20, duration: "30 minutes", arrival: "poisson", writeRatio: 0.1 }
  },
  goals: [
    allSucceed,
    amplificationAtMost(1.02),
    {
      goal: "the circuit breaker never opens",
      check: (report) => ({ actual: `opened ${report.breaker.opened} times`, passed: report.breaker.opened === 0 })
    },
    noDuplicates
  ]
}

/** The `scaling-up` preset: 40% 503 with Retry-After 2 s, 30 s of every minute, with the circuit breaker on. */
const scalingUp: Scenario = {
  name: "scaling-up",
  title: "A backend scaling up: 40% 503s for 30 s of every minute",
  description: "The `scaling-up` sandbox preset (503 with Retry-After: 2 on 40% of requests, 30 s of every " +
    "60 s) for 30 minutes at 20 calls/s through the standard pipeline with the circuit breaker at its defaults. " +
    "A 503 that says when to come back is load shedding, not ill health: the breaker must not open on it, and " +
    "the traffic controller must slow down rather than stop.",
  options: {
    sandbox: { preset: "scaling-up" },
    circuitBreaker: true,
    traffic: { rate: 20, duration: "30 minutes", arrival: "poisson" }
  },
  goals: [
    noneSentEarly,
    {
      goal: "at least 90% of calls succeed",
      check: (report) => ({ actual: pct(report.calls.successRate), passed: report.calls.successRate >= 0.9 })
    },
    amplificationAtMost(1.25)
  ]
}

/**
 * The call deadline a run's standard pipeline uses, in seconds: the client config's `deadline`, or the default
 * (30 s). A custom pipeline's deadline is its own affair: the default stands for it.
 */
const deadlineSecondsOf = (options: Options): number => {
  const configured = options.pipeline === undefined ? options.client?.deadline : undefined
  const decoded = configured === undefined ? undefined : Duration.decodeUnknown(configured)
  return decoded !== undefined && Option.isSome(decoded) && Duration.isFinite(decoded.value)
    ? Duration.toSeconds(decoded.value)
    : DEADLINE_SECONDS
}

const outlastsGoal = (deadlineSeconds: number): string =>
  `every call whose ${deadlineSeconds} s deadline outlasts the outage (and the time to find its end and drain the queue) succeeds`

/**
 * How long after the outage's end its last waiting calls are sent: one `Retry-After` until the probe that finds
 * the end, a second for its answer, then the queue (a deadline's worth of arrivals) drains on the recovery ramp,
 * which releases 20 calls in its first second and doubles every second: log2(queued / 20 + 1) seconds.
 */
const drainSeconds = (deadlineSeconds: number, rate: number): number =>
  OUTAGE_RETRY_AFTER + 1 + Math.ceil(Math.log2((deadlineSeconds * rate) / 20 + 1))

const OUTAGE_START = 60
const OUTAGE_SECONDS = 300
const OUTAGE_END = OUTAGE_START + OUTAGE_SECONDS
const DEADLINE_SECONDS = 30
const OUTAGE_RETRY_AFTER = 5

/** Timeline points whose bucket lies within `[from, to)` seconds. */
const pointsBetween = (report: Report, from: number, to: number) =>
  report.timeline.points.filter((point) => point.t >= from && point.t + report.timeline.bucketSeconds <= to)

/** Five minutes of 100% 503 with Retry-After, without the breaker: the traffic controller alone. */
const outage: Scenario = {
  name: "outage",
  title: "A full 5-minute outage",
  description: "Every request gets 503 (Retry-After: 5) from minute 1 to minute 6 of a 10-minute run at 20 " +
    "calls/s; standard pipeline without the circuit breaker. The origin said when to come back: calls must " +
    "wait (within their 30 s deadline) instead of each retrying on its own, one probe at a time finds the end, " +
    "and every call whose deadline outlasts the outage succeeds.",
  options: {
    sandbox: {
      faults: {
        windows: [{
          kind: "outage",
          startAfterSeconds: OUTAGE_START,
          durationSeconds: OUTAGE_SECONDS,
          probability: 1,
          retryAfterSeconds: OUTAGE_RETRY_AFTER
        }]
      }
    },
    traffic: { rate: 20, duration: "10 minutes", arrival: "poisson" }
  },
  goals: [
    {
      goal: "at most 1.2 attempts per call that arrives during the outage (got, ky: 2.0)",
      check: (report) => {
        const points = pointsBetween(report, OUTAGE_START, OUTAGE_END)
        const attempts = points.reduce((total, point) => total + point.attempts, 0)
        const calls = points.reduce((total, point) => total + point.calls, 0)
        const perCall = attempts / Math.max(1, calls)
        return { actual: `${attempts} attempts for ${calls} calls (${perCall.toFixed(3)})`, passed: perCall <= 1.2 }
      }
    },
    {
      // A call whose deadline ends after the outage, the probe that finds its end and the queue's drain must
      // succeed. The goal names the run's deadline, not the default.
      goal: outlastsGoal(DEADLINE_SECONDS),
      describe: (options) => outlastsGoal(deadlineSecondsOf(options)),
      check: (report, options) => {
        const deadline = deadlineSecondsOf(options)
        const from = OUTAGE_END + drainSeconds(deadline, report.setup.traffic.rate) - deadline
        const failed = pointsBetween(report, from, Infinity).reduce((total, point) => total + point.failedOfArrivals, 0)
        return { actual: `${failed} of the calls arriving from ${from} s on failed`, passed: failed === 0 }
      }
    },
    {
      goal: "every call before the outage succeeds",
      check: (report) => {
        const failed = failedBetween(report, 0, OUTAGE_START)
        return { actual: `${failed} failed`, passed: failed === 0 }
      }
    },
    noneSentEarly
  ]
}

const QUOTA_SECONDS = 60
/** 50 requests per second per client, in windows that start 370 ms past the second. */
const QUOTA = { limit: 50, windowSeconds: 1, alignMillis: 370 }
/** 20% more calls than the quota allows, from 16 callers: calls wait for the quota. */
const QUOTA_TRAFFIC = {
  rate: 60,
  duration: `${QUOTA_SECONDS} seconds`,
  arrival: "uniform",
  concurrency: 16
} as const

/** Successful calls in the traffic's first `seconds`, as a share of what the quota allows in that time. */
const quotaShare = (report: Report, limitPerSecond: number, seconds: number): number => {
  const succeeded = report.timeline.points
    .filter((point) => point.t + report.timeline.bucketSeconds <= seconds)
    .reduce((total, point) => total + point.succeeded, 0)
  return succeeded / (limitPerSecond * seconds)
}

const quotaUsedAtLeast = (share: number): Goal => ({
  goal: `at least ${share * 100}% of the quota is used while calls wait for it`,
  check: (report) => {
    // Over the traffic's duration, whatever it was set to (the calls wait for the quota throughout).
    const seconds = report.setup.traffic.durationSeconds
    const used = quotaShare(report, QUOTA.limit, seconds)
    return { actual: `${pct(used)} of ${QUOTA.limit}/s over ${seconds} s`, passed: used >= share }
  }
})

/**
 * 429s per one-second bucket after the first `skip` buckets that had any: the windows in which a client without
 * rate-limit headers learns the rate (it has to meet the quota's edge to know where it is).
 */
const rateLimitedAfter = (report: Report, skip: number) => {
  const buckets = report.timeline.points.map((point) => point.status429)
  let seen = 0
  let from = buckets.length
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i]! > 0) seen++
    if (seen >= skip) {
      from = skip === 0 ? 0 : i + 1
      break
    }
  }
  const rest = buckets.slice(from)
  return { worst: Math.max(0, ...rest), total: rest.reduce((a, b) => a + b, 0) }
}

const rateLimitedPerWindowAtMost = (skip: number, limit: number): Goal => ({
  goal:
    `after the first ${skip} windows with 429s (where the rate is learned), at most ${limit} 429 per one-second window`,
  check: (report) => {
    const { total, worst } = rateLimitedAfter(report, skip)
    return { actual: `worst window ${worst}, ${total} in all`, passed: worst <= limit }
  }
})

/**
 * A quota of 50 requests per second, windows not aligned to the second, no rate-limit headers: 60 calls/s of
 * demand from 16 callers, so the controller must learn the rate from 429s and then stay under it.
 */
const quota: Scenario = {
  name: "quota",
  title: "A quota without rate-limit headers",
  description: "A quota of 50 requests per second per client in fixed windows that start 370 ms past the second, " +
    "429 with Retry-After as an HTTP-date (rounded up to the second), no rate-limit headers; 60 calls/s for " +
    "a minute from 16 concurrent callers, so calls wait for the quota. The traffic controller must learn the rate " +
    "from the 429s, then use the quota without collecting more.",
  options: {
    sandbox: { quota: QUOTA, retryAfterFormat: "http-date" },
    traffic: QUOTA_TRAFFIC,
    bucket: "1 second"
  },
  goals: [
    quotaUsedAtLeast(0.95),
    rateLimitedPerWindowAtMost(2, 1),
    noneSentEarly,
    allSucceed
  ]
}

/** The same quota, advertised in draft-11 `RateLimit`/`RateLimit-Policy` fields on every response. */
const quotaHeaders: Scenario = {
  name: "quota-headers",
  title: "A quota advertised in RateLimit headers",
  description: "The `quota` scenario's quota (50/s, windows at 370 ms past the second), with draft-11 " +
    "`RateLimit-Policy` and `RateLimit` fields on every response: the controller paces from them and must not " +
    "collect a 429 after the first window.",
  options: {
    sandbox: { quota: QUOTA, rateLimitHeaders: "draft-11" },
    traffic: QUOTA_TRAFFIC,
    bucket: "1 second"
  },
  goals: [
    quotaUsedAtLeast(0.98),
    {
      goal: "no 429 after the first second",
      check: (report) => {
        const late = report.timeline.points.filter((point) => point.t >= 1).reduce((a, p) => a + p.status429, 0)
        return { actual: `${late} 429s after the first second`, passed: late === 0 }
      }
    },
    noneSentEarly,
    allSucceed
  ]
}

const LIFETIME = 300

/** 5-minute tokens under 50 callers arriving together every second. */
const tokenExpiry: Scenario = {
  name: "token-expiry",
  title: "Token expiry every 5 minutes under 50 concurrent callers",
  description: "Tokens live 5 minutes; 50 calls arrive at the same instant every second (50 concurrent callers, " +
    "50 ms round trip) for 30 minutes. One token request per token lifetime, whatever the concurrency.",
  options: {
    sandbox: { tokens: { lifetimeSeconds: LIFETIME, requestLimit: null } },
    traffic: { rate: 50, duration: "30 minutes", arrival: "burst", concurrency: 50 },
    latency: "50 millis"
  },
  goals: [
    {
      goal: "at most one token request per token lifetime (refreshed at 75–85% of its 300 s life)",
      check: (report) => {
        // A token is refreshed no earlier than 75% of its lifetime: that bounds the fetches in the run.
        const limit = Math.ceil(report.setup.traffic.durationSeconds / (LIFETIME * 0.75))
        return {
          actual: `${report.tokens.requests} token requests in ${
            report.setup.traffic.durationSeconds / 60
          } min (limit ${limit})`,
          passed: report.tokens.requests >= 1 && report.tokens.requests <= limit
        }
      }
    },
    {
      goal: "no request is rejected for an expired token",
      check: (report) => {
        const rejected = report.attempts.byStatus["401"] ?? 0
        return { actual: `${rejected} 401s`, passed: rejected === 0 }
      }
    },
    allSucceed
  ]
}

/** @internal */
export const scenarios: ReadonlyArray<Scenario> = [normalNoise, scalingUp, outage, quota, quotaHeaders, tokenExpiry]

/** @internal */
export const evaluate = (
  scenario: Pick<Scenario, "goals">,
  report: Report,
  options: Options
): ReadonlyArray<GoalResult> =>
  scenario.goals.map((goal) => ({ goal: goal.describe?.(options) ?? goal.goal, ...goal.check(report, options) }))

const definedOnly = <A extends object>(value: A): Partial<A> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<A>

/** @internal */
export const run = (scenario: string | Scenario, overrides?: Overrides): Effect.Effect<Report, SimulationError> => {
  const found = typeof scenario === "string" ? scenarios.find((s) => s.name === scenario) : scenario
  if (found === undefined) {
    return simulation.failWith(
      `Unknown scenario ${JSON.stringify(scenario)}; the scenarios are ${scenarios.map((s) => s.name).join(", ")}`
    )
  }
  const { traffic, ...rest } = overrides ?? {}
  const options: Options = {
    ...found.options,
    name: found.name,
    ...definedOnly(rest),
    traffic: { ...found.options.traffic, ...definedOnly(traffic ?? {}) }
  }
  return simulation.runChecked(options, (report) => evaluate(found, report, options))
}
