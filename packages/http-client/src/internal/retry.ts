/**
 * The retry stage: sees each attempt's typed error: refresh-once on 401, backoff under the budget, idempotent
 * or keyed requests only. It sits inside the deadline and the idempotency key stage (so every attempt carries
 * the same key) and outside the traffic controller (so every attempt respects the origin's state).
 */
import { BearerChallenge, TokenProvider } from "@bulwark/auth-token"
import { ApiError, type Redaction } from "@bulwark/core-errors"
import { RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { CallState } from "./callState.js"
import { deadlineOf } from "./deadline.js"
import { isIdempotent } from "./idempotency.js"
import { attemptsByReason, retryWaitByReason } from "./metrics.js"
import { redactedUrl, spanWithoutValue } from "./spans.js"
import { type Client, plugin, requestUrl, sendVia, type Stage, toClient } from "./stage.js"

// What an error means (its retry reason, whether it was certainly not processed) is core-errors' to say.
const retryReasonOf = ApiError.retryReason
const certainlyNotProcessed = ApiError.certainlyNotProcessed

/** Records the attempt's status (or error tag) on its span, when there is a tracer to record it. */
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

/** The retry stage, with its services resolved when the pipeline is built. @internal */
export const retryStage = (
  options: RetryOptions & {
    readonly budget: Option.Option<RetryBudget.Service>
    readonly tokens: Option.Option<TokenProvider.Service>
  }
): Stage =>
(next) =>
(request, state) => {
  const budget = options.budget
  // Suspended: each run reads the attempt number and reason of that moment (the effect is re-run
  // for every retry; attributes built once would label every attempt as the first).
  const attempt = Effect.suspend(() =>
    Effect.zipLeft(
      Effect.exit(
        spanWithoutValue(next(request, state), "bulwark.http.attempt", () => ({
          captureStackTrace: false,
          kind: "client",
          attributes: {
            "bulwark.attempt": state.attempt,
            "bulwark.retry_reason": state.reason,
            ...(state.route === undefined ? {} : { "bulwark.route": state.route.label }),
            "http.request.method": request.method,
            "url.full": redactedUrl(requestUrl(request), options.redactor)
          }
        }), annotateOutcome)
      ),
      Effect.withFiberRuntime((fiber) => {
        attemptsByReason(state.reason).unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
        return Effect.void
      })
    )
  )
  const succeeded = (response: HttpClientResponse.HttpClientResponse) =>
    Option.isSome(budget) ? Effect.as(budget.value.recordSuccess, response) : Effect.succeed(response)
  // The first attempt takes the short path; the retry loop is entered only after a failure.
  return Effect.flatMap(attempt, (first) =>
    Exit.isSuccess(first) ? succeeded(first.value) : Effect.gen(function*() {
      const idempotent = isIdempotent(request, options.idempotencyHeader)
      // A route rule's retry replaces the client's for its calls.
      const routeRetry = state.route?.retry
      const schedule = routeRetry === undefined ? options.schedule : routeRetry.schedule
      const trafficControlled = routeRetry === undefined ? options.trafficControlled : routeRetry.trafficControlled
      let driver: Schedule.ScheduleDriver<unknown, ApiError.ApiError> | undefined
      let exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown> = first
      for (;;) {
        if (Exit.isSuccess(exit)) return yield* succeeded(exit.value)
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure) || !ApiError.isApiError(failure.value)) return yield* exit
        const error = failure.value
        const deadlineAt = yield* deadlineOf(state)
        const now = yield* Clock.currentTimeMillis
        // A route's `traffic.maxWait` bounds how long the call waits for its origin, from its first arrival there.
        const maxWait = state.route?.maxWaitMillis
        const waitLimit = maxWait === undefined || state.startedAt === undefined ? undefined : state.startedAt + maxWait
        const decision = decide(state, error, {
          now,
          deadlineAt: waitLimit === undefined ? deadlineAt : Math.min(deadlineAt ?? Infinity, waitLimit),
          idempotent,
          canRefresh: Option.isSome(options.tokens),
          retries: schedule !== undefined,
          trafficControlled
        })
        switch (decision._tag) {
          case "fail":
            return yield* exit
          case "give-up-until":
            return yield* Effect.fail(givenUpUntil(error as ApiError.RateLimited, decision.retryAt))
          case "refresh": {
            // 401: invalidate exactly the token that was sent, fetch a new one, replay once.
            yield* (options.tokens as Option.Some<TokenProvider.Service>).value.invalidate(state.tokenUsed!)
            state.refreshed = true
            state.attempt += 1
            state.reason = "401-refresh"
            exit = yield* attempt
            continue
          }
          case "requeue": {
            // The origin said "not now": the traffic controller holds this call in the origin's queue (in its
            // original place) until the origin may be called again; nothing is slept here.
            state.rateLimitWaits += 1
            state.attempt += 1
            state.reason = retryReasonOf(error)
            exit = yield* attempt
            continue
          }
          case "backoff": {
            if (driver === undefined) {
              const bounded = deadlineAt === undefined
                ? schedule!
                : RetrySchedule.withDeadline(schedule!, { deadline: deadlineAt })
              const policy = Option.isSome(budget)
                ? RetryBudget.withBudget(bounded).pipe(Schedule.provideService(RetryBudget.RetryBudget, budget.value))
                : bounded
              driver = yield* Schedule.driver(policy)
            }
            const next = yield* Effect.either(driver.next(error))
            if (next._tag === "Left") return yield* exit
            const waited = (yield* Clock.currentTimeMillis) - now
            if (waited > 0) yield* Metric.incrementBy(retryWaitByReason(retryReasonOf(error)), waited)
            state.attempt += 1
            state.reason = retryReasonOf(error)
            exit = yield* attempt
          }
        }
      }
    }))
}

/**
 * What the retry stage does after an attempt failed with `error`:
 * - `fail`: surface the error as it is;
 * - `give-up-until`: the origin reopens after the call's deadline: fail at once with the 429, saying when;
 * - `refresh`: a 401 on the token this call sent: invalidate it and replay once with a new one;
 * - `requeue`: the origin said "not now" and a traffic controller holds the call in its queue: attempt again
 *   (the controller does the waiting);
 * - `backoff`: ask the retry schedule (backoff, Retry-After, budget, deadline) for the wait before the next one.
 *
 * A plain function of the call, the error and the time, like the breaker's state machine; the loop above runs it.
 *
 * @internal
 */
export type Decision =
  | { readonly _tag: "fail" }
  | { readonly _tag: "give-up-until"; readonly retryAt: number }
  | { readonly _tag: "refresh" }
  | { readonly _tag: "requeue" }
  | { readonly _tag: "backoff" }

const fail: Decision = { _tag: "fail" }
const refresh: Decision = { _tag: "refresh" }
const requeue: Decision = { _tag: "requeue" }
const backoff: Decision = { _tag: "backoff" }

/** @internal */
export const decide = (
  call: Pick<CallState, "refreshed" | "tokenUsed" | "rateLimitWaits">,
  error: ApiError.ApiError,
  context: {
    readonly now: number
    readonly deadlineAt: number | undefined
    readonly idempotent: boolean
    readonly canRefresh: boolean
    /** Whether the client retries at all (`retry: false` only replays after a 401). */
    readonly retries: boolean
    readonly trafficControlled: RetryOptions["trafficControlled"]
  }
): Decision => {
  const decision = ApiError.retryDecision(error)
  if (decision === "refresh-auth") {
    if (call.refreshed || call.tokenUsed === undefined || !context.canRefresh) return fail
    const challenge = error._tag === "Unauthorized" ? BearerChallenge.action(error.challenge) : "refresh"
    return challenge === "insufficient-scope" || challenge === "invalid-request" ? fail : refresh
  }
  if (decision === "fail" || !context.retries) return fail
  if (!context.idempotent && !certainlyNotProcessed(error)) return fail
  const wait = "retryAfter" in error && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : undefined
  const { deadlineAt, now } = context
  const traffic = context.trafficControlled
  if (traffic !== undefined && decision === "retry-after") {
    if (call.rateLimitWaits + 1 > traffic.maxRateLimitRetries) return fail
    const waitMillis = wait ?? 0
    if (waitMillis > traffic.maxRetryAfterMillis) return fail
    const retryAt = error._tag === "RateLimited" && error.retryAt !== undefined ? error.retryAt : now + waitMillis
    if (deadlineAt !== undefined && retryAt > deadlineAt) {
      return error._tag === "RateLimited" ? { _tag: "give-up-until", retryAt } : fail
    }
    return requeue
  }
  // A Retry-After that outlasts the deadline: give up now, saying when a retry is allowed. The same instant the
  // gate closes the origin until: when the 429 arrived plus its wait.
  if (error._tag === "RateLimited" && wait !== undefined && deadlineAt !== undefined) {
    const retryAt = error.retryAt ?? now + wait
    if (retryAt > deadlineAt) return { _tag: "give-up-until", retryAt }
  }
  return backoff
}

/** @internal */
export const retry = (options: RetryOptions) => <E, R>(self: Client<E, R>): Client<E, R> => {
  if (options.budget !== undefined && options.tokens !== undefined) {
    return plugin(retryStage({ ...options, budget: options.budget, tokens: options.tokens }), self)
  }
  // Services not given: those in the context of each call.
  const inner = sendVia(self)
  return toClient((request, call) =>
    Effect.flatMap(
      Effect.zip(
        options.budget === undefined ? Effect.serviceOption(RetryBudget.RetryBudget) : Effect.succeed(options.budget),
        options.tokens === undefined
          ? Effect.serviceOption(TokenProvider.TokenProvider)
          : Effect.succeed(options.tokens)
      ),
      ([budget, tokens]) => retryStage({ ...options, budget, tokens })(inner)(request, call)
    )
  ) as Client<E, R>
}
