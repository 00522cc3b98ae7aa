/**
 * Every concern of the resilient client as its own plugin, a function from client to client, so a
 * team can compose only what it needs. `ApiClient.make` assembles them all in this order (outermost
 * first; requests flow down, responses and errors flow up):
 *
 * | # | stage (plugin) | why it sits there |
 * |---|---|---|
 * | 1 | `baseUrl` | resolves relative paths once, so every stage below sees the absolute URL (and its origin) |
 * | 2 | `routes` | with `routes`: matches the call's route rule once, on the absolute URL, so every stage below reads the rule's overrides from the call and the call's span and metrics carry its name |
 * | 3 | `observe` | one span (`bulwark.http.call`) and one outcome metric per logical call, around everything it costs |
 * | 4 | `deadline` | bounds the whole call, retries and waits included; the retry schedule and the traffic controller never plan a wait past it |
 * | 5 | `idempotencyKey` | outside the retries, so all attempts of one call carry the same key |
 * | 6 | `retry` | sees each attempt's typed error: refresh-once on 401, backoff under the budget, idempotent or keyed requests only |
 * | 7 | `hedge` | with a `hedging` rule: inside the retries, which see a hedged group as one attempt; outside the traffic controller, the breaker and the attempt timeout, so every hedge is paced, judged and timed like any attempt |
 * | 8 | `trafficControl` | inside the retries, so every attempt of every call honours the origin's Retry-After floor, its pace and its outage probe; fails fast beyond the call's deadline |
 * | 9 | `perAttempt` | per-attempt plugins (`@bulwark/circuit-breaker`): fail fast per attempt without touching the network; a route rule with `breaker: false` goes around them |
 * | 10 | `attemptTimeout` | bounds one exchange (token wait, redirects, headers, buffered body) and enforces the call's deadline: one timer per attempt, which aborts the request |
 * | 11 | `followRedirects` | above the bearer stage, so every hop is checked against the API's origin before a token is attached |
 * | 12 | `bearerToken` | a token per attempt (a replay after a 401 carries the new one), sent only to the API's origin |
 * | 13 | `bufferBody` | reads a 2xx body inside the attempt, so a stalled or reset body is timed out and retried |
 * | 14 | `classify` | turns statuses and transport failures into `ApiError`s for every stage above; turns the platform's transport span off (it records URLs and headers unredacted) and sends `traceparent` itself |
 * | 15 | `transport` | the platform `HttpClient` (undici on Node), which must not follow redirects itself |
 *
 * The traffic controller sits inside the retry stage, as `../shared/DESIGN.md` says: a retry that waited out a
 * 5xx backoff must also respect a pause another call started meanwhile, and a controller outside the retry
 * loop would never see the 429s the loop absorbs. ({@link rateLimitGate}, the 0.1 stage it replaces, and
 * {@link rateLimiter}, a hand-set limit, are not in the standard list; composed by hand they go between the traffic
 * controller and the per-attempt plugins.)
 *
 * `ApiClient.make` links the list once into one function per call (the call's state an argument); each plugin
 * here is the same stage compiled over a client, so the two forms run the same code.
 *
 * @since 0.1.0
 */
import type { TokenError, TokenProvider } from "@bulwark/auth-token"
import { type ApiError, type Classify, Redaction } from "@bulwark/core-errors"
import { type RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as EffectRateLimiter from "effect/RateLimiter"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { CallState } from "./internal/callState.js"
import type { ClientConfig, ConfigError } from "./ApiClient.js"
import * as internal from "./internal/plugins.js"
import * as internalStage from "./internal/stage.js"
import * as traffic from "./internal/traffic.js"
import * as TrafficControl from "./internal/trafficControl.js"
import * as trafficStage from "./internal/trafficStage.js"
import * as RateLimitGate from "./RateLimitGate.js"
import * as TrafficStore from "./TrafficStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Client<E, R> = HttpClient.HttpClient.With<E, R>

/**
 * The state of one logical call, shared by the stages of the pipeline (attempt number, retry reason, the
 * token sent, the deadline). Read it; the stages that own a field write it.
 *
 * @since 0.2.0
 * @category models
 */
export type Call = CallState

/**
 * Sends one request of a call and yields its response: what a stage calls to reach the stages below it.
 *
 * @since 0.2.0
 * @category models
 */
export type Send<E = any, R = any> = (
  request: HttpClientRequest.HttpClientRequest,
  call: Call
) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>

/**
 * One stage of a pipeline: given the `Send` towards the transport, the `Send` the stage above calls. The
 * standard pipeline is an ordered list of stages linked once (see the table above).
 *
 * @since 0.2.0
 * @category models
 */
export type Stage = (next: Send) => Send

/**
 * A per-attempt plugin made from a stage: as a plugin it is the stage compiled over a client; in the
 * `ApiClient`'s fused pipeline (`perAttempt`) the stage is linked in directly, with no client of its own and no
 * FiberRef for the call. Prefer it to {@link stage} for plugins on the hot path.
 *
 * @example
 * ```ts
 * import { type ApiClient, Plugins } from "@bulwark/http-client"
 * import { HttpClientRequest } from "@effect/platform"
 *
 * const tenantHeader = (tenant: string): ApiClient.Plugin =>
 *   Plugins.fromStage((next) => (request, call) => next(HttpClientRequest.setHeader(request, "x-tenant", tenant), call))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromStage: <F extends (self: Client<any, any>) => Client<any, any>>(stage: Stage) => F =
  internalStage.fromStage

/**
 * Builds a custom stage: `f` gets each request and a `send` function for the inner client, which it
 * may call any number of times (with changed requests). The inner client's request mapping applies
 * to each send.
 *
 * @example
 * ```ts
 * import { Plugins } from "@bulwark/http-client"
 * import { HttpClientRequest } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const tenantHeader = (tenant: string) => <E, R>(self: Plugins.Client<E, R>) =>
 *   Plugins.stage(self, (request, send) => send(HttpClientRequest.setHeader(request, "x-tenant", tenant)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const stage: <E, R, E2, R2>(
  self: Client<E, R>,
  f: (
    request: HttpClientRequest.HttpClientRequest,
    send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, E2, R2>
) => Client<E2, R2> = internal.stage

/**
 * Resolves relative request URLs against `base` (absolute URLs pass unchanged).
 *
 * @since 0.1.0
 * @category plugins
 */
export const baseUrl: (base: string) => <E, R>(self: Client<E, R>) => Client<E, R> = internal.baseUrl

/**
 * Adds `Authorization: Bearer <token>` from the `TokenProvider` to requests for `origin` (scheme, host
 * and port) and removes any Authorization header from requests to every other origin. The token used
 * is recorded so the {@link retry} stage can invalidate exactly that one on a 401.
 *
 * A transport that follows redirects by itself (the platform's `HttpClient.followRedirects`) re-sends the
 * header to wherever it is sent, before any stage can see the hop. When a response or error comes back
 * from another origin, this stage treats the token as exposed: it invalidates it and fails the attempt
 * with a `NetworkError` that says so. Use {@link followRedirects} instead.
 *
 * @since 0.1.0
 * @category plugins
 */
export const bearerToken: (
  options: { readonly origin: string }
) => <E, R>(
  self: Client<E, R>
) => Client<E | TokenError.TokenError | ApiError.NetworkError, R | TokenProvider.TokenProvider> = internal.bearerToken

/**
 * Follows redirects (301, 302, 303, 307, 308) with an origin check on every hop. Place it above
 * {@link bearerToken}, and classify with `redirects: "response"` so the 3xx reaches it: each hop then goes
 * through the bearer stage and gets the token only when it goes to the API's origin. A hop to another
 * origin fails with an `InvalidResponse` naming the target (`crossOrigin: "fail"`, the default), or is sent
 * without the Authorization header and every header the redactor counts as secret. HTTPS to HTTP is never
 * followed; 303, and 301/302 after a POST, become a GET without a body.
 *
 * @since 0.2.0
 * @category plugins
 */
export const followRedirects = (options: {
  readonly origin: string
  readonly max?: number | undefined
  readonly crossOrigin?: "fail" | "follow-without-credentials" | undefined
  readonly redactor?: Redaction.Redactor | undefined
}): <E, R>(self: Client<E, R>) => Client<E | ApiError.ApiError, R> =>
  internal.followRedirects({
    origin: options.origin,
    max: options.max ?? 5,
    crossOrigin: options.crossOrigin ?? "fail",
    redactor: options.redactor ?? Redaction.defaultRedactor
  })

/**
 * Fails an attempt with `Timeout` (phase `attempt`) when it takes longer than `timeout`; the request is
 * aborted.
 *
 * @since 0.1.0
 * @category plugins
 */
export const attemptTimeout = (
  timeout: Duration.DurationInput,
  options?: { readonly redactor?: Redaction.Redactor | undefined }
): <E, R>(self: Client<E, R>) => Client<E | ApiError.Timeout, R> =>
  internal.attemptTimeout(timeout, options?.redactor ?? Redaction.defaultRedactor)

/**
 * Classifies responses and transport failures into `ApiError` (see `@bulwark/core-errors`' `Classify`).
 * It also turns off the platform's own `http.client` span for the transport under it: that span records
 * the full URL (query included) and every header outside the platform's own redaction list; Bulwark's
 * attempt span describes the attempt instead, and the W3C `traceparent` header is still sent from it.
 *
 * @since 0.1.0
 * @category plugins
 */
export const classify: (
  options?: Classify.Options
) => <E, R>(
  self: Client<E, R>
) => Client<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R> = internal.classify

/**
 * Reads each successful response's body inside the attempt (the platform caches it for later reads).
 *
 * @since 0.1.0
 * @category plugins
 */
export const bufferBody: <E, R>(self: Client<E, R>) => Client<E | ApiError.ApiError, R> = internal.bufferBody

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** Default: `RetrySchedule.standard()`. */
  readonly schedule?: Schedule.Schedule<unknown, ApiError.ApiError> | undefined
  /** The header that makes a POST/PATCH retryable. Default: `Idempotency-Key`. */
  readonly idempotencyHeader?: string | undefined
  readonly redactor?: Redaction.Redactor | undefined
}

/**
 * Retries each call's attempts:
 *
 * - a 401 (`refresh-auth`): invalidates the token that attempt sent, and replays once with a new one;
 *   a second 401 fails with `Unauthorized`; an `insufficient_scope` challenge fails at once;
 * - `retry` and `retry-after` errors: by the schedule (default `RetrySchedule.standard()`), paying each
 *   retry from the `RetryBudget` in the context if there is one;
 * - only idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) or those with an idempotency key are
 *   retried, except after failures that prove the request was not processed (nothing sent, 429, 401);
 * - a 429 whose Retry-After outlasts the ambient deadline fails at once with `RateLimited` whose
 *   `retryAt` says when a retry is allowed.
 *
 * @since 0.1.0
 * @category plugins
 */
export const retry = (options?: RetryOptions): <E, R>(self: Client<E, R>) => Client<E, R> =>
  internal.retry({
    schedule: options?.schedule ?? RetrySchedule.standard(),
    idempotencyHeader: options?.idempotencyHeader ?? "Idempotency-Key",
    redactor: options?.redactor ?? Redaction.defaultRedactor
  })

/**
 * The per-origin traffic controller as a plugin, for pipelines composed by hand (`ApiClient.make` builds its
 * own from the `traffic` config): every attempt takes its origin's next slot — after any `Retry-After`, at the
 * pace learned from 429s or read from rate-limit headers, one probe at a time in an outage — or waits for it
 * within the call's deadline, or fails at once with `RateLimited` carrying `retryAt`. A `TrafficStore` (or a
 * `RateLimitGate`) in the context is shared as in `ApiClient.make`. Scoped: the controller's queues live as
 * long as the scope.
 *
 * @example
 * ```ts
 * import { Plugins } from "@bulwark/http-client"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const client = Effect.gen(function*() {
 *   const traffic = yield* Plugins.trafficControl({ maxQueue: 1_000 })
 *   return (yield* HttpClient.HttpClient).pipe(Plugins.classify(), traffic, Plugins.retry())
 * })
 * ```
 *
 * @since 0.2.0
 * @category plugins
 */
export const trafficControl = (options?: {
  /** Calls waiting per origin; one more is refused at once. Default: 10,000. */
  readonly maxQueue?: number | undefined
  /** A pause longer than this refuses calls at once. Default: 60 s. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** The share of a learned rate that is used. Default: 0.98. */
  readonly headroom?: number | undefined
  /** The share of an advertised quota never spent. Default: 0.015. */
  readonly reserve?: number | undefined
  readonly redactor?: Redaction.Redactor | undefined
}): Effect.Effect<<E, R>(self: Client<E, R>) => Client<E | ApiError.RateLimited, R>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const controller = yield* TrafficControl.make({
      settings: {
        ...traffic.defaultSettings,
        headroom: options?.headroom ?? traffic.defaultSettings.headroom,
        reserve: options?.reserve ?? traffic.defaultSettings.reserve
      },
      maxRetryAfterMillis: Duration.toMillis(options?.maxRetryAfter ?? Duration.seconds(60)),
      maxQueue: options?.maxQueue ?? 10_000,
      shared: Option.getOrUndefined(yield* Effect.serviceOption(RateLimitGate.RateLimitGate)),
      store: Option.getOrUndefined(yield* Effect.serviceOption(TrafficStore.TrafficStore))
    })
    return trafficStage.trafficControl(controller, options?.redactor ?? Redaction.defaultRedactor)
  })

/**
 * Matches each call's route rule once (first match wins, relative to `baseUrl`), for pipelines composed by
 * hand: the stages below read the rule's overrides from the call (deadline, attempt timeout, retry,
 * `idempotency.autoKey`, `traffic.maxWait`, `breaker: false`, hedging) and the call's span and metrics carry
 * its name. Put it right below {@link baseUrl} (it matches absolute URLs) and above {@link observe}. The rules
 * are those of `ApiClient.ClientConfig`'s `routes`; a rule's `retry` settings go over Bulwark's defaults here.
 *
 * @example
 * ```ts
 * import { Plugins } from "@bulwark/http-client"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const client = Effect.gen(function*() {
 *   const routes = yield* Plugins.routes([{ name: "reports", match: "GET /reports/**", deadline: "2 minutes" }], {
 *     baseUrl: "https://api.partner.example/v1"
 *   })
 *   return (yield* HttpClient.HttpClient).pipe(
 *     Plugins.classify(),
 *     Plugins.retry(),
 *     Plugins.deadline("20 seconds"),
 *     Plugins.observe(),
 *     routes,
 *     Plugins.baseUrl("https://api.partner.example/v1")
 *   )
 * })
 * ```
 *
 * @since 0.2.0
 * @category plugins
 */
export const routes = (
  rules: ReadonlyArray<NonNullable<ClientConfig["routes"]>[number]>,
  options: { readonly baseUrl: string }
): Effect.Effect<<E, R>(self: Client<E, R>) => Client<E, R>, ConfigError> => internal.routesPlugin(rules, options)

/**
 * Hedged reads, for pipelines composed by hand: a call whose route rule (see {@link routes}) has `hedging`, and
 * whose request is idempotent or keyed, sends one more attempt when none has answered after the rule's delay,
 * takes the first success and cancels the rest. Each hedge takes a retry's share of `budget` (none left: no
 * hedge). Put it inside {@link retry} and outside {@link trafficControl}, the per-attempt plugins and
 * {@link attemptTimeout}, so every hedge is paced, judged and timed like any attempt.
 *
 * @since 0.2.0
 * @category plugins
 */
export const hedge = (options?: {
  readonly budget?: RetryBudget.Service | undefined
  readonly idempotencyHeader?: string | undefined
}): <E, R>(self: Client<E, R>) => Client<E, R> =>
  internal.hedge({
    budget: Option.fromNullable(options?.budget),
    idempotencyHeader: options?.idempotencyHeader ?? "Idempotency-Key"
  })

/**
 * The 0.1 stage the traffic controller replaces ({@link trafficControl}): before each attempt, waits until the
 * origin's 429 cool-down (from the `RateLimitGate` in the
 * context) has passed, or fails at once with `RateLimited` if it outlasts the deadline; after a 429
 * with Retry-After, closes the origin for that long for every request of the client.
 *
 * @since 0.1.0
 * @category plugins
 */
export const rateLimitGate = (
  options?: { readonly redactor?: Redaction.Redactor | undefined }
): <E, R>(self: Client<E, R>) => Client<E, R> => internal.rateLimitGate(options?.redactor ?? Redaction.defaultRedactor)

/**
 * Adds an idempotency key (a UUID v4 from Effect's `Random`) to POST and PATCH requests that have
 * none, once per logical call.
 *
 * @since 0.1.0
 * @category plugins
 */
export const idempotencyKey = (
  options?: { readonly header?: string | undefined; readonly auto?: boolean | undefined }
): <E, R>(self: Client<E, R>) => Client<E, R> =>
  internal.idempotencyKey({ header: options?.header ?? "Idempotency-Key", auto: options?.auto ?? true })

/**
 * Bounds a whole call (every attempt and wait) by `budget`: past it, the call fails with `Timeout`
 * (phase `deadline`). Sets the ambient `Deadline` that retry schedules and the 429 gate respect.
 *
 * @since 0.1.0
 * @category plugins
 */
export const deadline = (
  budget: Duration.DurationInput,
  options?: { readonly redactor?: Redaction.Redactor | undefined }
): <E, R>(self: Client<E, R>) => Client<E | ApiError.Timeout, R> =>
  internal.deadline(budget, options?.redactor ?? Redaction.defaultRedactor)

/**
 * Spaces attempts with an Effect `RateLimiter` (token bucket), so the client stays under the API's quota
 * instead of discovering it through 429s. Retries pass through it too.
 *
 * @example
 * ```ts
 * import { Plugins } from "@bulwark/http-client"
 * import { HttpClient } from "@effect/platform"
 * import { Effect, RateLimiter } from "effect"
 *
 * const limited = Effect.gen(function*() {
 *   const limiter = yield* RateLimiter.make({ limit: 45, interval: "1 second" })
 *   return (yield* HttpClient.HttpClient).pipe(Plugins.rateLimiter(limiter))
 * })
 * ```
 *
 * @since 0.1.0
 * @category plugins
 */
export const rateLimiter: (
  limiter: EffectRateLimiter.RateLimiter
) => <E, R>(self: Client<E, R>) => Client<E, R> = internal.rateLimiter

/**
 * One span (`bulwark.http.call`) and one outcome metric per logical call; the retry stage adds a child
 * span per attempt (`bulwark.http.attempt`, with its number and retry reason). URLs are redacted; no
 * header is recorded.
 *
 * @since 0.1.0
 * @category plugins
 */
export const observe = (
  options?: { readonly redactor?: Redaction.Redactor | undefined }
): <E, R>(self: Client<E, R>) => Client<E, R> => internal.observe(options?.redactor ?? Redaction.defaultRedactor)

/**
 * The client's metrics: `bulwark_http_calls_total{outcome}`, `bulwark_http_attempts_total{reason}`,
 * `bulwark_http_rate_limit_gate_waits_total`, `bulwark_http_rate_limit_gate_wait_millis_total`,
 * `bulwark_http_retry_wait_millis_total{reason}` and the `bulwark_http_call_duration` timer.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = internal.metrics

/**
 * Why an attempt was made: `initial`, or the reason of the retry.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryReason = "initial" | "5xx" | "timeout" | "network" | "401-refresh" | "429" | "other"

/**
 * The process-wide attempt counts by reason (from `bulwark_http_attempts_total{reason}`). Take two
 * readings and subtract them to measure one job: `initial` counts logical calls' first attempts, the
 * others are retries by reason.
 *
 * @since 0.1.0
 * @category metrics
 */
export const attemptCounts: Effect.Effect<Record<RetryReason, number>> = internal.attemptCounts

/**
 * The process-wide time spent waiting before retries, in milliseconds, by retry reason (from
 * `bulwark_http_retry_wait_millis_total{reason}`): for `429`, the time Retry-After made a call wait.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retryWaitMillis: Effect.Effect<Record<RetryReason, number>> = internal.retryWaitMillis

/**
 * The current call's deadline (epoch ms of the `Clock`): the earliest of the `deadline` stage's and the
 * ambient `Deadline`. Per-attempt plugins that may wait (a rate limiter, say) use it to give up instead of
 * waiting past it.
 *
 * @since 0.1.0
 * @category deadlines
 */
export const callDeadline: Effect.Effect<Option.Option<number>> = internal.callDeadline

/**
 * The origin (scheme, host, port) of a URL, or the URL itself when it does not parse: the default key of
 * per-origin state (the 429 gate, a circuit breaker, a fleet rate limit).
 *
 * @since 0.1.0
 * @category utils
 */
export const originOf = (url: string): string => internal.originOf(url) ?? url

/**
 * Whether a request may be retried whatever the failure: an idempotent method, or an idempotency key.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isIdempotent: (request: HttpClientRequest.HttpClientRequest, header: string) => boolean =
  internal.isIdempotent
