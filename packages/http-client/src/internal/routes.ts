/**
 * Per-route behaviour: the client's route rules compiled once into what the stages read from the call, and the
 * route stage, which matches each call's rule once, at the top of the pipeline (right below the base URL, so it
 * sees the absolute URL; above observe, so the call's span and metrics carry the rule's name).
 */
import type { ApiError } from "@bulwark/core-errors"
import { RetrySchedule } from "@bulwark/retry-schedules"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { RouteRule } from "./config.js"
import { ConfigError, formatIssues, labelOf, RetrySettings as RetrySettingsSchema, RouteRules } from "./config.js"
import * as Hedging from "./hedging.js"
import { type RouteMetrics, routeMetrics } from "./metrics.js"
import * as Route from "./route.js"
import { type Client, plugin, type Stage } from "./stage.js"

/** The retry of a route whose rule sets `retry`. */
export interface RouteRetry {
  /** `undefined`: no retries (`retry: false`). */
  readonly schedule: Schedule.Schedule<unknown, ApiError.ApiError> | undefined
  readonly trafficControlled:
    | { readonly maxRateLimitRetries: number; readonly maxRetryAfterMillis: number }
    | undefined
}

/** What a call of a route carries for the stages below (everything resolved when the client was built). */
export interface RouteState {
  /** The rule's name, or its pattern: the label of the call's metrics and spans. */
  readonly label: string
  readonly deadline: Duration.Duration | undefined
  readonly attemptTimeout: Duration.Duration | undefined
  /** `undefined`: the client's retry. */
  readonly retry: RouteRetry | undefined
  /** `undefined`: the client's `idempotency.autoKey`. */
  readonly autoKey: boolean | undefined
  /** How long a call may wait for its origin (the traffic controller's queue), from its first attempt there. */
  readonly maxWaitMillis: number | undefined
  /** `false`: the per-attempt plugins (a circuit breaker) leave the route alone. */
  readonly breaker: boolean
  readonly hedging: { readonly settings: Hedging.Settings; readonly window: Hedging.LatencyWindow } | undefined
  readonly metrics: RouteMetrics
}

type Rule = Schema.Schema.Type<typeof RouteRule>
type Retry = Schema.Schema.Type<typeof RetrySettingsSchema>

/** @internal */
export interface Compiled {
  readonly matcher: Route.Matcher
  readonly routes: ReadonlyArray<RouteState>
}

/**
 * Compiles the rules: patterns, each route's retry schedule (its settings over the client's, or Bulwark's
 * defaults when the client has `retry: false`), hedging settings and latency window, tagged metrics.
 *
 * @internal
 */
export const compile = (
  rules: ReadonlyArray<Rule>,
  options: {
    readonly baseUrl: string
    readonly retry: Retry | false
    readonly defaultRetry: Retry
    /** Whether a traffic controller sits inside the retries (a "not now" is then waited out in its queue). */
    readonly trafficControlled: boolean
  }
): Compiled => {
  const routes = rules.map((rule): RouteState => {
    let retry: RouteRetry | undefined
    if (rule.retry === false) retry = { schedule: undefined, trafficControlled: undefined }
    else if (rule.retry !== undefined) {
      const settings: Retry = { ...(options.retry === false ? options.defaultRetry : options.retry) }
      for (const [key, value] of Object.entries(rule.retry)) {
        if (value !== undefined) (settings as Record<string, unknown>)[key] = value
      }
      retry = {
        schedule: RetrySchedule.standard(settings),
        trafficControlled: options.trafficControlled
          ? {
            maxRateLimitRetries: settings.maxRateLimitRetries,
            maxRetryAfterMillis: Duration.toMillis(settings.maxRetryAfter)
          }
          : undefined
      }
    }
    const hedging = rule.hedging === undefined || rule.hedging === false ? undefined : {
      settings: settingsOf(rule.hedging),
      window: Hedging.makeWindow(256)
    }
    const label = labelOf(rule)
    return {
      label,
      deadline: rule.deadline,
      attemptTimeout: rule.attemptTimeout,
      retry,
      autoKey: rule.idempotency?.autoKey,
      maxWaitMillis: rule.traffic?.maxWait === undefined ? undefined : Duration.toMillis(rule.traffic.maxWait),
      breaker: rule.breaker !== false,
      hedging,
      metrics: routeMetrics(label)
    }
  })
  const matcher = Route.matcher(rules.map((rule) => Route.parse(rule.match) as Route.Pattern), options.baseUrl)
  return { matcher, routes }
}

const settingsOf = (hedging: Exclude<Rule["hedging"], false | undefined>): Hedging.Settings => {
  const delay = hedging.delay
  const percentile = typeof delay === "string" ? Hedging.parsePercentile(delay) : undefined
  return {
    maxHedges: hedging.maxHedges,
    delay: percentile !== undefined
      ? {
        _tag: "Percentile",
        percentile,
        minMillis: Duration.toMillis(hedging.minDelay),
        initialMillis: Duration.toMillis(hedging.initialDelay),
        minSamples: 20
      }
      : { _tag: "Fixed", millis: Duration.toMillis(delay as Duration.Duration) }
  }
}

/**
 * The route stage: the call's rule, matched once on the method and the absolute URL (query ignored), and its
 * deadline and attempt timeout put in the call where the deadline and attempt timeout stages read them (a
 * per-call option, set before, wins).
 *
 * @internal
 */
export const routeStage = (compiled: Compiled): Stage => (next) => (request, call) => {
  if (call.route === undefined) {
    const index = compiled.matcher.match(request.method, request.url)
    if (index !== -1) {
      const route = compiled.routes[index]!
      call.route = route
      if (call.deadlineOverride === undefined) call.deadlineOverride = route.deadline
      if (call.attemptTimeoutOverride === undefined) call.attemptTimeoutOverride = route.attemptTimeout
    }
  }
  return next(request, call)
}

/**
 * The route stage as a plugin for pipelines composed by hand: decodes the rules (every problem at once, as
 * `ApiClient.make` does) and compiles them once.
 *
 * @internal
 */
export const routesPlugin = (
  rules: ReadonlyArray<Schema.Schema.Encoded<typeof RouteRule>>,
  options: { readonly baseUrl: string }
) =>
  Effect.map(decodeRules(rules), (decoded) => {
    const compiled = compile(decoded, {
      baseUrl: options.baseUrl,
      retry: RetrySettingsSchema.make({}),
      defaultRetry: RetrySettingsSchema.make({}),
      trafficControlled: true
    })
    return <E, R>(self: Client<E, R>): Client<E, R> => plugin(routeStage(compiled), self)
  })

const decodeRules = (rules: unknown) =>
  Effect.mapError(
    Schema.decodeUnknown(RouteRules, { errors: "all", onExcessProperty: "error" })(rules),
    (error) =>
      new ConfigError({ issues: formatIssues(error).map((issue) => ({ ...issue, path: `routes.${issue.path}` })) })
  )
