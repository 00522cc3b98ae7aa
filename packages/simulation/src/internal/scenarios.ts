import { RetryBudget } from "@bulwark/retry-schedules"
import type * as Effect from "effect/Effect"
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

/** The `scaling-up` preset: 40% 503 with Retry-After 2 s, 30 s of every minute. */
const scalingUp: Scenario = {
  name: "scaling-up",
  title: "A backend scaling up: 40% 503s for 30 s of every minute",
  description: "The `scaling-up` sandbox preset (503 with Retry-After: 2 on 40% of requests, 30 s of every " +
    "60 s) for 30 minutes at 20 calls/s through the standard pipeline. (Add the circuit breaker at its defaults " +
    "and it opens in every window: 40% failures is far above its 10% threshold.)",
  options: {
    sandbox: { preset: "scaling-up" },
    traffic: { rate: 20, duration: "30 minutes", arrival: "poisson" }
  },
  goals: [
    noneSentEarly,
    {
      // The retry budget (500 tokens, 5 per retry, 1 back per success) runs dry some 20 s into each window:
      // retries are rationed to about a fifth of the successes, and the 503s left over fail.
      goal: "at least 85% of calls succeed (retries after Retry-After, rationed by the retry budget)",
      check: (report) => ({ actual: pct(report.calls.successRate), passed: report.calls.successRate >= 0.85 })
    },
    amplificationAtMost(1.25)
  ]
}

type Budget = typeof RetryBudget.defaults

/**
 * The retry budget a run's standard pipeline uses: the client config's `budget` over the defaults; `undefined`
 * when it is off. A custom pipeline's budget is its own affair: the defaults stand for it.
 */
const budgetOf = (options: Options): Budget | undefined => {
  const budget = options.pipeline === undefined ? options.client?.budget : undefined
  return budget === false ? undefined : { ...RetryBudget.defaults, ...(definedOnly(budget ?? {}) as Partial<Budget>) }
}

/** With no successes to refill it, a budget allows `capacity / retryCost` retries. */
const retryLimit = (budget: Budget): number => Math.floor(budget.capacity / budget.retryCost)

const retriesGoal = (budget: Budget | undefined): string =>
  budget === undefined
    ? `retries during the outage ≤ ${
      retryLimit(RetryBudget.defaults)
    } (the default retry budget's bound; this run turned the budget off)`
    : `retries during the outage ≤ ${
      retryLimit(budget)
    } (retry budget: ${budget.capacity} tokens at ${budget.retryCost} per retry, no refill without successes)`

const OUTAGE_START = 60
const OUTAGE_SECONDS = 300

/** Five minutes of 100% 503, without the breaker, so only the retry budget bounds the retries. */
const outage: Scenario = {
  name: "outage",
  title: "A full 5-minute outage",
  description: "Every request gets 503 (Retry-After: 5) from minute 1 to minute 6 of a 10-minute run at 20 " +
    "calls/s; standard pipeline without the circuit breaker, so the retry budget alone must keep the retries " +
    "from multiplying the load.",
  options: {
    sandbox: {
      faults: {
        windows: [{
          kind: "outage",
          startAfterSeconds: OUTAGE_START,
          durationSeconds: OUTAGE_SECONDS,
          probability: 1,
          retryAfterSeconds: 5
        }]
      }
    },
    traffic: { rate: 20, duration: "10 minutes", arrival: "poisson" }
  },
  goals: [
    {
      goal: retriesGoal(RetryBudget.defaults),
      describe: (options) => retriesGoal(budgetOf(options)),
      check: (report, options) => {
        const retries = report.attempts.total - report.calls.total
        const limit = retryLimit(budgetOf(options) ?? RetryBudget.defaults)
        return { actual: `${retries} retries for ${report.calls.total} calls`, passed: retries <= limit }
      }
    },
    {
      goal: "every call before the outage succeeds",
      check: (report) => {
        const failed = failedBetween(report, 0, OUTAGE_START)
        return { actual: `${failed} failed`, passed: failed === 0 }
      }
    },
    {
      goal: "every call from 30 s after the outage (one deadline) succeeds",
      check: (report) => {
        const failed = failedBetween(report, OUTAGE_START + OUTAGE_SECONDS + 30, Infinity)
        return { actual: `${failed} failed`, passed: failed === 0 }
      }
    },
    noneSentEarly
  ]
}

/** Traffic at 96% of a 50 requests/s quota: random bursts cross it, and 429s with an HTTP-date come back. */
const quota: Scenario = {
  name: "quota",
  title: "A quota with Retry-After",
  description: "A quota of 50 requests per second per client, 429 with Retry-After as an HTTP-date; Poisson " +
    "traffic at 48 calls/s for 10 minutes crosses it in bursts. The 429 gate must hold every request of the " +
    "client until Retry-After has passed.",
  options: {
    sandbox: { quota: { limit: 50, windowSeconds: 1 }, retryAfterFormat: "http-date" },
    traffic: { rate: 48, duration: "10 minutes", arrival: "poisson" }
  },
  goals: [
    {
      goal: "the quota is reached (the scenario exercises 429s)",
      check: (report) => ({
        actual: `${report.rateLimit.responses429} 429s`,
        passed: report.rateLimit.responses429 > 0
      })
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
export const scenarios: ReadonlyArray<Scenario> = [normalNoise, scalingUp, outage, quota, tokenExpiry]

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
