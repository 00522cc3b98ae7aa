/**
 * The sandbox's configuration: where it listens, its seed, its OAuth clients and their roles, token
 * lifetime and token request limit, the per-client request quota, body and page size limits and the
 * faults it injects. Every setting has a default; a `preset` fills in a consistent set of them.
 *
 * A config is validated with `effect/Schema`: a bad one fails with a {@link SandboxConfigError} that
 * lists every wrong setting by its path and says what it must be. Client secrets are decoded as
 * `Redacted`. An error never quotes a value of the input, whatever its shape (a secret written in the wrong
 * field is as safe as one in `clientSecret`), and no input makes decoding throw.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/config.js"
import * as errors from "./internal/errors.js"
import * as server from "./internal/server.js"

/**
 * The schema of a sandbox config. Its encoded side ({@link Input}) is plain JSON: every field optional,
 * secrets as strings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema: typeof internal.SandboxConfigSchema = internal.SandboxConfigSchema

/**
 * A decoded, validated config.
 *
 * @since 0.1.0
 * @category models
 */
export type SandboxConfig = internal.SandboxConfig

/**
 * What a caller writes: every field is optional and JSON-compatible.
 *
 * | field | default | meaning |
 * |---|---|---|
 * | `preset` | `"none"` | fills `tokens`, `quota`, `retryAfterFormat`, `rateLimitHeaders`, `quotaResponse` and `faults` (merged under the fields given) |
 * | `host` / `port` | `"127.0.0.1"` / `0` | where to listen; port 0 picks a free port |
 * | `seed` | `1` | seeds every random choice (faults, tokens) |
 * | `clients` | {@link demoClient} and {@link readOnlyClient} | OAuth clients with their roles, and optionally their own `quota` (a {@link Quota}, or `null` for none) instead of the global one |
 * | `tokens.lifetimeSeconds` | `3600` | access token lifetime |
 * | `tokens.requestLimit` | `null` | token requests per client per window, or none |
 * | `quota` | `null` | a {@link Quota} of resource requests per client, or none |
 * | `retryAfterFormat` | `"delta-seconds"` | or `"http-date"` |
 * | `rateLimitHeaders` | `false` | the {@link RateLimitHeaders} sent on quota'd routes |
 * | `quotaResponse` | `"api"` | how a request over its quota is answered: see {@link QuotaResponse} |
 * | `maxBodyBytes` | `1048576` | larger bodies get 413 |
 * | `defaultPageSize` / `maxPageSize` | `100` / `500` | `GET /v1/items?limit=` |
 * | `idempotencyKeyTtlSeconds` | `86400` | how long an `Idempotency-Key` is remembered |
 * | `faults` | none | see the `Faults` module |
 *
 * @since 0.1.0
 * @category models
 */
export type Input = internal.SandboxConfigInput

/**
 * An OAuth client: its id, its secret (`Redacted` once decoded) and its roles, which are also the scopes
 * it may request.
 *
 * @since 0.1.0
 * @category models
 */
export type Client = internal.Client

/**
 * A limit of `limit` requests per client per fixed window of `windowSeconds`, aligned on the epoch of the
 * `Clock` (the token request limit, `tokens.requestLimit`).
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimit = Schema.Schema.Type<typeof internal.RateLimit>

/**
 * The quota of the resource routes, per client: `limit` requests per `windowSeconds`, enforced by `algorithm`.
 *
 * | field | default | meaning |
 * |---|---|---|
 * | `limit`, `windowSeconds` | required | the rate: `limit` requests per `windowSeconds` |
 * | `algorithm` | `"fixed-window"` | see {@link QuotaAlgorithm} |
 * | `burst` | `limit` | token bucket only: the bucket's capacity |
 * | `alignMillis` | `0` | fixed window only: the boundaries are shifted by this many milliseconds (an integer below the window) |
 *
 * The optional fields decode to nothing when absent (a quota written without them decodes to itself); their
 * defaults apply where the quota is checked.
 *
 * @since 0.1.0
 * @category models
 */
export type Quota = Schema.Schema.Type<typeof internal.Quota>

/**
 * How a {@link Quota} is enforced:
 *
 * - `"fixed-window"`: at most `limit` requests in each window of `windowSeconds`; the windows start at `alignMillis`
 *   past each multiple of the window since the epoch of the `Clock` (with 10 s windows and `alignMillis: 3370`, at
 *   …:03.370, …:13.370), so a client cannot assume boundaries on whole seconds. Over it, `Retry-After` names the
 *   window's end.
 * - `"token-bucket"`: a bucket of `burst` tokens, full at first, refilled continuously with `limit / windowSeconds`
 *   tokens per second; a request takes one token or is refused. Over it, `Retry-After` names when the next token
 *   comes.
 *
 * @since 0.1.0
 * @category models
 */
export type QuotaAlgorithm = internal.QuotaAlgorithm

/**
 * The rate-limit headers of every quota'd resource response (2xx, 4xx and `"api"` 429s):
 *
 * | mode | headers |
 * |---|---|
 * | `false` | none |
 * | `true` | `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta-seconds) and `RateLimit-Policy: <limit>;w=<windowSeconds>` (the sandbox's original format) |
 * | `"draft-11"` | draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy: "default";q=<limit>;w=<windowSeconds>` and `RateLimit: "default";r=<remaining>;t=<reset>` |
 * | `"legacy"` | `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta-seconds) |
 * | `"x-ratelimit"` | `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds, as GitHub sends them) |
 * | `"all"` | those of `"draft-11"`, `"legacy"` and `"x-ratelimit"` together |
 *
 * Resets are rounded up to whole seconds: the window's end, or the moment a token bucket is full again. A token
 * bucket's `*-Limit` is its capacity (`burst`) and its remaining count the whole tokens left.
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimitHeaders = internal.RateLimitHeaders

/**
 * How a request over its {@link Quota} is answered: `"api"`, a 429 with the JSON error body, `Retry-After` and the
 * rate-limit headers; or `"bare"`, a 429 as nginx's `limit_req` sends it: no `Retry-After`, no rate-limit headers,
 * a small HTML page.
 *
 * @since 0.1.0
 * @category models
 */
export type QuotaResponse = internal.QuotaResponse

/**
 * How `Retry-After` is written: `"delta-seconds"` (`Retry-After: 2`) or `"http-date"`
 * (`Retry-After: Wed, 25 Nov 2026 10:00:02 GMT`, taken from Effect's `Clock` and rounded up to the second).
 * Delta-seconds are rounded up too, and a quota's are at least 1: a request refused 20 ms before a token
 * comes is told `Retry-After: 1`, as real APIs do.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryAfterFormat = SandboxConfig["retryAfterFormat"]

/**
 * The built-in read-write client (roles `items:read` and `items:write`). Its secret is a published sandbox
 * credential, not a secret of anything real.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoClient: {
  readonly clientId: string
  readonly clientSecret: string
  readonly roles: ReadonlyArray<string>
} = internal.demoClients[0]!

/**
 * The built-in read-only client (role `items:read`): every write it attempts gets 403.
 *
 * @since 0.1.0
 * @category constants
 */
export const readOnlyClient: {
  readonly clientId: string
  readonly clientSecret: string
  readonly roles: ReadonlyArray<string>
} = internal.demoClients[1]!

/**
 * A config that did not validate. `issues` lists each wrong setting (`path`, `message`); `message` says
 * what to fix. It names settings and says what they accept, and never quotes a value of the input: its
 * `message`, `issues`, JSON and `util.inspect` output hold no secret, whichever field it was written in.
 *
 * @since 0.1.0
 * @category errors
 */
export const SandboxConfigError: typeof errors.SandboxConfigError = errors.SandboxConfigError

/**
 * @since 0.1.0
 * @category errors
 */
export type SandboxConfigError = errors.SandboxConfigError

/**
 * Validates a config and applies its preset and defaults.
 *
 * @example
 * ```ts
 * import { SandboxConfig } from "@bulwark/sandbox"
 * import { Effect } from "effect"
 *
 * const config = Effect.runSync(SandboxConfig.decode({ preset: "realistic", seed: 7 }))
 * config.tokens.lifetimeSeconds // 300
 *
 * Effect.runSync(Effect.flip(SandboxConfig.decode({ faults: { hang: 2 } }))).message
 * // Invalid sandbox config (1 problem):
 * //   - faults.hang: must be a probability between 0 and 1
 * // ...
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input?: Input): Effect.Effect<SandboxConfig, SandboxConfigError> => decodeUnknown(input)

/**
 * Like {@link decode}, for input of unknown shape (a parsed JSON file, say). Any input, `null`, an array or
 * `{ "port": { "toString": {} } }` included, either decodes or fails with a {@link SandboxConfigError}.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Effect.Effect<SandboxConfig, SandboxConfigError> =>
  server.decodeConfig(input)
