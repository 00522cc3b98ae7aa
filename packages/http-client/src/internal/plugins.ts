import type { AccessToken } from "@bulwark/auth-token"
import { BearerChallenge, type TokenError, TokenProvider } from "@bulwark/auth-token"
import { ApiError, Classify, Redaction } from "@bulwark/core-errors"
import { Deadline, RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as EffectRateLimiter from "effect/RateLimiter"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { RateLimitGate, type Service as RateLimitGateService } from "../RateLimitGate.js"
import { type CallState, currentCallState, makeCallState, type RetryReason } from "./callState.js"
import { timeoutFail } from "./timeout.js"

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
  return <E, R>(self: Client<E, R>): Client<E | TokenError.TokenError, R | TokenProvider.TokenProvider> =>
    stage(self, (request, send) => {
      // Only the API's own origin (scheme, host and port) ever sees the token; any other origin,
      // including one reached by a redirect, gets the request without an Authorization header.
      if (originOf(request.url) !== apiOrigin) return send(withoutAuthorization(request))
      return Effect.flatMap(
        tokensService,
        (tokens) =>
          Effect.flatMap(tokens.get, (token) =>
            Effect.flatMap(FiberRef.get(currentCallState), (state) => {
              if (state !== undefined) state.tokenUsed = token
              return send(HttpClientRequest.setHeader(request, "authorization", bearerHeader(token)))
            }))
      )
    })
}

/** @internal */
export const attemptTimeout = (timeout: Duration.DurationInput, redactor: Redaction.Redactor) => {
  const duration = Duration.decode(timeout)
  const attemptMillis = Duration.toMillis(duration)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      Effect.flatMap(FiberRef.get(currentCallState), (state) => {
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

/** @internal */
export const classify = (options?: Classify.Options) => Classify.client(options)

/** @internal */
export const deadline = (
  budget: Duration.DurationInput,
  redactor: Redaction.Redactor,
  enforcement: "timer" | "attempts" = "timer"
) => {
  const duration = Duration.decode(budget)
  const budgetMillis = Duration.toMillis(duration)
  return <E, R>(self: Client<E, R>): Client<E | ApiError.Timeout, R> =>
    stage(self, (request, send) =>
      withState((state) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
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
  gateWaits: Metric.counter("bulwark_http_rate_limit_gate_waits_total", {
    description: "Attempts that waited for a 429 cool-down",
    incremental: true
  }),
  gateWaitMillis: Metric.counter("bulwark_http_rate_limit_gate_wait_millis_total", {
    description: "Total time attempts waited for 429 cool-downs, in milliseconds",
    incremental: true
  }),
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

/** @internal */
export interface RetryOptions {
  readonly schedule: Schedule.Schedule<unknown, ApiError.ApiError>
  readonly idempotencyHeader: string
  readonly redactor: Redaction.Redactor
  /** Explicit services; when absent they are looked up in the context of each call. */
  readonly budget?: Option.Option<RetryBudget.Service> | undefined
  readonly tokens?: Option.Option<TokenProvider.Service> | undefined
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
                Effect.withSpan(annotateOutcome(send(request)), "bulwark.http.attempt", {
                  captureStackTrace: false,
                  attributes: { "bulwark.attempt": state.attempt, "bulwark.retry_reason": state.reason }
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
                if (decision === "fail") {
                  return yield* exit
                }
                if (!idempotent && !certainlyNotProcessed(error)) {
                  return yield* exit
                }
                // A Retry-After that outlasts the deadline: give up now, saying when a retry is allowed.
                const wait = "retryAfter" in error ? error.retryAfter : undefined
                const deadlineAt = yield* deadlineOf(state)
                if (error._tag === "RateLimited" && wait !== undefined && deadlineAt !== undefined) {
                  const now = yield* Clock.currentTimeMillis
                  if (now + Duration.toMillis(wait) > deadlineAt) {
                    return yield* Effect.fail(
                      new ApiError.RateLimited({
                        method: error.method,
                        url: error.url,
                        status: error.status,
                        body: error.body,
                        snippet: error.snippet,
                        requestId: error.requestId,
                        retryAfter: wait,
                        retryAt: now + Duration.toMillis(wait),
                        cause: error.cause
                      }) as unknown as E
                    )
                  }
                }
                if (driver === undefined) {
                  const bounded = deadlineAt === undefined
                    ? options.schedule
                    : RetrySchedule.withDeadline(options.schedule, { deadline: deadlineAt })
                  const policy = Option.isSome(budget)
                    ? RetryBudget.withBudget(bounded).pipe(
                      Schedule.provideService(RetryBudget.RetryBudget, budget.value)
                    )
                    : bounded
                  driver = yield* Schedule.driver(policy)
                }
                const next = yield* Effect.either(driver.next(error))
                if (next._tag === "Left") {
                  return yield* exit
                }
                state.attempt += 1
                state.reason = retryReasonOf(error)
                exit = yield* attempt
              }
            }))
        })
      ))
}

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
            (at) => gate.value.close(origin, at + Duration.toMillis(error.retryAfter!))
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
            Effect.withSpan("bulwark.http.call", {
              captureStackTrace: false,
              kind: "client",
              attributes: { "http.request.method": request.method, "url.full": redactedUrl(request.url, redactor) }
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
