import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import type { TokenError } from "@bulwark/auth-token"
import { ApiError, Classify, Redaction } from "@bulwark/core-errors"
import { RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EffectRateLimiter from "effect/RateLimiter"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
// The Tag lives in the public module; it is only read inside functions, so the import cycle is harmless.
import { ApiClient, type RequestOptions, type Service } from "../ApiClient.js"
import * as RateLimitGate from "../RateLimitGate.js"
import * as config from "./config.js"
import * as plugins from "./plugins.js"

/** @internal */
export type ClientError = ApiError.ApiError | TokenError.TokenError

/** @internal */
export type Plugin<PE = never> = <E, R>(
  self: HttpClient.HttpClient.With<E, R>
) => HttpClient.HttpClient.With<E | ClientError | PE, R>

/** @internal */
export interface MakeOptions<PE = never> {
  /** Stages run once per attempt between the retry stage and the attempt timeout (a circuit breaker, say). */
  readonly perAttempt?: ReadonlyArray<Plugin<PE>> | undefined
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
    if (cfg.auth !== undefined) {
      const source = TokenSource.clientCredentials({
        tokenUrl: cfg.auth.tokenUrl,
        clientId: cfg.auth.clientId,
        clientSecret: cfg.auth.clientSecret,
        scope: cfg.auth.scope,
        audience: cfg.auth.audience,
        auth: cfg.auth.method
      })
      tokens = Option.some(yield* TokenProvider.make(source, { eager: cfg.auth.eager }))
    }
    let budget = Option.none<RetryBudget.Service>()
    if (cfg.budget !== false) {
      const existing = yield* Effect.serviceOption(RetryBudget.RetryBudget)
      budget = Option.some(Option.isSome(existing) ? existing.value : yield* RetryBudget.make(cfg.budget))
    }
    let gate = Option.none<RateLimitGate.Service>()
    if (cfg.rateLimitGate) {
      const existing = yield* Effect.serviceOption(RateLimitGate.RateLimitGate)
      gate = Option.some(Option.isSome(existing) ? existing.value : yield* RateLimitGate.makeMemory)
    }

    const classified: HttpClient.HttpClient.With<ClientError, any> = Classify.client(transport, { redactor })
    let client: HttpClient.HttpClient.With<ClientError, any> = cfg.bufferBody
      ? plugins.bufferBody(classified)
      : classified
    if (Option.isSome(tokens)) client = plugins.bearerToken({ origin, tokens: tokens.value })(client)
    client = plugins.attemptTimeout(cfg.attemptTimeout, redactor)(client)
    for (const plugin of options?.perAttempt ?? []) client = plugin(client)
    if (cfg.rateLimit !== undefined) {
      const limiter = yield* EffectRateLimiter.make({
        limit: cfg.rateLimit.limit,
        interval: cfg.rateLimit.interval,
        algorithm: "token-bucket"
      })
      client = plugins.rateLimiter(limiter)(client)
    }
    if (cfg.rateLimitGate) client = plugins.rateLimitGate(redactor, gate)(client)
    client = plugins.retry({
      schedule: RetrySchedule.standard({
        maxRetries: cfg.retry.maxRetries,
        base: cfg.retry.base,
        cap: cfg.retry.cap,
        jitter: cfg.retry.jitter,
        maxRetryAfter: cfg.retry.maxRetryAfter
      }),
      idempotencyHeader: cfg.idempotency.header,
      redactor,
      budget,
      tokens
    })(client)
    client = plugins.idempotencyKey({ header: cfg.idempotency.header, auto: cfg.idempotency.autoKey })(client)
    client = plugins.deadline(cfg.deadline, redactor, "attempts")(client)
    client = plugins.observe(redactor)(client)
    const finished = plugins.baseUrl(cfg.baseUrl)(
      cfg.userAgent === undefined
        ? client
        : HttpClient.mapRequest(client, HttpClientRequest.setHeader("user-agent", cfg.userAgent))
    ) as HttpClient.HttpClient.With<ClientError>

    const decode = <A, I, R>(schema: Schema.Schema<A, I, R>) => (response: HttpClientResponse.HttpClientResponse) =>
      Classify.schemaBodyJson(schema, { redactor })(response)
    const withBody =
      (method: "POST" | "PUT" | "PATCH") =>
      <A, I, R>(path: string, body: unknown, schema: Schema.Schema<A, I, R>, requestOptions?: RequestOptions) =>
        HttpClientRequest.make(method)(path).pipe(
          HttpClientRequest.bodyJson(body),
          Effect.mapError((error): ClientError =>
            new ApiError.NetworkError({
              method,
              url: Redaction.url(plugins.resolveUrl(cfg.baseUrl, path), redactor),
              reason: "Encode",
              sent: false,
              cause: new Error(`the request body cannot be encoded as JSON (${error.reason._tag})`)
            })
          ),
          Effect.flatMap((request) =>
            finished.execute(applyRequestOptions(request, requestOptions, cfg.idempotency.header))
          ),
          Effect.flatMap(decode(schema))
        )

    return {
      client: finished,
      get: (path, schema, requestOptions) =>
        finished.execute(applyRequestOptions(HttpClientRequest.get(path), requestOptions, cfg.idempotency.header)).pipe(
          Effect.flatMap(decode(schema))
        ),
      post: withBody("POST"),
      put: withBody("PUT"),
      patch: withBody("PATCH"),
      del: (path, requestOptions) =>
        finished.execute(applyRequestOptions(HttpClientRequest.del(path), requestOptions, cfg.idempotency.header)).pipe(
          Effect.asVoid
        )
    } satisfies Service
  })

/** @internal */
export const layer = (
  input: unknown,
  options?: MakeOptions
): Layer.Layer<ApiClient, config.ConfigError | TokenError.TokenError, HttpClient.HttpClient> =>
  Layer.scoped(ApiClient, make(input, options))
