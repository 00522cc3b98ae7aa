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
 * | `preset` | `"none"` | fills `tokens`, `quota`, `retryAfterFormat`, `rateLimitHeaders` and `faults` (merged under the fields given) |
 * | `host` / `port` | `"127.0.0.1"` / `0` | where to listen; port 0 picks a free port |
 * | `seed` | `1` | seeds every random choice (faults, tokens) |
 * | `clients` | {@link demoClient} and {@link readOnlyClient} | OAuth clients with their roles |
 * | `tokens.lifetimeSeconds` | `3600` | access token lifetime |
 * | `tokens.requestLimit` | `null` | token requests per client per window, or none |
 * | `quota` | `null` | resource requests per client per window, or none |
 * | `retryAfterFormat` | `"delta-seconds"` | or `"http-date"` |
 * | `rateLimitHeaders` | `false` | send `RateLimit-Limit/Remaining/Reset/Policy` on quota'd routes |
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
 * A limit of `limit` requests per client per fixed window of `windowSeconds`.
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimit = Schema.Schema.Type<typeof internal.RateLimit>

/**
 * How `Retry-After` is written: `"delta-seconds"` (`Retry-After: 2`) or `"http-date"`
 * (`Retry-After: Wed, 25 Nov 2026 10:00:02 GMT`, taken from Effect's `Clock` and rounded up to the second).
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
