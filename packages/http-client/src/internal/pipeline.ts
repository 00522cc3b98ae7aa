/**
 * The standard pipeline as data: the ordered list of stages `ApiClient.make` compiles once, outermost first,
 * each with the reason it sits where it does. The order table of the README and of `Plugins` is this list
 * (a test renders it and compares), so the order is written once.
 */
import type { TokenProvider } from "@bulwark/auth-token"
import type { ApiError, Redaction } from "@bulwark/core-errors"
import type { RetryBudget } from "@bulwark/retry-schedules"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import { attemptTimeoutStage } from "./attemptTimeout.js"
import { bearerTokenStage } from "./bearer.js"
import { bufferBodyStage } from "./body.js"
import { deadlineStage } from "./deadline.js"
import { hedgeStage } from "./hedge.js"
import { idempotencyKeyStage } from "./idempotency.js"
import { observeStage } from "./observe.js"
import { followRedirectsStage } from "./redirects.js"
import { retryStage } from "./retry.js"
import type * as Routes from "./routes.js"
import { routeStage } from "./routes.js"
import { fromPlugin, resolveUrl, type Stage } from "./stage.js"
import type { Controller as TrafficController } from "./trafficControl.js"
import { trafficControlStage } from "./trafficStage.js"

/** One entry of the standard list. */
export interface Entry {
  /** The public plugin that runs the same stage, as `Plugins` exports it. */
  readonly name: string
  /** Why the stage sits where it does, one line. */
  readonly why: string
  /** Left out at build time when the configuration turns it off. */
  readonly stage: Stage | undefined
}

/** Everything the standard list is built from; services are resolved before, at build time. */
export interface Settings {
  readonly baseUrl: string
  readonly origin: string
  readonly userAgent: string | undefined
  readonly redactor: Redaction.Redactor
  readonly deadline: Duration.Duration
  readonly attemptTimeout: Duration.Duration
  readonly idempotency: { readonly header: string; readonly autoKey: boolean }
  readonly schedule: Schedule.Schedule<unknown, ApiError.ApiError> | undefined
  readonly budget: Option.Option<RetryBudget.Service>
  readonly tokens: Option.Option<TokenProvider.Service>
  readonly trafficControlled:
    | { readonly maxRateLimitRetries: number; readonly maxRetryAfterMillis: number }
    | undefined
  readonly controller: TrafficController | undefined
  readonly perAttempt: ReadonlyArray<(self: any) => any>
  readonly redirects: false | { readonly max: number; readonly crossOrigin: "fail" | "follow-without-credentials" }
  readonly bufferBody: boolean
  readonly attemptTimeoutMode: "abort" | "fiber"
  /** The route rules, compiled; `undefined` when there are none (no route stage, no hedge stage). */
  readonly routes: Routes.Compiled | undefined
}

/** The base URL as a stage: relative paths resolve once, so every stage below sees the absolute URL. */
const baseUrlStage = (base: string, userAgent: string | undefined): Stage => (next) =>
  userAgent === undefined
    ? (request, call) => next(HttpClientRequest.setUrl(request, resolveUrl(base, request.url)), call)
    : (request, call) =>
      next(
        HttpClientRequest.setHeader(
          HttpClientRequest.setUrl(request, resolveUrl(base, request.url)),
          "user-agent",
          userAgent
        ),
        call
      )

/**
 * The standard order, outermost first: each stage's public plugin name and why it sits where it does. Requests
 * flow down the list, responses and errors flow up. The README's and `Plugins`' order tables are rendered from
 * this list (`orderTable`), and a test keeps them equal.
 */
export const order = [
  {
    name: "baseUrl",
    why: "resolves relative paths once, so every stage below sees the absolute URL (and its origin)"
  },
  {
    name: "routes",
    why:
      "with `routes`: matches the call's route rule once, on the absolute URL, so every stage below reads the rule's overrides from the call and the call's span and metrics carry its name"
  },
  {
    name: "observe",
    why: "one span (`bulwark.http.call`) and one outcome metric per logical call, around everything it costs"
  },
  {
    name: "deadline",
    why:
      "bounds the whole call, retries and waits included; the retry schedule and the traffic controller never plan a wait past it"
  },
  { name: "idempotencyKey", why: "outside the retries, so all attempts of one call carry the same key" },
  {
    name: "retry",
    why:
      "sees each attempt's typed error: refresh-once on 401, backoff under the budget, idempotent or keyed requests only"
  },
  {
    name: "hedge",
    why:
      "with a `hedging` rule: inside the retries, which see a hedged group as one attempt; outside the traffic controller, the breaker and the attempt timeout, so every hedge is paced, judged and timed like any attempt"
  },
  {
    name: "trafficControl",
    why:
      "inside the retries, so every attempt of every call honours the origin's Retry-After floor, its pace and its outage probe; fails fast beyond the call's deadline"
  },
  {
    name: "perAttempt",
    why:
      "per-attempt plugins (`@bulwark/circuit-breaker`): fail fast per attempt without touching the network; a route rule with `breaker: false` goes around them"
  },
  {
    name: "attemptTimeout",
    why:
      "bounds one exchange (token wait, redirects, headers, buffered body) and enforces the call's deadline: one timer per attempt, which aborts the request"
  },
  {
    name: "followRedirects",
    why: "above the bearer stage, so every hop is checked against the API's origin before a token is attached"
  },
  {
    name: "bearerToken",
    why: "a token per attempt (a replay after a 401 carries the new one), sent only to the API's origin"
  },
  {
    name: "bufferBody",
    why: "reads a 2xx body inside the attempt, so a stalled or reset body is timed out and retried"
  },
  {
    name: "classify",
    why:
      "turns statuses and transport failures into `ApiError`s for every stage above; turns the platform's transport span off (it records URLs and headers unredacted) and sends `traceparent` itself"
  },
  { name: "transport", why: "the platform `HttpClient` (undici on Node), which must not follow redirects itself" }
] as const satisfies ReadonlyArray<{ readonly name: string; readonly why: string }>

/** The name of a stage in the standard order. */
export type StageName = (typeof order)[number]["name"]

/** The order as a Markdown table (`#`, the plugin, why it sits there), as the README and `Plugins` show it. */
export const orderTable = (): string =>
  [
    "| # | stage (plugin) | why it sits there |",
    "|---|---|---|",
    ...order.map((entry, i) => `| ${i + 1} | \`${entry.name}\` | ${entry.why} |`)
  ].join("\n")

/**
 * The standard pipeline's stages in `order`, from the settings. `classify` and `transport` are the innermost
 * `Send` (`transport.ts`), not stages; a stage the configuration turns off is left out here, at build time.
 */
export const standard = (settings: Settings): ReadonlyArray<Entry> => {
  const tokens = settings.tokens
  const redirects = settings.redirects
  const stages: Record<Exclude<StageName, "classify" | "transport">, Stage | undefined> = {
    baseUrl: baseUrlStage(settings.baseUrl, settings.userAgent),
    routes: settings.routes === undefined ? undefined : routeStage(settings.routes),
    observe: observeStage(settings.redactor),
    deadline: deadlineStage(settings.deadline, settings.redactor, "attempts"),
    idempotencyKey: idempotencyKeyStage({ header: settings.idempotency.header, auto: settings.idempotency.autoKey }),
    retry: retryStage({
      schedule: settings.schedule,
      idempotencyHeader: settings.idempotency.header,
      redactor: settings.redactor,
      budget: settings.budget,
      tokens,
      trafficControlled: settings.trafficControlled
    }),
    hedge: settings.routes === undefined || !settings.routes.routes.some((route) => route.hedging !== undefined)
      ? undefined
      : hedgeStage({ budget: settings.budget, idempotencyHeader: settings.idempotency.header }),
    trafficControl: settings.controller === undefined
      ? undefined
      : trafficControlStage(settings.controller, settings.redactor),
    perAttempt: settings.perAttempt.length === 0 ? undefined : (next) => {
      // As `plugins.reduce((client, plugin) => plugin(client), inner)`: the last plugin is the outermost.
      let send = next
      for (const plugin of settings.perAttempt) send = fromPlugin(plugin)(send)
      if (settings.routes?.routes.some((route) => !route.breaker) !== true) return send
      // A route rule with `breaker: false` goes around them.
      const plugins = send
      return (request, call) =>
        call.route !== undefined && !call.route.breaker ? next(request, call) : plugins(request, call)
    },
    attemptTimeout: attemptTimeoutStage(settings.attemptTimeout, settings.redactor, settings.attemptTimeoutMode),
    followRedirects: redirects === false ? undefined : followRedirectsStage({
      origin: settings.origin,
      max: redirects.max,
      crossOrigin: redirects.crossOrigin,
      redactor: settings.redactor
    }),
    bearerToken: tokens._tag === "None"
      ? undefined
      : bearerTokenStage({ origin: settings.origin, tokens: tokens.value }),
    bufferBody: settings.bufferBody ? bufferBodyStage : undefined
  }
  return order.flatMap((entry) =>
    entry.name === "classify" || entry.name === "transport"
      ? []
      : [{ name: entry.name, why: entry.why, stage: stages[entry.name] }]
  )
}

/** The stages of a list that the configuration keeps, in order. */
export const stagesOf = (entries: ReadonlyArray<Entry>): ReadonlyArray<Stage> =>
  entries.flatMap((entry) => (entry.stage === undefined ? [] : [entry.stage]))
