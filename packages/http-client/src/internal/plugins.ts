import type { AccessToken } from "@bulwark/auth-token"
import { BearerChallenge, type TokenError, TokenProvider } from "@bulwark/auth-token"
import { ApiError, Classify, Redaction } from "@bulwark/core-errors"
import { Deadline, RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { constTrue } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as EffectRateLimiter from "effect/RateLimiter"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import { RateLimitGate, type Service as RateLimitGateService } from "../RateLimitGate.js"
import { type CallState, currentCallState, makeCallState, type RetryReason } from "./callState.js"
import * as RateLimitHeaders from "./rateLimitHeaders.js"
import { timeoutFail } from "./timeout.js"
import * as trafficDecisions from "./traffic.js"
import * as TrafficControl from "./trafficControl.js"
import type { Controller as TrafficController } from "./trafficControl.js"

type Client<E, R> = HttpClient.HttpClient.With<E, R>

/**
 * Builds a stage that sees each request it is asked to send and may send it to the inner client any
 * number of times (or with changes). The inner client's own request mapping applies to each send.
 */
export const stage = <E, R, E2, R2>(
  self: Client<E, R>,
  f: (
    request: HttpClientRequest.HttpClientRequest,
    send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, E2, R2>
): Client<E2, R2> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (request) => f(request, (r) => self.execute(r))),
    Effect.succeed
  )

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i

/** @internal */
export const resolveUrl = (base: string, url: string): string => {
  if (ABSOLUTE.test(url)) return url
  if (url === "") return base
  return base.endsWith("/")
    ? url.startsWith("/") ? base + url.slice(1) : base + url
    : url.startsWith("/") || url.startsWith("?")
    ? base + url
    : `${base}/${url}`
}

/** @internal */
export const baseUrl = (base: string) => <E, R>(self: Client<E, R>): Client<E, R> =>
  HttpClient.mapRequest(self, (request) => HttpClientRequest.setUrl(request, resolveUrl(base, request.url)))

/** @internal */
export const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/** @internal */
export const requestUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = request.urlParams.length === 0
    ? ""
    : `?${new URLSearchParams(request.urlParams.map(([k, v]) => [k, v] as [string, string])).toString()}`
  return `${request.url}${query}`
}

const withoutAuthorization = (request: HttpClientRequest.HttpClientRequest) => {
  if (request.headers["authorization"] === undefined) return request
  // Header setters merge, so the request is rebuilt without the header.
  return HttpClientRequest.make(request.method)(request.url, {
    urlParams: request.urlParams,
    headers: Headers.remove(request.headers, "authorization"),
    body: request.body,
    ...(Option.isSome(request.hash) ? { hash: request.hash.value } : {})
  })
}

const bearerHeader = (token: AccessToken.AccessToken): string =>
  `${token.type.toLowerCase() === "bearer" ? "Bearer" : token.type} ${Redacted.value(token.value)}`

/** @internal */
export const bearerToken = (options: {
  readonly origin: string
  readonly tokens?: TokenProvider.Service | undefined
}) => {
  const apiOrigin = originOf(options.origin) ?? options.origin
  const tokensService = options.tokens === undefined
    ? TokenProvider.TokenProvider
    : Effect.succeed(options.tokens as TokenProvider.Service)
  return <E, R>(
    self: Client<E, R>
  ): Client<E | TokenError.TokenError | ApiError.NetworkError, R | TokenProvider.TokenProvider> =>
    stage(self, (request, send): Effect.Effect<
      HttpClientResponse.HttpClientResponse,
      E | TokenError.TokenError | ApiError.NetworkError,
      R | TokenProvider.TokenProvider
    > => {
      // Only the API's own origin (scheme, host and port) ever sees the token; any other origin,
      // including one reached by a redirect, gets the request without an Authorization header.
      if (originOf(request.url) !== apiOrigin) return send(withoutAuthorization(request))
      return Effect.flatMap(
        tokensService,
        (tokens) =>
          Effect.flatMap(tokens.get, (token) =>
            Effect.flatMap(FiberRef.get(currentCallState), (state) => {
              if (state !== undefined) state.tokenUsed = token
              return send(HttpClientRequest.setHeader(request, "authorization", bearerHeader(token))).pipe(
                Effect.flatMap((response) => {
                  const reached = originOf(response.request.url)
                  if (reached === undefined || reached === apiOrigin) return Effect.succeed(response)
                  return leakedByTransport(tokens, token, request, response.request.url, response.status)
                }),
                Effect.catchIf(
                  (error): error is E & ApiError.ApiError =>
                    ApiError.isApiError(error) && originOf(error.url) !== undefined &&
                    originOf(error.url) !== apiOrigin,
                  (error) => leakedByTransport(tokens, token, request, error.url, "status" in error ? error.status : 0)
                )
              )
            }))
      )
    })
}

/**
 * The transport under the pipeline followed a redirect to another origin by itself (the platform's
 * `HttpClient.followRedirects`), re-sending the Authorization header there before Bulwark could see the hop.
 * The token is treated as exposed: it is invalidated (the next call fetches a new one) and the call fails
 * with an error that says what happened and how to fix it.
 */
const leakedByTransport = (
  tokens: TokenProvider.Service,
  token: AccessToken.AccessToken,
  request: HttpClientRequest.HttpClientRequest,
  reachedUrl: string,
  status: number
) =>
  Effect.zipRight(
    Effect.zipRight(
      tokens.invalidate(token),
      Effect.logWarning(
        "The HttpClient under @bulwark/http-client followed a redirect to another origin and sent the access token there; the token was discarded. Remove HttpClient.followRedirects from the transport: the ApiClient follows redirects itself and never sends the token to another origin."
      )
    ),
    Effect.fail(
      new ApiError.NetworkError({
        method: request.method,
        url: Redaction.url(requestUrl(request)),
        reason: "Transport",
        sent: true,
        cause: new Error(
          `the transport followed a redirect to ${
            Redaction.url(reachedUrl)
          } (status ${status}) and re-sent the request there with the access token, which has been discarded; remove HttpClient.followRedirects from the transport given to the ApiClient (it follows same-origin redirects itself, see the redirects option)`
        )
      })
    )
  )

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

const secretsOf = (request: HttpClientRequest.HttpClientRequest, redactor: Redaction.Redactor) => {
  const out: Array<string> = []
  for (const [name, value] of Object.entries(request.headers)) {
    if (redactor.headerNames.has(name)) out.push(value)
  }
  for (const [name, value] of request.urlParams) {
    if (redactor.queryParams.has(name.toLowerCase())) out.push(value)
  }
  return out
}

/**
 * Follows redirects with an origin check on every hop. Sits above the bearer stage, so each hop is sent
 * through it and gets the token only when it goes to the API's origin; a hop to another origin fails, or
 * (when allowed) goes without the token and without any header the redactor counts as secret. 303, and
 * 301/302 after a POST, become a GET without a body, as browsers and the Fetch standard do.
 *
 * @internal
 */
export const followRedirects = (options: {
  readonly origin: string
  readonly max: number
  readonly crossOrigin: "fail" | "follow-without-credentials"
  readonly redactor: Redaction.Redactor
}) => {
  const apiOrigin = originOf(options.origin) ?? options.origin
  return <E, R>(self: Client<E, R>): Client<E | ApiError.ApiError, R> =>
    stage(self, (request, send) => {
      // The secrets the call carries above the bearer stage (API keys, secret query parameters): a hop drops
      // the query and, across origins, the headers, so its own request no longer knows them.
      const secrets = secretsOf(request, options.redactor)
      const loop = (
        current: HttpClientRequest.HttpClientRequest,
        hops: number
      ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | ApiError.ApiError, R> =>
        Effect.flatMap(send(current), (response) => {
          const location = response.headers["location"]
          if (!REDIRECT_STATUSES.has(response.status) || location === undefined || location === "") {
            return Effect.succeed(response)
          }
          const refuse = Effect.fail(Classify.redirectError(response, { redactor: options.redactor, secrets }))
          if (hops >= options.max) return refuse
          let target: URL
          try {
            target = new URL(location, requestUrl(current))
          } catch {
            return refuse
          }
          // A server that redirects to a URL quoting a credential it received is never followed: the URL
          // would carry the secret to wherever it points, and into every log of the hop.
          if (secrets.length > 0 && Redaction.text(target.href, { secrets }) !== target.href) return refuse
          if (target.protocol !== "https:" && target.protocol !== "http:") return refuse
          const crossOrigin = target.origin !== apiOrigin
          if (crossOrigin && options.crossOrigin === "fail") return refuse
          // HTTPS to HTTP would send the request in clear: never followed.
          if (new URL(requestUrl(current)).protocol === "https:" && target.protocol === "http:") return refuse
          const toGet = response.status === 303 || ((response.status === 301 || response.status === 302) &&
            current.method === "POST")
          let headers = Headers.remove(current.headers, "authorization")
          if (crossOrigin) {
            for (const name of Object.keys(headers)) {
              if (options.redactor.headerNames.has(name)) headers = Headers.remove(headers, name)
            }
          }
          if (toGet) headers = Headers.remove(Headers.remove(headers, "content-type"), "content-length")
          const next = HttpClientRequest.setUrl(
            HttpClientRequest.make(toGet ? "GET" : current.method)(target.href, {
              headers,
              ...(toGet ? {} : { body: current.body })
            }),
            target
          )
          return loop(next, hops + 1)
        })
      return loop(request, 0)
    })
}

/** @internal */
export const attemptTimeout = (timeout: Duration.DurationInput, redactor: Redaction.Redactor) => {
  const configured = Duration.decode(timeout)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      Effect.flatMap(FiberRef.get(currentCallState), (state) => {
        const duration = state?.attemptTimeoutOverride ?? configured
        const attemptMillis = Duration.toMillis(duration)
        const deadline = state?.deadline
        if (deadline === undefined) {
          return timeoutFail(send(request), duration, () =>
            new ApiError.Timeout({
              method: request.method,
              url: Redaction.url(requestUrl(request), redactor),
              phase: "attempt",
              timeout: duration
            }))
        }
        // The call's deadline is enforced here, by the attempt, rather than by a second timer: every
        // other moment of a call is a wait that the retry schedule and the gate keep inside it.
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const remaining = Math.max(0, deadline.at - now)
          const byDeadline = remaining < attemptMillis
          return timeoutFail(send(request), byDeadline ? Duration.millis(remaining) : duration, () =>
            new ApiError.Timeout({
              method: request.method,
              url: Redaction.url(requestUrl(request), redactor),
              phase: byDeadline ? "deadline" : "attempt",
              timeout: byDeadline ? deadline.budget : duration
            }))
        })
      }))
}

/**
 * The transport without the platform's own `http.client` span: that span records every request header and
 * the full URL with its query in clear (Bulwark's redactor does not reach it), and Bulwark's attempt span
 * already describes the attempt. The W3C `traceparent` header is still sent, from the current span.
 *
 * @internal
 */
export const untracedTransport = <E, R>(self: Client<E, R>): Client<E, R> =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest, E, R>) =>
      Effect.flatMap(request, (request) =>
        Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, E, R>((fiber) => {
          const span = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
          const traced = Option.isSome(span) && fiber.getFiberRef(HttpClient.currentTracerPropagation) &&
              span.value._tag === "Span"
            ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span.value))
            : request
          return Effect.locally(self.execute(traced), HttpClient.currentTracerDisabledWhen, constTrue)
        })),
    Effect.succeed
  )

/** @internal */
export const classify = (options?: Classify.Options) => <E, R>(self: Client<E, R>) =>
  Classify.client(untracedTransport(self), options)

/** @internal */
export const deadline = (
  budget: Duration.DurationInput,
  redactor: Redaction.Redactor,
  enforcement: "timer" | "attempts" = "timer"
) => {
  const configured = Duration.decode(budget)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      withState((state) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const duration = state.deadlineOverride ?? configured
          const budgetMillis = Duration.toMillis(duration)
          const at = now + budgetMillis
          if (state.deadline === undefined || state.deadline.at > at) state.deadline = { at, budget: duration }
          // "attempts": the attempt timeout enforces it (the standard pipeline, one timer per attempt).
          if (enforcement === "attempts") return send(request)
          return Deadline.at(
            timeoutFail(send(request), duration, () =>
              new ApiError.Timeout({
                method: request.method,
                url: Redaction.url(requestUrl(request), redactor),
                phase: "deadline",
                timeout: duration
              })),
            at
          )
        })
      ))
}

/** The earliest of the call's deadline and the ambient `Deadline`, if any. */
export const deadlineOf = (state: CallState | undefined): Effect.Effect<number | undefined> =>
  Effect.map(FiberRef.get(Deadline.currentDeadline), (ambient) => {
    const own = state?.deadline?.at
    if (Option.isNone(ambient)) return own
    return own === undefined ? ambient.value : Math.min(own, ambient.value)
  })

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"])

/** @internal */
export const isIdempotent = (request: HttpClientRequest.HttpClientRequest, header: string): boolean =>
  IDEMPOTENT_METHODS.has(request.method) || request.headers[header.toLowerCase()] !== undefined

/** A UUID v4 from Effect's `Random`, so seeded runs produce the same keys. */
export const randomUuid: Effect.Effect<string> = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x100000000))),
  (words) => {
    const hex = words.map((w) => w.toString(16).padStart(8, "0")).join("")
    const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${
      hex.slice(20, 32)
    }`
  }
)

/** @internal */
export const callDeadline: Effect.Effect<Option.Option<number>> = Effect.flatMap(
  FiberRef.get(currentCallState),
  (state) => Effect.map(deadlineOf(state), Option.fromNullable)
)

/** @internal */
export const idempotencyKey = (options: { readonly header: string; readonly auto: boolean }) => {
  const header = options.header.toLowerCase()
  return <E, R>(self: Client<E, R>): Client<E, R> =>
    stage(self, (request, send) => {
      if (!options.auto || IDEMPOTENT_METHODS.has(request.method) || request.headers[header] !== undefined) {
        return send(request)
      }
      // One key per logical call: this stage sits outside the retry stage, so every retry repeats it.
      return Effect.flatMap(randomUuid, (key) => send(HttpClientRequest.setHeader(request, options.header, key)))
    })
}

/** @internal */
export const metrics = {
  calls: Metric.counter("bulwark_http_calls_total", { description: "Logical calls by outcome", incremental: true }),
  attempts: Metric.counter("bulwark_http_attempts_total", {
    description: "HTTP attempts, labelled by why each was made (initial or the retry reason)",
    incremental: true
  }),
  // Waits for an origin are the traffic controller's (one metric, whichever stage waits).
  gateWaits: TrafficControl.metrics.waits,
  gateWaitMillis: TrafficControl.metrics.waitMillis,
  gateFailFasts: TrafficControl.metrics.failFasts,
  retryWaitMillis: Metric.counter("bulwark_http_retry_wait_millis_total", {
    description: "Time spent waiting before retries (backoff or Retry-After), in milliseconds, by retry reason",
    incremental: true
  }),
  callDuration: Metric.timerWithBoundaries("bulwark_http_call_duration", [
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000
  ])
}

const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, key: string) => {
  const cache = new Map<string, Metric.Metric<Type, In, Out>>()
  return (value: string) => {
    let found = cache.get(value)
    if (found === undefined) {
      found = Metric.tagged(metric, key, value)
      cache.set(value, found)
    }
    return found
  }
}

// Tagging per request would rebuild metric keys on the hot path; the few label values are cached.
const attemptsByReason = tagged(metrics.attempts, "reason")
const retryWaitByReason = tagged(metrics.retryWaitMillis, "reason")
const callsByOutcome = tagged(metrics.calls, "outcome")

/** @internal */
export const retryReasons: ReadonlyArray<RetryReason> = [
  "initial",
  "5xx",
  "timeout",
  "network",
  "401-refresh",
  "429",
  "other"
]

/** @internal */
export const attemptCounts: Effect.Effect<Record<RetryReason, number>> = Effect.map(
  Effect.forEach(retryReasons, (reason) => Metric.value(attemptsByReason(reason))),
  (states) =>
    Object.fromEntries(retryReasons.map((reason, i) => [reason, states[i]!.count])) as Record<RetryReason, number>
)

/** @internal */
export const retryWaitMillis: Effect.Effect<Record<RetryReason, number>> = Effect.map(
  Effect.forEach(retryReasons, (reason) => Metric.value(retryWaitByReason(reason))),
  (states) =>
    Object.fromEntries(retryReasons.map((reason, i) => [reason, states[i]!.count])) as Record<RetryReason, number>
)

const retryReasonOf = (error: ApiError.ApiError): RetryReason => {
  switch (error._tag) {
    case "ServerError":
      return "5xx"
    case "Timeout":
      return "timeout"
    case "NetworkError":
      return "network"
    case "Unauthorized":
      return "401-refresh"
    case "RateLimited":
      return "429"
    default:
      return "other"
  }
}

/**
 * Errors after which the request was certainly not processed, so even a non-idempotent request may
 * be sent again: nothing was sent, the server refused with 429, or the token was refused (401).
 */
const certainlyNotProcessed = (error: ApiError.ApiError): boolean =>
  (error._tag === "NetworkError" && !error.sent) ||
  (error._tag === "Timeout" && error.phase === "connect") ||
  error._tag === "RateLimited" ||
  error._tag === "Unauthorized"

const withState = <A, E, R>(f: (state: CallState) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentCallState), (existing) => {
    if (existing !== undefined) return f(existing)
    const state = makeCallState()
    return Effect.locally(f(state), currentCallState, state)
  })

/**
 * Runs one call with its own deadline and attempt timeout instead of the configured ones (the typed
 * helpers' `RequestOptions`).
 *
 * @internal
 */
export const withCallOptions = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: {
    readonly deadline?: Duration.Duration | undefined
    readonly attemptTimeout?: Duration.Duration | undefined
  }
): Effect.Effect<A, E, R> => {
  if (options.deadline === undefined && options.attemptTimeout === undefined) return effect
  const state = makeCallState()
  state.deadlineOverride = options.deadline
  state.attemptTimeoutOverride = options.attemptTimeout
  return Effect.locally(effect, currentCallState, state)
}

/**
 * Runs `effect` inside a span that ends with no value: the response (whose request holds the
 * Authorization header and the raw URL) must not be reachable from a span's exit, which tracers may
 * record or print. Failures are `ApiError`s and other redacted errors, so they are kept.
 */
const spanWithoutValue = <E, R>(
  effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  name: string,
  options: Tracer.SpanOptions
): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> =>
  Effect.suspend(() => {
    let response: HttpClientResponse.HttpClientResponse | undefined
    return Effect.map(
      Effect.withSpan(
        Effect.map(effect, (value) => {
          response = value
        }),
        name,
        options
      ),
      () => response!
    )
  })

/** Records the attempt's status (or error tag) on its span. */
const annotateOutcome = <E, R>(
  effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> =>
  effect.pipe(
    Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
    Effect.tapError((error) =>
      ApiError.isApiError(error) && "status" in error
        ? Effect.annotateCurrentSpan({ "http.response.status_code": error.status, "bulwark.error": error._tag })
        : Effect.annotateCurrentSpan(
          "bulwark.error",
          typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "error"
        )
    )
  )

/** The 429 a call gives up on because the origin reopens after its deadline: the same error, saying when. */
const givenUpUntil = (error: ApiError.RateLimited, retryAt: number): ApiError.RateLimited =>
  new ApiError.RateLimited({
    method: error.method,
    url: error.url,
    status: error.status,
    body: error.body,
    snippet: error.snippet,
    requestId: error.requestId,
    retryAfter: error.retryAfter,
    retryAt,
    cause: error.cause
  })

/** @internal */
export interface RetryOptions {
  /** `undefined`: no retries (only the single replay after a 401 with a fresh token). */
  readonly schedule: Schedule.Schedule<unknown, ApiError.ApiError> | undefined
  readonly idempotencyHeader: string
  readonly redactor: Redaction.Redactor
  /** Explicit services; when absent they are looked up in the context of each call. */
  readonly budget?: Option.Option<RetryBudget.Service> | undefined
  readonly tokens?: Option.Option<TokenProvider.Service> | undefined
  /**
   * A traffic controller sits inside the retries: a "not now" (429, or a 5xx with `Retry-After`) is then
   * waited out in the origin's queue rather than by this stage's schedule, costs nothing of the retry budget
   * (a quota is not an outage), and is bounded by `maxRateLimitRetries` and the deadline.
   */
  readonly trafficControlled?:
    | { readonly maxRateLimitRetries: number; readonly maxRetryAfterMillis: number }
    | undefined
}

/** @internal */
export const retry = (options: RetryOptions) => {
  const budgetService = options.budget === undefined
    ? Effect.serviceOption(RetryBudget.RetryBudget)
    : Effect.succeed(options.budget)
  const tokensService = options.tokens === undefined
    ? Effect.serviceOption(TokenProvider.TokenProvider)
    : Effect.succeed(options.tokens)
  return <E, R>(self: Client<E, R>): Client<E, R> =>
    stage(self, (request, send) =>
      withState((state) =>
        Effect.flatMap(budgetService, (budget) => {
          // Suspended: each run reads the attempt number and reason of that moment (the effect is re-run
          // for every retry; attributes built once would label every attempt as the first).
          const attempt = Effect.suspend(() =>
            Effect.zipLeft(
              Effect.exit(
                spanWithoutValue(annotateOutcome(send(request)), "bulwark.http.attempt", {
                  captureStackTrace: false,
                  kind: "client",
                  attributes: {
                    "bulwark.attempt": state.attempt,
                    "bulwark.retry_reason": state.reason,
                    "http.request.method": request.method,
                    "url.full": redactedUrl(requestUrl(request), options.redactor)
                  }
                })
              ),
              Metric.increment(attemptsByReason(state.reason))
            )
          )
          const succeeded = (response: HttpClientResponse.HttpClientResponse) =>
            Option.isSome(budget) ? Effect.as(budget.value.recordSuccess, response) : Effect.succeed(response)
          // The first attempt takes the short path; the retry loop is entered only after a failure.
          return Effect.flatMap(attempt, (first) =>
            Exit.isSuccess(first) ? succeeded(first.value) : Effect.gen(function*() {
              const idempotent = isIdempotent(request, options.idempotencyHeader)
              let driver: Schedule.ScheduleDriver<unknown, ApiError.ApiError> | undefined
              let exit: Exit.Exit<HttpClientResponse.HttpClientResponse, E> = first
              for (;;) {
                if (Exit.isSuccess(exit)) return yield* succeeded(exit.value)
                const failure = Cause.failureOption(exit.cause)
                if (Option.isNone(failure) || !ApiError.isApiError(failure.value)) {
                  return yield* exit
                }
                const error = failure.value
                const decision = ApiError.retryDecision(error)
                // 401: invalidate exactly the token that was sent, fetch a new one, replay once.
                if (decision === "refresh-auth") {
                  if (state.refreshed || state.tokenUsed === undefined) {
                    return yield* exit
                  }
                  const tokens = yield* tokensService
                  if (Option.isNone(tokens)) {
                    return yield* exit
                  }
                  const challenge = error._tag === "Unauthorized" ? BearerChallenge.action(error.challenge) : "refresh"
                  if (challenge === "insufficient-scope" || challenge === "invalid-request") {
                    return yield* exit
                  }
                  yield* tokens.value.invalidate(state.tokenUsed)
                  state.refreshed = true
                  state.attempt += 1
                  state.reason = "401-refresh"
                  exit = yield* attempt
                  continue
                }
                if (decision === "fail" || options.schedule === undefined) {
                  return yield* exit
                }
                if (!idempotent && !certainlyNotProcessed(error)) {
                  return yield* exit
                }
                // A Retry-After that outlasts the deadline: give up now, saying when a retry is allowed.
                const wait = "retryAfter" in error ? error.retryAfter : undefined
                const deadlineAt = yield* deadlineOf(state)
                const traffic = options.trafficControlled
                if (traffic !== undefined && decision === "retry-after") {
                  // The origin said "not now": the traffic controller holds this call in the origin's queue
                  // (in its original place) until the origin may be called again; nothing is slept here.
                  state.rateLimitWaits += 1
                  if (state.rateLimitWaits > traffic.maxRateLimitRetries) {
                    return yield* exit
                  }
                  const now = yield* Clock.currentTimeMillis
                  const waitMillis = wait === undefined ? 0 : Duration.toMillis(wait)
                  const retryAt = error._tag === "RateLimited" && error.retryAt !== undefined
                    ? error.retryAt
                    : now + waitMillis
                  if (waitMillis > traffic.maxRetryAfterMillis) {
                    return yield* exit
                  }
                  if (deadlineAt !== undefined && retryAt > deadlineAt) {
                    if (error._tag !== "RateLimited") {
                      return yield* exit
                    }
                    return yield* Effect.fail(
                      givenUpUntil(error, retryAt) as unknown as E
                    )
                  }
                  state.attempt += 1
                  state.reason = retryReasonOf(error)
                  exit = yield* attempt
                  continue
                }
                if (error._tag === "RateLimited" && wait !== undefined && deadlineAt !== undefined) {
                  const now = yield* Clock.currentTimeMillis
                  // The same instant the gate closes the origin until: when the 429 arrived plus its wait.
                  const retryAt = error.retryAt ?? now + Duration.toMillis(wait)
                  if (retryAt > deadlineAt) {
                    return yield* Effect.fail(
                      givenUpUntil(error, retryAt) as unknown as E
                    )
                  }
                }
                if (driver === undefined) {
                  const schedule = options.schedule
                  const bounded = deadlineAt === undefined
                    ? schedule
                    : RetrySchedule.withDeadline(schedule, { deadline: deadlineAt })
                  const policy = Option.isSome(budget)
                    ? RetryBudget.withBudget(bounded).pipe(
                      Schedule.provideService(RetryBudget.RetryBudget, budget.value)
                    )
                    : bounded
                  driver = yield* Schedule.driver(policy)
                }
                const waitStart = yield* Clock.currentTimeMillis
                const next = yield* Effect.either(driver.next(error))
                if (next._tag === "Left") {
                  return yield* exit
                }
                const waited = (yield* Clock.currentTimeMillis) - waitStart
                if (waited > 0) {
                  yield* Metric.incrementBy(retryWaitByReason(retryReasonOf(error)), waited)
                }
                state.attempt += 1
                state.reason = retryReasonOf(error)
                exit = yield* attempt
              }
            }))
        })
      ))
}

/** What an attempt's outcome tells the traffic controller about its origin. */
const answerOf = (
  exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>,
  now: number
): trafficDecisions.Answer => {
  if (Exit.isSuccess(exit)) {
    return { kind: "accepted", quota: RateLimitHeaders.parse(exit.value.headers, now) }
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure) || !ApiError.isApiError(failure.value)) {
    // Interrupted, or refused before the network (a breaker, a token that could not be fetched).
    return { kind: "not-sent" }
  }
  const error = failure.value
  const retryAfterMillis = "retryAfter" in error && error.retryAfter !== undefined
    ? Duration.toMillis(error.retryAfter)
    : undefined
  switch (error._tag) {
    case "RateLimited":
      return { kind: "rate-limited", retryAfterMillis }
    case "ServerError":
      return retryAfterMillis === undefined ? { kind: "failed" } : { kind: "unavailable", retryAfterMillis }
    case "Timeout":
    case "NetworkError":
      return { kind: "failed" }
    default:
      return { kind: "accepted" }
  }
}

/**
 * The per-origin traffic controller as a stage: each attempt takes its origin's next slot (or waits for it
 * in the origin's queue, in the order calls started, or is refused at once with `RateLimited` and `retryAt`
 * when the slot would come after its deadline), and reports what the answer said.
 *
 * @internal
 */
export const trafficControl =
  (controller: TrafficController, redactor: Redaction.Redactor) =>
  <E, R>(self: Client<E, R>): Client<E | ApiError.RateLimited, R> =>
    stage(
      self,
      (request, send) =>
        Effect.flatMap(FiberRef.get(currentCallState), (state) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const origin = originOf(request.url) ?? request.url
            if (state !== undefined && state.startedAt === undefined) state.startedAt = now
            const deadline = state?.deadline?.at
            return Effect.matchEffect(controller.acquire(origin, state?.startedAt ?? now, deadline), {
              onFailure: (refusal): Effect.Effect<never, ApiError.RateLimited> =>
                Effect.flatMap(Clock.currentTimeMillis, (at) =>
                  Effect.fail(
                    new ApiError.RateLimited({
                      method: request.method,
                      url: Redaction.url(requestUrl(request), redactor),
                      status: 429,
                      retryAfter: Duration.millis(Math.max(0, refusal.retryAt - at)),
                      retryAt: refusal.retryAt
                    })
                  )),
              onSuccess: (ticket) =>
                Effect.onExit(send(request), (exit) =>
                  Effect.flatMap(Clock.currentTimeMillis, (at) =>
                    Effect.flatMap(
                      controller.answer(origin, ticket, answerOf(exit, at)),
                      (changed) => changed ? rateEvent(controller, origin, at) : Effect.void
                    )))
            })
          }))
    )

/** A span event on the attempt when the origin's pace or pause changed. */
const rateEvent = (controller: TrafficController, origin: string, at: number) =>
  Effect.flatMap(Effect.currentSpan, (span) => {
    const state = controller.inspect(origin)
    if (state === undefined) return Effect.void
    return Effect.sync(() =>
      span.event("bulwark.traffic.changed", BigInt(at) * 1_000_000n, {
        "bulwark.traffic.rate_per_second": trafficDecisions.ratePerSecond(state),
        "bulwark.traffic.not_before": state.notBefore,
        "bulwark.traffic.outage": state.outage
      })
    )
  }).pipe(Effect.catchAll(() => Effect.void))

/** @internal */
export const rateLimitGate = (
  redactor: Redaction.Redactor,
  explicit?: Option.Option<RateLimitGateService>
) => {
  const gateService = explicit === undefined ? Effect.serviceOption(RateLimitGate) : Effect.succeed(explicit)
  return <E, R>(self: Client<E, R>): Client<E, R> => rateLimitStage(self, gateService, redactor)
}

const rateLimitStage = <E, R>(
  self: Client<E, R>,
  gateService: Effect.Effect<Option.Option<RateLimitGateService>>,
  redactor: Redaction.Redactor
): Client<E, R> =>
  stage(self, (request, send) =>
    Effect.flatMap(gateService, (gate) => {
      if (Option.isNone(gate)) return send(request)
      const origin = originOf(request.url) ?? request.url
      const recordCooldown = Effect.tapError(send(request), (error) =>
        ApiError.isApiError(error) && error._tag === "RateLimited" && error.retryAfter !== undefined
          ? Effect.flatMap(
            Clock.currentTimeMillis,
            (at) => gate.value.close(origin, error.retryAt ?? at + Duration.toMillis(error.retryAfter!))
          )
          : Effect.void)
      return Effect.flatMap(gate.value.closedUntil(origin), (until) =>
        Option.isNone(until)
          ? recordCooldown
          : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            until.value <= now ? recordCooldown : Effect.gen(function*() {
              const waitMillis = until.value - now
              const deadlineAt = yield* deadlineOf(yield* FiberRef.get(currentCallState))
              if (deadlineAt !== undefined && until.value > deadlineAt) {
                yield* Metric.increment(metrics.gateFailFasts)
                return yield* Effect.fail(
                  new ApiError.RateLimited({
                    method: request.method,
                    url: Redaction.url(requestUrl(request), redactor),
                    status: 429,
                    retryAfter: Duration.millis(waitMillis),
                    retryAt: until.value
                  }) as unknown as E
                )
              }
              yield* Metric.increment(metrics.gateWaits)
              yield* Metric.incrementBy(metrics.gateWaitMillis, waitMillis)
              yield* Effect.sleep(Duration.millis(waitMillis))
              return yield* recordCooldown
            })))
    }))

const outcomeOf = (exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>): string => {
  if (Exit.isSuccess(exit)) return `${exit.value.status}`
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => (Exit.isInterrupted(exit) ? "interrupted" : "defect"),
    onSome: (error) => (typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "error")
  })
}

/** URLs without a query, fragment or user info have nothing to redact: skip the parse. */
const redactedUrl = (url: string, redactor: Redaction.Redactor) =>
  url.includes("?") || url.includes("#") || url.includes("@") ? Redaction.url(url, redactor) : url

/** @internal */
export const rateLimiter = (limiter: EffectRateLimiter.RateLimiter) => <E, R>(self: Client<E, R>): Client<E, R> =>
  stage(self, (request, send) => limiter(send(request)))

/** @internal */
export const observe = (redactor: Redaction.Redactor) => <E, R>(self: Client<E, R>): Client<E, R> =>
  stage(
    self,
    (request, send) =>
      withState((state) =>
        Effect.flatMap(Clock.currentTimeMillis, (start) =>
          send(request).pipe(
            Effect.onExit((exit) =>
              Effect.flatMap(Clock.currentTimeMillis, (end) => {
                const outcome = outcomeOf(exit)
                return Effect.zipRight(
                  Effect.annotateCurrentSpan({ "bulwark.outcome": outcome, "bulwark.attempts": state.attempt }),
                  Effect.zipRight(
                    Metric.increment(callsByOutcome(outcome)),
                    Metric.update(metrics.callDuration, Duration.millis(end - start))
                  )
                )
              })
            ),
            (effect) =>
              spanWithoutValue(effect, "bulwark.http.call", {
                captureStackTrace: false,
                kind: "internal",
                attributes: {
                  "http.request.method": request.method,
                  "url.full": redactedUrl(requestUrl(request), redactor)
                }
              })
          ))
      )
  )

/** @internal */
export const bufferBody = <E, R>(self: Client<E, R>): Client<E | ApiError.ApiError, R> =>
  stage(self, (request, send) =>
    Effect.flatMap(send(request), (response) =>
      // Read the body inside the attempt, so its timeout and its retries cover a stalled or reset body.
      // The platform response caches the text: later `.json`/`.text` reuse it.
      response.text.pipe(
        Effect.as(response),
        Effect.catchAll((error) => Effect.flip(Classify.httpClientError(error)))
      )))

/**
 * One call of a typed helper. The pipeline runs in a call state made here (carrying the per-call
 * deadline and attempt timeout), so that after it returns the call's deadline is known: when the body was
 * not buffered inside the attempt, decoding it (which reads it) is bounded by what is left of the deadline
 * and by the attempt timeout.
 *
 * @internal
 */
export const callWithBody = <A, E, R>(options: {
  readonly execute: Effect.Effect<HttpClientResponse.HttpClientResponse, E>
  readonly decode: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E, R>
  readonly bodyAlreadyRead: boolean
  readonly deadline: Duration.Duration | undefined
  readonly attemptTimeout: Duration.Duration | undefined
  readonly configuredAttemptTimeout: Duration.Duration
  readonly method: string
  readonly url: string
}): Effect.Effect<A, E | ApiError.Timeout, R> => {
  if (options.bodyAlreadyRead) {
    return withCallOptions(Effect.flatMap(options.execute, options.decode), options)
  }
  const state = makeCallState()
  state.deadlineOverride = options.deadline
  state.attemptTimeoutOverride = options.attemptTimeout
  const attemptTimeout = options.attemptTimeout ?? options.configuredAttemptTimeout
  return Effect.locally(
    Effect.flatMap(options.execute, (response) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const remaining = state.deadline === undefined ? Infinity : Math.max(0, state.deadline.at - now)
        const byDeadline = remaining < Duration.toMillis(attemptTimeout)
        return timeoutFail(
          options.decode(response),
          byDeadline ? Duration.millis(remaining) : attemptTimeout,
          () =>
            new ApiError.Timeout({
              method: options.method,
              url: options.url,
              phase: byDeadline ? "deadline" : "body",
              timeout: byDeadline ? state.deadline!.budget : attemptTimeout
            })
        )
      })),
    currentCallState,
    state
  )
}
