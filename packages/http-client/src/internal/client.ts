import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import type { TokenError } from "@bulwark/auth-token"
import { ApiError, Classify, Redaction } from "@bulwark/core-errors"
import { RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
// The Tag lives in the public module; it is only read inside functions, so the import cycle is harmless.
import { ApiClient, type RequestOptions, type Service } from "../ApiClient.js"
import * as RateLimitGate from "../RateLimitGate.js"
import * as TrafficStore from "../TrafficStore.js"
import { currentCallState } from "./callState.js"
import * as config from "./config.js"
import * as pipeline from "./pipeline.js"
import * as plugins from "./plugins.js"
import * as Routes from "./routes.js"
import * as stage from "./stage.js"
import * as traffic from "./traffic.js"
import * as TrafficControl from "./trafficControl.js"
import { abortable, transportSend } from "./transport.js"

/** @internal */
export type CallError = ApiError.ApiError | TokenError.TokenError

/**
 * A per-attempt plugin: a function from client to client that may add `PE` to the error channel. The
 * optional `~bulwark/PluginError` member is never set; it only carries `PE` in the type, because TypeScript
 * cannot read what a generic function adds to its input's error type.
 *
 * @internal
 */
export interface Plugin<PE = never> {
  <E, R>(self: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | CallError | PE, R>
  readonly "~bulwark/PluginError"?: ((_: never) => PE) | undefined
}

/** @internal */
export interface MakeOptions<PE = never> {
  /** Stages run once per attempt between the retry stage and the attempt timeout (a circuit breaker, say). */
  readonly perAttempt?: ReadonlyArray<Plugin<PE>> | undefined
  /** `"plugins"`: every stage its own client over the next, as the public plugins compose by hand. */
  readonly composition?: "fused" | "plugins" | undefined
}

const applyRequestOptions = (
  request: HttpClientRequest.HttpClientRequest,
  options: RequestOptions | undefined,
  header: string
) => {
  let out = request
  if (options?.urlParams !== undefined) out = HttpClientRequest.setUrlParams(out, options.urlParams as never)
  if (options?.headers !== undefined) out = HttpClientRequest.setHeaders(out, options.headers)
  if (options?.idempotencyKey !== undefined) out = HttpClientRequest.setHeader(out, header, options.idempotencyKey)
  return out
}

/** The error a plugin adds, as its type declares it. */
export type PluginError<P> = P extends { readonly "~bulwark/PluginError"?: ((_: never) => infer E) | undefined } ? E
  : never

/** @internal */
export const make = (
  input: unknown,
  options?: MakeOptions
): Effect.Effect<Service, config.ConfigError | TokenError.TokenError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const cfg = yield* config.decodeConfig(input)
    const transport = yield* HttpClient.HttpClient
    const redactor = Redaction.make({ headers: cfg.redaction?.headers, queryParams: cfg.redaction?.queryParams })
    const origin = new URL(cfg.baseUrl).origin

    // Services shared by every request of this client: token provider, retry budget, 429 gate. They
    // are handed to the stages directly rather than provided per request (that would cost a context
    // merge on every call).
    let tokens = yield* Effect.serviceOption(TokenProvider.TokenProvider)
    const auth = cfg.auth
    if (auth === undefined && Option.isNone(tokens)) {
      return yield* Effect.fail(
        new config.ConfigError({
          issues: [{
            path: "auth",
            problem:
              "is required: give OAuth2 client credentials ({ tokenUrl, clientId, clientSecret }), a static token ({ token: Redacted }), or \"none\" for an API that takes no credentials (or provide a TokenProvider layer)"
          }]
        })
      )
    }
    if (auth === "none") {
      tokens = Option.none()
    } else if (auth !== undefined && "token" in auth) {
      tokens = Option.some(yield* TokenProvider.make(TokenSource.fixed(auth.token, { expiresIn: "3650 days" })))
    } else if (auth !== undefined) {
      const source = TokenSource.clientCredentials({
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        scope: auth.scope,
        audience: auth.audience,
        method: auth.method,
        defaultExpiresIn: auth.defaultExpiresIn,
        timeout: auth.timeout,
        extraParams: auth.extraParams
      })
      tokens = Option.some(
        yield* TokenProvider.make(source, {
          eager: auth.eager,
          refreshRatio: auth.refresh?.ratio,
          refreshJitter: auth.refresh?.jitter,
          refreshBeforeExpiry: auth.refresh?.beforeExpiry,
          expiryMargin: auth.refresh?.expiryMargin,
          minFetchInterval: auth.refresh?.minInterval
        })
      )
    }
    const retry = cfg.retry
    // A route rule may retry or hedge while the client does not: the budget rations those too.
    const routesRetry = cfg.routes.some((rule) =>
      (rule.retry !== undefined && rule.retry !== false) || (rule.hedging !== undefined && rule.hedging !== false)
    )
    let budget = Option.none<RetryBudget.Service>()
    if (cfg.budget !== false && (retry !== false || routesRetry)) {
      const existing = yield* Effect.serviceOption(RetryBudget.RetryBudget)
      budget = Option.some(Option.isSome(existing) ? existing.value : yield* RetryBudget.make(cfg.budget))
    }
    // One traffic controller per client owns every "not now" of each origin. `rateLimitGate: false` (0.x) is
    // the old way to say `traffic: false`; `rateLimit` the old way to say `traffic.maxRate`.
    const trafficSettings = cfg.rateLimitGate === false ? false : cfg.traffic
    const maxRate = trafficSettings === false ? undefined : trafficSettings.maxRate ?? cfg.rateLimit
    const maxRetryAfterMillis = retry === false
      ? Duration.toMillis(Duration.seconds(60))
      : Duration.toMillis(retry.maxRetryAfter)
    const controller = trafficSettings === false ? undefined : yield* TrafficControl.make({
      settings: {
        ...traffic.defaultSettings,
        headroom: trafficSettings.headroom,
        reserve: trafficSettings.reserve,
        maxRate: maxRate === undefined ? 0 : maxRate.limit / Duration.toMillis(maxRate.interval)
      },
      maxRetryAfterMillis,
      maxQueue: trafficSettings.maxQueue,
      // A gate in the context is a shared one (`@bulwark/redis`): the controller reads and writes its floor.
      shared: Option.getOrUndefined(yield* Effect.serviceOption(RateLimitGate.RateLimitGate)),
      // A traffic store shares the whole state (floor, pace, learned rate, outage probe): the fleet paces as one.
      store: Option.getOrUndefined(yield* Effect.serviceOption(TrafficStore.TrafficStore))
    })

    // Redirects are handed on by classification and followed (or refused) by the redirect stage above the
    // bearer stage, so every hop is checked against the API's origin before a token is attached.
    // The attempt timeout bounds the exchange, error body included: classification arms no timer of its own.
    const innermost = transportSend(transport, {
      redactor,
      redirects: cfg.redirects === false ? "error" : "response",
      bodyReadTimeout: false
    })
    const entries = pipeline.standard({
      baseUrl: cfg.baseUrl,
      origin,
      userAgent: cfg.userAgent,
      redactor,
      deadline: cfg.deadline,
      attemptTimeout: cfg.attemptTimeout,
      idempotency: cfg.idempotency,
      schedule: retry === false ? undefined : RetrySchedule.standard({
        maxRetries: retry.maxRetries,
        maxRateLimitRetries: retry.maxRateLimitRetries,
        base: retry.base,
        cap: retry.cap,
        jitter: retry.jitter,
        maxRetryAfter: retry.maxRetryAfter
      }),
      budget,
      tokens,
      trafficControlled: controller === undefined || retry === false
        ? undefined
        : { maxRateLimitRetries: retry.maxRateLimitRetries, maxRetryAfterMillis },
      controller,
      perAttempt: options?.perAttempt ?? [],
      redirects: cfg.redirects,
      bufferBody: cfg.bufferBody,
      // The attempt timeout aborts the request (no fiber per attempt) when the platform takes the call's
      // controller and the body is read inside the attempt; a body read after it needs the platform's own
      // abort-on-interrupt, which a caller-owned controller turns off.
      attemptTimeoutMode: abortable && cfg.bufferBody ? "abort" : "fiber",
      routes: cfg.routes.length === 0 ? undefined : Routes.compile(cfg.routes, {
        baseUrl: cfg.baseUrl,
        retry,
        defaultRetry: config.RetrySettings.make({}),
        trafficControlled: controller !== undefined
      })
    })
    // Linked once: a call runs one chain of functions, with its state as an argument.
    const stages = pipeline.stagesOf(entries)
    const send = (options?.composition === "plugins"
      ? composedByHand(stages, innermost)
      : stage.compile(stages, innermost)) as stage.Send<CallError, never>
    const finished = stage.toClient(send)

    /**
     * One call of a typed helper: the request through the pipeline, then its body decoded. With
     * `bufferBody: false` the body is read here, after the pipeline: the read is bounded by what is left of
     * the call's deadline (and by the attempt timeout), so the deadline bounds the whole call in every mode.
     */
    const call = <A, R>(
      request: HttpClientRequest.HttpClientRequest,
      requestOptions: RequestOptions | undefined,
      decode: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, CallError, R>
    ): Effect.Effect<A, CallError, R> =>
      Effect.suspend(() => {
        const deadline = callDuration(requestOptions?.deadline)
        const attemptTimeout = callDuration(requestOptions?.attemptTimeout)
        // The types allow no other value: one from untyped code is a defect with a message, not a throw.
        if (deadline === null || attemptTimeout === null) {
          const name = deadline === null ? "deadline" : "attemptTimeout"
          return Effect.dieMessage(
            `RequestOptions.${name} must be a finite, non-negative duration such as "5 seconds" or a number of milliseconds`
          )
        }
        return plugins.callWithBody({
          send,
          request: requestOptions === undefined
            ? request
            : applyRequestOptions(request, requestOptions, cfg.idempotency.header),
          decode,
          bodyAlreadyRead: cfg.bufferBody,
          deadline,
          attemptTimeout,
          configuredAttemptTimeout: cfg.attemptTimeout,
          redactor,
          baseUrl: cfg.baseUrl
        })
      })

    const decode = <A, I, R>(schema: Schema.Schema<A, I, R>) => (response: HttpClientResponse.HttpClientResponse) =>
      Classify.schemaBodyJson(schema, { redactor })(response)
    const withBody =
      (method: "POST" | "PUT" | "PATCH") =>
      <A, I, R>(path: string, body: unknown, schema: Schema.Schema<A, I, R>, requestOptions?: RequestOptions) =>
        HttpClientRequest.make(method)(path).pipe(
          HttpClientRequest.bodyJson(body),
          Effect.mapError((error): CallError =>
            new ApiError.NetworkError({
              method,
              url: Redaction.url(plugins.resolveUrl(cfg.baseUrl, path), redactor),
              reason: "Encode",
              sent: false,
              cause: new Error(`the request body cannot be encoded as JSON (${error.reason._tag})`)
            })
          ),
          Effect.flatMap((request) => call(request, requestOptions, decode(schema)))
        )

    return {
      client: finished,
      get: (path, schema, requestOptions) => call(HttpClientRequest.get(path), requestOptions, decode(schema)),
      post: withBody("POST"),
      put: withBody("PUT"),
      patch: withBody("PATCH"),
      del: (path, requestOptions) => call(HttpClientRequest.del(path), requestOptions, () => Effect.void)
    } satisfies Service
  })

/** @internal */
export const layer = (
  input: unknown,
  options?: MakeOptions
): Layer.Layer<ApiClient, config.ConfigError | TokenError.TokenError, HttpClient.HttpClient> =>
  Layer.scoped(ApiClient, make(input, options))

/**
 * The same stages, each its own `HttpClient` over the next (the public plugins' shape): the call travels in the
 * FiberRef from one client to the next.
 */
const composedByHand = (stages: ReadonlyArray<stage.Stage>, innermost: stage.Send): stage.Send => {
  let client: HttpClient.HttpClient.With<any, any> = stage.toClient(innermost)
  for (let i = stages.length - 1; i >= 0; i--) client = stage.plugin(stages[i]!, client)
  return (request, call) => Effect.locally(client.execute(request), currentCallState, call)
}

/** A per-call duration: `undefined` when not given, `null` when it is not a finite, non-negative duration. */
const callDuration = (input: Duration.DurationInput | undefined): Duration.Duration | undefined | null => {
  if (input === undefined) return undefined
  if ((typeof input === "number" && input < 0) || (typeof input === "string" && /^\s*-/.test(input))) return null
  const decoded = Duration.decodeUnknown(input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) ? decoded.value : null
}
