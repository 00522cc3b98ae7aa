/**
 * The standard pipeline from one config object: a client whose error channel is `ApiError |
 * TokenError` and which follows the partner API's advice on every documented failure, plus typed
 * helpers that decode responses with a Schema.
 *
 * @since 0.1.0
 */
import type { TokenError } from "@bulwark/auth-token"
import type { ApiError } from "@bulwark/core-errors"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/client.js"
import * as config from "./internal/config.js"

/**
 * Every error a call can fail with: an `ApiError` or a `TokenError`.
 *
 * @since 0.2.0
 * @category models
 */
export type CallError = ApiError.ApiError | TokenError.TokenError

/**
 * The old name of {@link CallError}; it read as `ApiError.ClientError` (any other 4xx), which is one of its members.
 *
 * @deprecated Use {@link CallError}.
 * @since 0.1.0
 * @category models
 */
export type ClientError = CallError

/**
 * The configuration schema. Durations accept `"5 seconds"`, `"200 millis"`, numbers of
 * milliseconds or `Duration`s.
 *
 * | field | default | why |
 * |---|---|---|
 * | `baseUrl` | required | relative paths resolve against it; its origin is the only one that gets the token |
 * | `auth` | required | `"none"`; `{ token }` (a static `Redacted` bearer token); or OAuth2 client credentials (`tokenUrl`, `clientId`, `clientSecret` as `Redacted`, `scope`, `audience`, `method` basic/body, `eager`, `defaultExpiresIn`, `timeout`, `extraParams`, `refresh: { ratio, jitter, beforeExpiry, expiryMargin, minInterval }`). May be left out only when a `TokenProvider` is in the context |
 * | `attemptTimeout` | 10 s | long enough for a slow partner endpoint, short enough that a hung connection is retried well within the deadline |
 * | `deadline` | 30 s | a caller rarely waits longer; leaves room for 3 retries with backoff and a short Retry-After |
 * | `retry` | see below | `false`: no retries at all (one request per call, plus the single replay after a 401) |
 * | `retry.maxRetries` | 3 | retries of transient failures (5xx, timeouts, network); four attempts make a 1% failure rate invisible (10⁻⁸) |
 * | `retry.maxRateLimitRetries` | 10 | waits for a `Retry-After` (429, 503 with Retry-After), counted apart from `maxRetries` |
 * | `retry.base` / `retry.cap` / `retry.jitter` | 200 ms / 10 s / full | see `@bulwark/retry-schedules` |
 * | `retry.maxRetryAfter` | 60 s | a longer Retry-After surfaces `RateLimited` instead of parking the call |
 * | `budget` | capacity 500, cost 5 (timeout 10), refill 1 | an outage adds at most 100 retries, then 0%; `false` disables |
 * | `traffic` | `{ maxQueue: 10000, headroom: 0.98, reserve: 0.015 }` | one traffic controller per origin: Retry-After as a floor, pace from rate-limit headers or learned from 429s, paced release oldest first, queue within each call's deadline, outage probes; `false` turns it off |
 * | `traffic.maxRate` | none | `{ limit, interval }`: a hand-set ceiling on the pace |
 * | `rateLimitGate`, `rateLimit` | — | deprecated aliases: `rateLimitGate: false` is `traffic: false`, `rateLimit` is `traffic.maxRate` |
 * | `idempotency.autoKey` / `.header` | true / `Idempotency-Key` | makes POST/PATCH safely retryable |
 * | `bufferBody` | true | a stalled or reset response body is timed out and retried like the rest of the attempt |
 * | `redirects` | `{ max: 5, crossOrigin: "fail" }` | same-origin redirects followed with the token; cross-origin ones fail, or (`"follow-without-credentials"`) go without any secret header; `false`: every 3xx is an `InvalidResponse` |
 * | `routes` | none | ordered route rules, first match wins: `{ name, match: "GET /reports/**", attemptTimeout, deadline, retry (false or settings over the above), idempotency: { autoKey }, traffic: { maxWait }, breaker: false, hedging: { delay, maxHedges, minDelay, initialDelay } }` (see `Policy`) |
 * | `userAgent` | none | |
 * | `redaction` | defaults of `@bulwark/core-errors` | extra secret header and query names |
 *
 * @since 0.1.0
 * @category config
 */
export const ClientConfig = config.ClientConfigSchema

/**
 * The configuration as written by a user (defaults omitted).
 *
 * @since 0.1.0
 * @category config
 */
export type ClientConfig = Schema.Schema.Encoded<typeof config.ClientConfigSchema>

/**
 * An invalid configuration; its message names each bad field and never echoes a value.
 *
 * @since 0.1.0
 * @category errors
 */
export const ConfigError: typeof config.ConfigError = config.ConfigError

/**
 * @since 0.1.0
 * @category errors
 */
export type ConfigError = config.ConfigError

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  readonly urlParams?: Readonly<Record<string, string | number | boolean | ReadonlyArray<string>>> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** An explicit idempotency key: a re-run of the same logical operation must send the same one. */
  readonly idempotencyKey?: string | undefined
  /**
   * This call's overall deadline instead of the configured one (a slow report, a latency-critical read).
   * Past it the call fails with `Timeout` (phase `deadline`), in the `ApiError` channel — unlike an
   * `Effect.timeout` around the call, which fails with a `TimeoutException` and cancels without a reason.
   */
  readonly deadline?: Duration.DurationInput | undefined
  /** This call's per-attempt timeout instead of the configured one. */
  readonly attemptTimeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service<PE = never> {
  /** The resilient client: use it directly for anything the helpers do not cover. */
  readonly client: HttpClient.HttpClient.With<CallError | PE>
  /** GET and decode the JSON body; a body that does not decode is `InvalidResponse`. */
  readonly get: <A, I, R>(
    path: string,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ) => Effect.Effect<A, CallError | PE, R>
  /** POST a JSON body and decode the JSON answer. */
  readonly post: <A, I, R>(
    path: string,
    body: unknown,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ) => Effect.Effect<A, CallError | PE, R>
  /** PUT a JSON body and decode the JSON answer. */
  readonly put: <A, I, R>(
    path: string,
    body: unknown,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ) => Effect.Effect<A, CallError | PE, R>
  /** PATCH a JSON body and decode the JSON answer. */
  readonly patch: <A, I, R>(
    path: string,
    body: unknown,
    schema: Schema.Schema<A, I, R>,
    options?: RequestOptions
  ) => Effect.Effect<A, CallError | PE, R>
  /** DELETE; any 2xx is success. */
  readonly del: (path: string, options?: RequestOptions) => Effect.Effect<void, CallError | PE>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ApiClient extends Context.Tag("@bulwark/http-client/ApiClient")<ApiClient, Service>() {}

/**
 * A plugin run once per attempt, between the retry stage and the attempt timeout. `PE` is what it adds to
 * the error channel (for instance `CircuitOpen`).
 *
 * @since 0.1.0
 * @category models
 */
export type Plugin<PE = never> = internal.Plugin<PE>

/**
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions<PE = never> {
  /** Per-attempt plugins, e.g. `@bulwark/circuit-breaker`'s. */
  readonly perAttempt?: ReadonlyArray<Plugin<PE>> | undefined
  /**
   * `"fused"` (default): the stages linked once into one function per call, the call's state an argument.
   * `"plugins"`: each stage its own `HttpClient` over the next, as a team composing the public `Plugins`
   * by hand would build it (the call's state then travels in a FiberRef). Same behaviour, more CPU per call;
   * it exists so a test can hold the two forms to each other.
   *
   * @since 0.2.0
   */
  readonly composition?: "fused" | "plugins" | undefined
}

/**
 * Builds the standard pipeline in the current scope (the token provider's background refresh lives
 * there). Uses the platform `HttpClient` from the context as the transport, and a `TokenProvider`,
 * `RetryBudget` or `RateLimitGate` from the context when there is one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <const P extends ReadonlyArray<Plugin<any>> = readonly []>(
  config: ClientConfig,
  options?: { readonly perAttempt?: P | undefined; readonly composition?: "fused" | "plugins" | undefined }
) => Effect.Effect<
  Service<internal.PluginError<P[number]>>,
  ConfigError | TokenError.TokenError,
  HttpClient.HttpClient | Scope.Scope
> = internal.make as never

/**
 * The standard pipeline as a layer. Its per-attempt plugins may not add errors: with a plugin that does
 * (the circuit breaker's `CircuitOpen`), use {@link make} and keep the service, so its type says so.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@bulwark/http-client"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Effect, Layer, Schema } from "effect"
 *
 * const Item = Schema.Struct({ id: Schema.String, name: Schema.String })
 *
 * const PartnerApi = Layer.unwrapEffect(
 *   Effect.gen(function*() {
 *     return ApiClient.layer({
 *       baseUrl: "https://api.example.com/v1",
 *       auth: {
 *         tokenUrl: "https://auth.example.com/oauth/token",
 *         clientId: yield* Config.string("BULWARK_CLIENT_ID"),
 *         clientSecret: yield* Config.redacted("BULWARK_CLIENT_SECRET")
 *       }
 *     })
 *   })
 * ).pipe(Layer.provide(NodeHttpClient.layerUndici))
 *
 * const program = Effect.gen(function*() {
 *   const api = yield* ApiClient.ApiClient
 *   const item = yield* api.get("/items/42", Item)
 *   yield* api.post("/items", { name: "lamp" }, Item) // carries an Idempotency-Key, retried safely
 * }).pipe(Effect.provide(PartnerApi))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  config: ClientConfig,
  options?: MakeOptions
) => Layer.Layer<ApiClient, ConfigError | TokenError.TokenError, HttpClient.HttpClient> = internal.layer as never
