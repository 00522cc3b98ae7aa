/**
 * Classification of `@effect/platform` HTTP outcomes into {@link ApiError.ApiError}.
 *
 * - {@link response}: a response of any status; statuses below 400 pass through, the others become
 *   the matching error after reading (at most 64 KiB of) the body.
 * - {@link httpClientError}: a platform `HttpClientError`. Transport failures become `NetworkError`;
 *   undici's connect/headers/body timeouts (`UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_HEADERS_TIMEOUT`,
 *   `UND_ERR_BODY_TIMEOUT`) and `AbortSignal.timeout` become `Timeout` with that phase.
 * - {@link client}: both, as a plugin for an `HttpClient`.
 * - {@link schemaBodyJson}: decodes a 2xx body, failing with `InvalidResponse` when it does not match.
 *
 * Classification never fails and never hangs on a body: a body that cannot be read, or does not
 * arrive within `bodyReadTimeout` (10 seconds by default), is reported in the error's `cause`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as ApiError from "./ApiError.js"
import type * as ApiErrorBody from "./ApiErrorBody.js"
import * as internal from "./internal/classify.js"
import type * as Redaction from "./Redaction.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Which header and query parameter names are secret. Default: `Redaction.defaultRedactor`. */
  readonly redactor?: Redaction.Redactor | undefined
  /** Reads an API-specific `category` out of a decoded error body. Default: none. */
  readonly readCategory?: ApiErrorBody.CategoryReader | undefined
  /** Cap on a parsed `Retry-After`. Default: `RetryAfter.defaultCap` (24 hours). */
  readonly retryAfterCap?: Duration.DurationInput | undefined
  /** How much of an error body is read at most. Default: 64 KiB. */
  readonly maxBodyBytes?: number | undefined
  /** How much of a body that is not an error body is kept. Default: 4096 bytes. */
  readonly snippetBytes?: number | undefined
  /**
   * How long reading an error body may take before it is given up. Default: 10 seconds. `false`: the caller
   * bounds the whole exchange already (the http-client's attempt timeout does), so no timer of its own.
   */
  readonly bodyReadTimeout?: Duration.DurationInput | false | undefined
  /**
   * What a redirect (a 3xx other than 304) is: `"error"` (default) fails with an `InvalidResponse` that
   * says where it pointed, so a redirect never reaches a body decoder as if it were the answer;
   * `"response"` hands it on, for a client that follows redirects itself.
   */
  readonly redirects?: "error" | "response" | undefined
}

/**
 * Passes a response with a status below 400 through and fails with the matching `ApiError`
 * otherwise.
 *
 * @example
 * ```ts
 * import { Classify } from "@bulwark/core-errors"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const response = yield* client.get("https://api.example.com/v1/items").pipe(
 *     Effect.flatMap((response) => Classify.response(response))
 *   )
 *   return yield* response.json
 * })
 * ```
 *
 * @since 0.1.0
 * @category classification
 */
export const response: (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
) => Effect.Effect<HttpClientResponse.HttpClientResponse, ApiError.ApiError> = internal.response

/**
 * The error for a redirect the client will not follow: an `InvalidResponse` with the 3xx status and
 * the `Location` it pointed to (resolved against the request's URL and redacted).
 *
 * @since 0.2.0
 * @category classification
 */
export const redirectError: (
  response: HttpClientResponse.HttpClientResponse,
  options?: Pick<Options, "redactor"> & {
    /** More values to scrub: secrets an earlier hop carried that the redirected request does not. */
    readonly secrets?: ReadonlyArray<string> | undefined
  }
) => ApiError.InvalidResponse = internal.redirectError

/**
 * The `ApiError` for a response, whatever its status (a status below 400 is classified as if it were
 * an error: use {@link response} to let those pass).
 *
 * @since 0.1.0
 * @category classification
 */
export const errorFromResponse: (
  response: HttpClientResponse.HttpClientResponse,
  options?: Options
) => Effect.Effect<ApiError.ApiError> = internal.fromResponse

/**
 * The `ApiError` for a platform `HttpClientError`. Never fails.
 *
 * @since 0.1.0
 * @category classification
 */
export const httpClientError: (
  error: HttpClientError.HttpClientError,
  options?: Options
) => Effect.Effect<ApiError.ApiError> = internal.fromHttpClientError

/**
 * An `InvalidResponse` for a response whose body did not match what was expected.
 *
 * @since 0.1.0
 * @category classification
 */
export const invalidResponse: (
  response: HttpClientResponse.HttpClientResponse,
  problem: string,
  options?: Pick<Options, "redactor">
) => ApiError.InvalidResponse = internal.invalidResponse

/**
 * Decodes a response's JSON body with a schema; a body that is not JSON or does not match fails with
 * `InvalidResponse` (a transport failure while reading it with `Timeout` or `NetworkError`).
 *
 * @example
 * ```ts
 * import { Classify } from "@bulwark/core-errors"
 * import { HttpClient } from "@effect/platform"
 * import { Effect, Schema } from "effect"
 *
 * const Item = Schema.Struct({ id: Schema.String, name: Schema.String })
 *
 * const getItem = (id: string) =>
 *   HttpClient.HttpClient.pipe(
 *     Effect.map(Classify.client()),
 *     Effect.flatMap((client) => client.get(`https://api.example.com/v1/items/${id}`)),
 *     Effect.flatMap(Classify.schemaBodyJson(Item))
 *   )
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const schemaBodyJson: <A, I, R>(
  schema: Schema.Schema<A, I, R>,
  options?: Options
) => (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, ApiError.ApiError, R> =
  internal.schemaBodyJson

/**
 * A client plugin: every response with a status of 400 or more, and every `HttpClientError`, becomes
 * an `ApiError`.
 *
 * @example
 * ```ts
 * import { Classify } from "@bulwark/core-errors"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const classified = Effect.map(HttpClient.HttpClient, Classify.client())
 * // Effect<HttpClient.With<ApiError>, never, HttpClient>
 * ```
 *
 * @since 0.1.0
 * @category plugins
 */
export const client: {
  (
    options?: Options
  ): <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options?: Options
  ): HttpClient.HttpClient.With<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R>
} = dual(
  (args) => Predicate.hasProperty(args[0], HttpClient.TypeId),
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options?: Options
  ): HttpClient.HttpClient.With<ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>, R> =>
    HttpClient.transformResponse(self, (effect) =>
      effect.pipe(
        Effect.catchAll((
          error: E
        ): Effect.Effect<never, ApiError.ApiError | Exclude<E, HttpClientError.HttpClientError>> =>
          HttpClientError.isHttpClientError(error)
            ? Effect.flip(internal.fromHttpClientError(error, options))
            : Effect.fail(error as Exclude<E, HttpClientError.HttpClientError>)
        ),
        Effect.flatMap((res) => internal.response(res, options))
      ))
)
