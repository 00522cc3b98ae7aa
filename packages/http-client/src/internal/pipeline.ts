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
import { idempotencyKeyStage } from "./idempotency.js"
import { observeStage } from "./observe.js"
import { followRedirectsStage } from "./redirects.js"
import { retryStage } from "./retry.js"
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
 * The standard pipeline, outermost first. Requests flow down the list, responses and errors flow up. Under the
 * last entry sits the transport with classification (`Plugins.classify`), which turns statuses and transport
 * failures into `ApiError`s and turns off the platform's transport span.
 */
export const standard = (settings: Settings): ReadonlyArray<Entry> => {
  const tokens = settings.tokens
  const redirects = settings.redirects
  return [
    {
      name: "baseUrl",
      why: "resolves relative paths once, so every stage below sees the absolute URL (and its origin)",
      stage: baseUrlStage(settings.baseUrl, settings.userAgent)
    },
    {
      name: "observe",
      why: "one span and one outcome metric per logical call, around everything it costs",
      stage: observeStage(settings.redactor)
    },
    {
      name: "deadline",
      why:
        "bounds the whole call, retries and waits included; the retry schedule and the traffic controller never plan a wait past it",
      stage: deadlineStage(settings.deadline, settings.redactor, "attempts")
    },
    {
      name: "idempotencyKey",
      why: "outside the retries, so all attempts of one call carry the same key",
      stage: idempotencyKeyStage({ header: settings.idempotency.header, auto: settings.idempotency.autoKey })
    },
    {
      name: "retry",
      why:
        "sees each attempt's typed error: refresh-once on 401, backoff under the budget, idempotent or keyed requests only",
      stage: retryStage({
        schedule: settings.schedule,
        idempotencyHeader: settings.idempotency.header,
        redactor: settings.redactor,
        budget: settings.budget,
        tokens,
        trafficControlled: settings.trafficControlled
      })
    },
    {
      name: "trafficControl",
      why:
        "inside the retries, so every attempt honours the origin's Retry-After floor, its pace and its outage probe; fails fast beyond the call's deadline",
      stage: settings.controller === undefined
        ? undefined
        : trafficControlStage(settings.controller, settings.redactor)
    },
    {
      name: "perAttempt",
      why: "per-attempt plugins (a circuit breaker) fail fast per attempt without touching the network",
      stage: settings.perAttempt.length === 0 ? undefined : (next) => {
        // As `plugins.reduce((client, plugin) => plugin(client), inner)`: the last plugin is the outermost.
        let send = next
        for (const plugin of settings.perAttempt) send = fromPlugin(plugin)(send)
        return send
      }
    },
    {
      name: "attemptTimeout",
      why:
        "bounds one exchange, token fetch, redirects, headers and buffered body included; also enforces the call's deadline",
      stage: attemptTimeoutStage(settings.attemptTimeout, settings.redactor, settings.attemptTimeoutMode)
    },
    {
      name: "followRedirects",
      why: "above the bearer stage, so every hop is checked against the API's origin before a token is attached",
      stage: redirects === false ? undefined : followRedirectsStage({
        origin: settings.origin,
        max: redirects.max,
        crossOrigin: redirects.crossOrigin,
        redactor: settings.redactor
      })
    },
    {
      name: "bearerToken",
      why: "a token per attempt (a replay after a 401 carries the new one), only for the API's origin",
      stage: tokens._tag === "None" ? undefined : bearerTokenStage({ origin: settings.origin, tokens: tokens.value })
    },
    {
      name: "bufferBody",
      why: "reads the body inside the attempt, so a stalled or reset body is timed out and retried",
      stage: settings.bufferBody ? bufferBodyStage : undefined
    }
  ]
}

/** The stages of a list that the configuration keeps, in order. */
export const stagesOf = (entries: ReadonlyArray<Entry>): ReadonlyArray<Stage> =>
  entries.flatMap((entry) => (entry.stage === undefined ? [] : [entry.stage]))
