/**
 * One policy document a platform team ships to every service: the client settings for one partner API plus
 * ordered route rules (`GET /reports/**`, first match wins) that override the attempt timeout, the deadline,
 * retries, idempotency, the time a call may queue for its origin, the circuit breaker and hedged reads for the
 * requests they match. Decoded with `effect/Schema`: every default filled in, every problem reported at once
 * naming its field (and its rule), no value from the document ever repeated; a secret written in the document is
 * refused (secrets are named, `{ "config": "PARTNER_CLIENT_SECRET" }`, and read from the `effect` `Config`
 * provider, the environment by default).
 *
 * @example
 * ```ts
 * import { Policy } from "@bulwark/http-client"
 * import { Effect } from "effect"
 *
 * const policy = Policy.decode({
 *   baseUrl: "https://api.partner.example/v1",
 *   auth: { tokenUrl: "https://auth.partner.example/oauth/token", clientId: "catalog-sync" },
 *   deadline: "20 seconds",
 *   routes: [
 *     { name: "reports", match: "GET /reports/**", attemptTimeout: "60 seconds", deadline: "2 minutes" },
 *     { name: "payments", match: "POST /payments", retry: false },
 *     { name: "item-reads", match: "GET /items/*", hedging: { delay: "p95" } }
 *   ]
 * })
 *
 * const reportRule = policy.pipe(
 *   Effect.map((policy) => Policy.ruleFor(policy, "GET", "https://api.partner.example/v1/reports/2026?x=1"))
 * ) // the "reports" rule
 * ```
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import type { ClientConfig } from "./ApiClient.js"
import * as internal from "./internal/policy.js"
import * as Route from "./internal/route.js"

/**
 * The policy document's schema. Its top level takes the fields of `ApiClient.ClientConfig` (all optional, with
 * the same defaults; `baseUrl` may be given by the service instead) with `auth` naming its secrets instead of
 * holding them, plus:
 *
 * | field | default | meaning |
 * |---|---|---|
 * | `auth.clientSecret` | `{ "config": "BULWARK_CLIENT_SECRET" }` | the `Config` key (environment variable) holding the client secret; a value written here is refused |
 * | `auth.token` | | `{ "config": "NAME" }`: a static bearer token from that key |
 * | `breaker` | `false` | `true` or `@bulwark/circuit-breaker` settings (`failureRatio`, `minimumThroughput`, `window`, `breakDuration`, ...): what whoever adds the breaker (`bulwark-policy simulate`, your service) applies |
 * | `routes` | `[]` | ordered route rules, first match wins |
 *
 * A route rule:
 *
 * | field | meaning |
 * |---|---|
 * | `match` | required: `[METHODS ]PATH` relative to the base URL. `GET /reports/**`, `GET,HEAD /items/*`, `/health` (any method). `*` is one path segment, a final `**` any number of them; trailing slashes, the query string and the fragment are ignored |
 * | `name` | labels the route in metrics and spans (never the raw path); the pattern when left out |
 * | `attemptTimeout`, `deadline` | this route's |
 * | `retry` | `false` (no retries) or any of `maxRetries`, `maxRateLimitRetries`, `base`, `cap`, `jitter`, `maxRetryAfter`, over the top level's |
 * | `idempotency.autoKey` | whether POST/PATCH of this route get an automatic `Idempotency-Key` |
 * | `traffic.maxWait` | how long one call may wait in its origin's queue (a quota, a `Retry-After`) before failing fast with `RateLimited` |
 * | `breaker` | `false`: the per-attempt plugins (the circuit breaker) leave this route alone |
 * | `hedging` | `{ delay, maxHedges, minDelay, initialDelay }`: after `delay` (a duration, or a percentile of the route's latencies such as `"p95"`, the default) send one more attempt and take the first success; only for idempotent or keyed requests; hedges count against the retry budget and the traffic controller |
 *
 * @since 0.2.0
 * @category schemas
 */
export const Document = internal.PolicySchema

/**
 * The policy document as written (what the file holds).
 *
 * @since 0.2.0
 * @category models
 */
export type DocumentInput = Schema.Schema.Encoded<typeof internal.PolicySchema>

/**
 * One route rule, decoded, with its `label` (its `name`, or its pattern) and its compiled pattern.
 *
 * @since 0.2.0
 * @category models
 */
export interface Rule extends internal.Rule {}

/**
 * A decoded policy: the document as written, the document with every default filled in, and its route rules in
 * order.
 *
 * @since 0.2.0
 * @category models
 */
export interface Policy extends internal.Policy {}

/**
 * An invalid policy: one issue per problem, each naming its field (`routes.2 ("reports").retry.maxRetries`),
 * none repeating a value from the document. Also a secret written in the document, a file that cannot be read
 * or is not JSON, and a secret the document names that is not set.
 *
 * @since 0.2.0
 * @category errors
 */
export const PolicyError: typeof internal.PolicyError = internal.PolicyError

/**
 * @since 0.2.0
 * @category errors
 */
export type PolicyError = internal.PolicyError

/**
 * Decodes a policy given inline (an object). `source` names it in errors.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode: (input: unknown, source?: string) => Effect.Effect<Policy, PolicyError> = internal.decode

/**
 * Decodes a policy given inline, synchronously. Never throws.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeEither: (input: unknown, source?: string) => Either.Either<Policy, PolicyError> =
  internal.decodeEither

/**
 * Decodes a policy from JSON text; a syntax error gives its line and column, never a quote of the text.
 *
 * @since 0.2.0
 * @category decoding
 */
export const fromJson: (text: string, source?: string) => Effect.Effect<Policy, PolicyError> = internal.parseJson

/**
 * Reads and decodes a policy file (JSON).
 *
 * @example
 * ```ts
 * import { Policy } from "@bulwark/http-client"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 *
 * const policy = Policy.load("policy.json").pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.2.0
 * @category decoding
 */
export const load: (path: string) => Effect.Effect<Policy, PolicyError, FileSystem.FileSystem> = internal.load

/**
 * The `ApiClient` config a policy describes, its secrets read from the current `ConfigProvider` (the
 * environment by default): a secret that is not set fails with a `PolicyError` naming the field and the key.
 * `baseUrl` overrides the policy's (or gives one it lacks); `auth` replaces the policy's (a sandbox's client, a
 * test token), and the policy's secrets are then not read.
 *
 * @since 0.2.0
 * @category constructors
 */
export const clientConfig: (
  policy: Policy,
  options?: { readonly baseUrl?: string | undefined; readonly auth?: ClientConfig["auth"] }
) => Effect.Effect<ClientConfig, PolicyError> = internal.clientConfig as never

/**
 * The rule a request falls under (the first that matches, relative to the policy's base URL, or `baseUrl`), or
 * `undefined`. Pure; the client matches once per call the same way.
 *
 * @since 0.2.0
 * @category routing
 */
export const ruleFor = (policy: Policy, method: string, url: string, baseUrl?: string): Rule | undefined => {
  const index = Route.matcher(policy.rules.map((rule) => rule.pattern), baseUrl ?? policy.document.baseUrl)
    .match(method, url)
  return index === -1 ? undefined : policy.rules[index]
}

/**
 * One effective setting and where its value came from: `"default"` (Bulwark's), `"policy"` (the document's top
 * level) or `rule "<label>"`.
 *
 * @since 0.2.0
 * @category inspecting
 */
export interface Setting extends internal.Setting {}

/**
 * The effective policy: client-wide settings, then per route (and for requests no rule matches) every setting
 * with the value that applies and where it came from, and warnings for rules an earlier rule shadows. What
 * `bulwark-policy check` prints.
 *
 * @since 0.2.0
 * @category inspecting
 */
export const effective: (policy: Policy) => internal.Effective = internal.effective
