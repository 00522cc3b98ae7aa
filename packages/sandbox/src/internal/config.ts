import type * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

// ---------------------------------------------------------------------------------------------
// messages
// ---------------------------------------------------------------------------------------------

/**
 * Every message a config issue can carry. Each is a constant written in this file, registered when the schema
 * is built: `issuesOf` keeps a schema message only if it is one of these, so no message can quote the input
 * (a secret written in the wrong field, say), whatever the shape of that input.
 */
const messages = new Set<string>()

/** Registers a message and returns it. */
const says = (text: string): string => {
  messages.add(text)
  return text
}

/**
 * A `message` annotation that says what a setting must be. It never looks at the value it rejects: Effect calls
 * message annotations with the raw input, which may be anything (`{ "toString": {} }` cannot be turned into a
 * string), so a message built from `issue.actual` can throw, and can quote a secret. Overriding, the message
 * also replaces the inner one ("Expected number, actual ..."): a filter on a number says the same of `-1` and
 * of `"x"`.
 */
const must = (text: string) => {
  const message = says(text)
  return { message: () => ({ message, override: true }) }
}

/**
 * The annotation of a struct or an array: its message when the input is not an object (an array) at all, and its
 * fields' (elements') own messages otherwise. A struct with defaults is a transformation whose `from` side does
 * the type check, hence the look one level down.
 */
const mustBe = (text: string) => {
  const message = says(text)
  return {
    message: (issue: ParseResult.ParseIssue) => ({
      message,
      override: issue._tag === "Type" || (issue._tag === "Transformation" && issue.issue._tag === "Type")
    })
  }
}

const IS_REQUIRED = says("is required")
const EMPTY = says("must not be empty")
const NOT_A_SETTING = says("is not a known setting (check its spelling)")
/** For an issue with no registered message; a test makes sure JSON input never gets it. */
const UNEXPLAINED = says(
  "is not valid here (the Configuration section of the @bulwark/sandbox README lists what each setting accepts)"
)
const NOT_AN_OBJECT = says("must be a JSON object of settings, such as { \"preset\": \"realistic\", \"seed\": 7 }")
const UNREADABLE = says("could not be read: reading one of its properties threw (pass plain JSON data)")

// ---------------------------------------------------------------------------------------------
// building blocks
// ---------------------------------------------------------------------------------------------

const Probability = Schema.Number.pipe(
  Schema.filter((n) => Number.isFinite(n) && n >= 0 && n <= 1, must("must be a probability between 0 and 1"))
).annotations({ identifier: "Probability" })

const nonNegativeInt = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, must(`must be ${what} (an integer >= 0)`))
  )

const positiveInt = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= 1, must(`must be ${what} (an integer >= 1)`))
  )

const positiveNumber = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isFinite(n) && n > 0, must(`must be ${what} (a number > 0)`))
  )

const nonNegativeNumber = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isFinite(n) && n >= 0, must(`must be ${what} (a number >= 0)`))
  )

/** A union of literals, with one message for all of them ("must be one of ..."). */
const oneOf = <const Literals extends Arr.NonEmptyReadonlyArray<string | number>>(...literals: Literals) =>
  Schema.Literal(...literals).annotations(
    must(
      literals.length === 1
        ? `must be ${JSON.stringify(literals[0])}`
        : `must be one of ${literals.map((literal) => JSON.stringify(literal)).join(", ")}`
    )
  )

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const ScopeToken = Schema.String.pipe(
  Schema.filter(
    (s) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s),
    must("must be an OAuth scope token (printable ASCII, no spaces, quotes or backslashes)")
  )
)

const defaults = <A, I>(schema: Schema.Schema<A, I>): () => A => {
  const value = Schema.decodeUnknownSync(schema)({})
  return () => value
}

// ---------------------------------------------------------------------------------------------
// faults
// ---------------------------------------------------------------------------------------------

/** @internal */
export const ServerErrorStatus = oneOf(500, 502, 503, 504)

/** @internal */
export const ServerErrorFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  statuses: Schema.optionalWith(
    Schema.NonEmptyArray(ServerErrorStatus).annotations(
      mustBe("must be a non-empty array of HTTP statuses, each one of 500, 502, 503, 504")
    ),
    { default: () => [500, 502, 503, 504] as const, exact: true }
  ),
  htmlRatio: Schema.optionalWith(Probability, { default: () => 0.5, exact: true })
}).annotations(mustBe("must be an object { probability, statuses, htmlRatio }"))

/** @internal */
export const UnavailableFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
}).annotations(mustBe("must be an object { probability, retryAfterSeconds }"))

const MAX_BELOW_MIN = says("must be >= minMs")

/** @internal */
export const LatencyFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  minMs: Schema.optionalWith(nonNegativeInt("a number of milliseconds"), { default: () => 0, exact: true }),
  maxMs: Schema.optionalWith(nonNegativeInt("a number of milliseconds"), { default: () => 0, exact: true })
}).annotations(mustBe("must be an object { probability, minMs, maxMs }")).pipe(
  Schema.filter((latency) => latency.minMs <= latency.maxMs || { path: ["maxMs"], message: MAX_BELOW_MIN })
)

const REPEAT_BELOW_DURATION = says("must be >= durationSeconds")

/** @internal */
export const FaultWindow = Schema.Struct({
  kind: oneOf("scaling-up", "outage"),
  startAfterSeconds: Schema.optionalWith(nonNegativeNumber("a number of seconds"), { default: () => 0, exact: true }),
  durationSeconds: positiveNumber("a number of seconds"),
  repeatEverySeconds: Schema.optional(positiveNumber("a number of seconds")),
  probability: Schema.optionalWith(Probability, { default: () => 1, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
}).annotations(
  mustBe(
    "must be an object { kind, startAfterSeconds, durationSeconds, repeatEverySeconds, probability, retryAfterSeconds }"
  )
).pipe(
  Schema.filter((window) =>
    window.repeatEverySeconds === undefined || window.repeatEverySeconds >= window.durationSeconds ||
    { path: ["repeatEverySeconds"], message: REPEAT_BELOW_DURATION }
  )
)

/** @internal */
export const TokenEndpointFault = Schema.Struct({
  unavailable: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
}).annotations(mustBe("must be an object { unavailable, retryAfterSeconds }"))

const FaultsStruct = Schema.Struct({
  serverError: Schema.optionalWith(ServerErrorFault, { default: defaults(ServerErrorFault), exact: true }),
  unavailable: Schema.optionalWith(UnavailableFault, { default: defaults(UnavailableFault), exact: true }),
  hang: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  stall: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  resetBefore: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  resetAfter: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  latency: Schema.optionalWith(LatencyFault, { default: defaults(LatencyFault), exact: true }),
  windows: Schema.optionalWith(Schema.Array(FaultWindow).annotations(mustBe("must be an array of fault windows")), {
    default: () => [],
    exact: true
  }),
  tokenEndpoint: Schema.optionalWith(TokenEndpointFault, { default: defaults(TokenEndpointFault), exact: true })
}).annotations(mustBe("must be an object of faults (see the Faults section of the @bulwark/sandbox README)"))

/** @internal */
export const exclusiveProbability = (faults: Schema.Schema.Type<typeof FaultsStruct>): number =>
  faults.serverError.probability + faults.unavailable.probability + faults.hang + faults.stall + faults.resetBefore +
  faults.resetAfter

const EXCLUSIVE_OVER_ONE = says(
  "the probabilities of serverError, unavailable, hang, stall, resetBefore and resetAfter add up to more than 1: " +
    "at most one of them happens per request, so they must add up to at most 1"
)

/** @internal */
export const FaultsSchema = FaultsStruct.pipe(
  Schema.filter((faults) => {
    const total = exclusiveProbability(faults)
    return total <= 1 + 1e-9 || { path: [], message: EXCLUSIVE_OVER_ONE }
  })
).annotations({ identifier: "Faults" })

/** @internal */
export type Faults = Schema.Schema.Type<typeof FaultsSchema>

/** @internal */
export type FaultsInput = Schema.Schema.Encoded<typeof FaultsSchema>

// ---------------------------------------------------------------------------------------------
// the whole config
// ---------------------------------------------------------------------------------------------

/** @internal */
export const PresetName = oneOf("none", "realistic", "harsh", "outage", "scaling-up", "quota-headers", "quota-bare")

/** @internal */
export type PresetName = Schema.Schema.Type<typeof PresetName>

/** @internal */
export const presetNames: ReadonlyArray<PresetName> = PresetName.literals

const RATE_LIMIT = "must be null (no limit) or an object { limit, windowSeconds }"

/** @internal */
export const RateLimit = Schema.Struct({
  limit: positiveInt("a number of requests"),
  windowSeconds: positiveNumber("a number of seconds")
}).annotations(mustBe(RATE_LIMIT))

/** @internal */
export type RateLimit = Schema.Schema.Type<typeof RateLimit>

/** `Schema.NullOr(RateLimit)`, whose `null` branch says the same as its object branch. */
const RateLimitOrNull = Schema.Union(RateLimit, Schema.Null.annotations(must(RATE_LIMIT)))

/** @internal */
export const QuotaAlgorithm = oneOf("fixed-window", "token-bucket")

/** @internal */
export type QuotaAlgorithm = Schema.Schema.Type<typeof QuotaAlgorithm>

const BURST_WITHOUT_BUCKET = says(
  "applies only to algorithm \"token-bucket\": set algorithm to \"token-bucket\" or remove burst"
)
const ALIGN_WITH_BUCKET = says(
  "applies only to algorithm \"fixed-window\" (a token bucket has no window boundaries): remove alignMillis"
)
const ALIGN_NOT_BELOW_WINDOW = says(
  "must be less than the window (windowSeconds x 1000 milliseconds): a shift by a whole window changes nothing"
)

/**
 * The request quota of the resource routes: {@link RateLimit} plus how it is enforced. The optional fields have
 * no decoded default, so a config written before they existed decodes to the very same value; the defaults
 * (`"fixed-window"`, `burst = limit`, `alignMillis = 0`) are applied where the quota is checked.
 *
 * @internal
 */
export const Quota = Schema.Struct({
  limit: positiveInt("a number of requests"),
  windowSeconds: positiveNumber("a number of seconds"),
  algorithm: Schema.optionalWith(QuotaAlgorithm, { exact: true }),
  burst: Schema.optionalWith(positiveInt("a number of requests"), { exact: true }),
  alignMillis: Schema.optionalWith(nonNegativeInt("a number of milliseconds"), { exact: true })
}).annotations(mustBe(RATE_LIMIT)).pipe(
  Schema.filter((quota) => {
    const issues: Array<Schema.FilterIssue> = []
    const bucket = quota.algorithm === "token-bucket"
    if (quota.burst !== undefined && !bucket) issues.push({ path: ["burst"], message: BURST_WITHOUT_BUCKET })
    if (quota.alignMillis !== undefined) {
      if (bucket) issues.push({ path: ["alignMillis"], message: ALIGN_WITH_BUCKET })
      else if (quota.alignMillis >= quota.windowSeconds * 1000) {
        issues.push({ path: ["alignMillis"], message: ALIGN_NOT_BELOW_WINDOW })
      }
    }
    return issues.length === 0 ? true : issues
  })
)

/** @internal */
export type Quota = Schema.Schema.Type<typeof Quota>

/** `Schema.NullOr(Quota)`, whose `null` branch says the same as its object branch. */
const QuotaOrNull = Schema.Union(Quota, Schema.Null.annotations(must(RATE_LIMIT)))

/** @internal */
export const RateLimitHeaders = Schema.Literal(false, true, "draft-11", "legacy", "x-ratelimit", "all").annotations(
  must("must be true, false or one of \"draft-11\", \"legacy\", \"x-ratelimit\", \"all\"")
)

/** @internal */
export type RateLimitHeaders = Schema.Schema.Type<typeof RateLimitHeaders>

/** @internal */
export const QuotaResponse = oneOf("api", "bare")

/** @internal */
export type QuotaResponse = Schema.Schema.Type<typeof QuotaResponse>

const STRING_1_TO_255 = "must be a string of 1 to 255 characters"

/** @internal */
export const ClientSchema = Schema.Struct({
  clientId: Schema.String.pipe(Schema.filter((s) => s.length >= 1 && s.length <= 255, must(STRING_1_TO_255))),
  clientSecret: Schema.Redacted(
    Schema.String.pipe(Schema.filter((s) => s.length >= 1 && s.length <= 255, must(STRING_1_TO_255)))
  ),
  roles: Schema.Array(ScopeToken).annotations(
    mustBe("must be an array of OAuth scope tokens, such as [\"items:read\"]")
  ),
  /** This client's own quota, instead of the config's `quota` (`null`: none for this client). */
  quota: Schema.optionalWith(QuotaOrNull, { exact: true })
}).annotations(mustBe("must be an object { clientId, clientSecret, roles }"))

const Clients = Schema.NonEmptyArray(ClientSchema).annotations(
  mustBe("must be a non-empty array of clients, each an object { clientId, clientSecret, roles }")
)

/** @internal */
export type Client = Schema.Schema.Type<typeof ClientSchema>

/** @internal */
export const demoClients: ReadonlyArray<Schema.Schema.Encoded<typeof ClientSchema>> = [
  { clientId: "bulwark-demo", clientSecret: "sandbox-demo-secret", roles: ["items:read", "items:write"] },
  { clientId: "bulwark-readonly", clientSecret: "sandbox-readonly-secret", roles: ["items:read"] }
]

/** @internal */
export const TokensSchema = Schema.Struct({
  lifetimeSeconds: Schema.optionalWith(positiveInt("a number of seconds"), { default: () => 3600, exact: true }),
  requestLimit: Schema.optionalWith(RateLimitOrNull, { default: () => null, exact: true })
}).annotations(mustBe("must be an object { lifetimeSeconds, requestLimit }"))

const Host = Schema.String.pipe(
  Schema.filter((s) => s.length > 0 && !/\s/.test(s), must("must be a host name or IP address"))
)

const SandboxConfigStruct = Schema.Struct({
  preset: Schema.optionalWith(PresetName, { default: () => "none" as const, exact: true }),
  host: Schema.optionalWith(Host, { default: () => "127.0.0.1", exact: true }),
  port: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter(
        (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
        must("must be a TCP port between 0 and 65535 (0: any free port)")
      )
    ),
    { default: () => 0, exact: true }
  ),
  seed: Schema.optionalWith(
    Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n), must("must be an integer"))),
    { default: () => 1, exact: true }
  ),
  clients: Schema.optionalWith(Clients, {
    default: () => Schema.decodeSync(Clients)(demoClients as any),
    exact: true
  }),
  tokens: Schema.optionalWith(TokensSchema, { default: defaults(TokensSchema), exact: true }),
  quota: Schema.optionalWith(QuotaOrNull, { default: () => null, exact: true }),
  retryAfterFormat: Schema.optionalWith(oneOf("delta-seconds", "http-date"), {
    default: () => "delta-seconds" as const,
    exact: true
  }),
  rateLimitHeaders: Schema.optionalWith(RateLimitHeaders, { default: () => false, exact: true }),
  quotaResponse: Schema.optionalWith(QuotaResponse, { default: () => "api" as const, exact: true }),
  maxBodyBytes: Schema.optionalWith(positiveInt("a number of bytes"), { default: () => 1024 * 1024, exact: true }),
  defaultPageSize: Schema.optionalWith(positiveInt("a number of items"), { default: () => 100, exact: true }),
  maxPageSize: Schema.optionalWith(positiveInt("a number of items"), { default: () => 500, exact: true }),
  idempotencyKeyTtlSeconds: Schema.optionalWith(positiveInt("a number of seconds"), {
    default: () => 86400,
    exact: true
  }),
  faults: Schema.optionalWith(FaultsSchema, { default: defaults(FaultsSchema), exact: true })
}).annotations(mustBe(NOT_AN_OBJECT))

const DUPLICATE_CLIENT_ID = says("must be unique: an earlier client has the same clientId")
const DEFAULT_PAGE_ABOVE_MAX = says("must be <= maxPageSize")

/** @internal */
export const SandboxConfigSchema = SandboxConfigStruct.pipe(
  Schema.filter((config) => {
    const issues: Array<Schema.FilterIssue> = []
    const seen = new Set<string>()
    config.clients.forEach((client, i) => {
      if (seen.has(client.clientId)) {
        issues.push({ path: ["clients", i, "clientId"], message: DUPLICATE_CLIENT_ID })
      }
      seen.add(client.clientId)
    })
    if (config.defaultPageSize > config.maxPageSize) {
      issues.push({ path: ["defaultPageSize"], message: DEFAULT_PAGE_ABOVE_MAX })
    }
    return issues.length === 0 ? true : issues
  })
).annotations({ identifier: "SandboxConfig" })

/** @internal */
export type SandboxConfig = Schema.Schema.Type<typeof SandboxConfigSchema>

/** @internal */
export type SandboxConfigInput = Schema.Schema.Encoded<typeof SandboxConfigSchema>

/**
 * The parts of a config a preset sets, and which can be switched while the sandbox runs.
 *
 * @internal
 */
export type Policy = Pick<
  SandboxConfig,
  "tokens" | "quota" | "retryAfterFormat" | "rateLimitHeaders" | "quotaResponse" | "faults"
>

type PolicyInput = Pick<
  SandboxConfigInput,
  "tokens" | "quota" | "retryAfterFormat" | "rateLimitHeaders" | "quotaResponse" | "faults"
>

// ---------------------------------------------------------------------------------------------
// presets
// ---------------------------------------------------------------------------------------------

/** @internal */
export const presets: Readonly<Record<PresetName, PolicyInput>> = {
  none: {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: null,
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: false,
    quotaResponse: "api",
    faults: {}
  },
  realistic: {
    tokens: { lifetimeSeconds: 300, requestLimit: { limit: 10, windowSeconds: 60 } },
    quota: { limit: 50, windowSeconds: 1 },
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: true,
    quotaResponse: "api",
    faults: {
      serverError: { probability: 0.01, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
      latency: { probability: 0.02, minMs: 20, maxMs: 150 }
    }
  },
  harsh: {
    tokens: { lifetimeSeconds: 60, requestLimit: { limit: 5, windowSeconds: 60 } },
    quota: { limit: 20, windowSeconds: 1 },
    retryAfterFormat: "http-date",
    rateLimitHeaders: true,
    quotaResponse: "api",
    faults: {
      serverError: { probability: 0.05, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
      unavailable: { probability: 0.02, retryAfterSeconds: 1 },
      hang: 0.005,
      stall: 0.005,
      resetBefore: 0.01,
      resetAfter: 0.01,
      latency: { probability: 0.1, minMs: 50, maxMs: 500 },
      windows: [{
        kind: "scaling-up",
        startAfterSeconds: 30,
        durationSeconds: 10,
        repeatEverySeconds: 60,
        probability: 0.4,
        retryAfterSeconds: 2
      }],
      tokenEndpoint: { unavailable: 0.05, retryAfterSeconds: 1 }
    }
  },
  outage: {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: null,
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: false,
    quotaResponse: "api",
    faults: {
      windows: [{ kind: "outage", startAfterSeconds: 5, durationSeconds: 20, probability: 1, retryAfterSeconds: 5 }]
    }
  },
  "scaling-up": {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: null,
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: false,
    quotaResponse: "api",
    faults: {
      windows: [{
        kind: "scaling-up",
        startAfterSeconds: 5,
        durationSeconds: 30,
        repeatEverySeconds: 60,
        probability: 0.4,
        retryAfterSeconds: 2
      }]
    }
  },
  "quota-headers": {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: { limit: 100, windowSeconds: 10, alignMillis: 3370 },
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: "all",
    quotaResponse: "api",
    faults: {}
  },
  "quota-bare": {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: { limit: 20, windowSeconds: 1, algorithm: "token-bucket", burst: 10 },
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: false,
    quotaResponse: "bare",
    faults: {}
  }
}

const PolicySchema = SandboxConfigStruct.pipe(
  Schema.pick("tokens", "quota", "retryAfterFormat", "rateLimitHeaders", "quotaResponse", "faults")
)

/** @internal */
export const presetPolicy = (name: PresetName): Policy => Schema.decodeSync(PolicySchema)(presets[name])

// ---------------------------------------------------------------------------------------------
// decoding
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface ConfigIssue {
  readonly path: string
  readonly message: string
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]{0,63}$/
const MAX_KEY_LENGTH = 40

/**
 * A key of the input, for a path. The keys of the schema print as they are; any other key (one the schema does not
 * know, written by whoever wrote the input) is quoted, shortened, and every character outside printable ASCII is
 * escaped, so that it can neither run long nor drive the terminal the message is printed on.
 */
const formatKey = (key: PropertyKey): string => {
  if (typeof key === "number") return `[${key}]`
  if (typeof key === "symbol") return "[a symbol]"
  if (IDENTIFIER.test(key)) return key
  const short = key.length > MAX_KEY_LENGTH ? `${key.slice(0, MAX_KEY_LENGTH)}...` : key
  const escaped = short.replace(
    /[^\x20-\x7e]|["\\]/g,
    (c) => c === "\"" || c === "\\" ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  )
  return `["${escaped}"]`
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    const part = formatKey(key)
    out += out === "" || part.startsWith("[") ? part : `.${part}`
  }
  return out === "" ? "(config)" : out
}

/** A path as a string that tells every two paths apart (`formatPath` shortens long keys). */
const pathKey = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key) => typeof key === "symbol" ? "s" : `${typeof key}:${key}`).join("\u0000")

/**
 * Turns schema issues into `{ path, message }`, one message per setting. A message is one of the constants
 * registered in this file, never text built from the input: `Missing` and `Unexpected` issues get a fixed
 * message, any other issue keeps its message only if it is registered (the annotations above give each schema
 * one) and gets {@link UNEXPLAINED} otherwise. An issue above a more precise one (the `null` branch of
 * `quota: { limit: 0 }`) is dropped, and so is {@link UNEXPLAINED} where the same path has a better message.
 *
 * @internal
 */
export const issuesOf = (
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = []
): ReadonlyArray<ConfigIssue> => {
  const raw = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = [...prefix, ...issue.path]
    // The only tuples here are non-empty arrays: a missing element is the first one of an empty array.
    if (issue._tag === "Missing" && typeof path[path.length - 1] === "number") {
      return { path: path.slice(0, -1), key: pathKey(path.slice(0, -1)), message: EMPTY }
    }
    const message = issue._tag === "Missing"
      ? IS_REQUIRED
      : issue._tag === "Unexpected"
      ? NOT_A_SETTING
      : messages.has(issue.message)
      ? issue.message
      : UNEXPLAINED
    return { path, key: pathKey(path), message }
  })
  const above = new Set<string>()
  const explained = new Set<string>()
  for (const issue of raw) {
    for (let i = 0; i < issue.path.length; i++) above.add(pathKey(issue.path.slice(0, i)))
    if (issue.message !== UNEXPLAINED) explained.add(issue.key)
  }
  const seen = new Set<string>()
  const out: Array<ConfigIssue> = []
  for (const issue of raw) {
    if (above.has(issue.key) || (issue.message === UNEXPLAINED && explained.has(issue.key))) continue
    const key = `${issue.key}\u0000${issue.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ path: formatPath(issue.path), message: issue.message })
  }
  return out
}

const decodeConfig = Schema.decodeUnknownEither(SandboxConfigSchema, { errors: "all", onExcessProperty: "error" })
const decodeFaults = Schema.decodeUnknownEither(FaultsSchema, { errors: "all", onExcessProperty: "error" })

/**
 * Applies the preset named by `input.preset` under the input: the preset's `tokens` and `faults` are merged
 * field by field with the input's, its other settings are used where the input has none.
 */
const withPreset = (input: unknown): unknown => {
  if (!Predicate.isRecord(input)) return input
  const name = input.preset ?? "none"
  if (typeof name !== "string" || !Object.hasOwn(presets, name)) return input
  const preset = presets[name as PresetName]
  const merged: Record<string, unknown> = { ...preset, ...input }
  if (Predicate.isRecord(input.tokens)) merged.tokens = { ...preset.tokens, ...input.tokens }
  if (Predicate.isRecord(input.faults)) merged.faults = { ...preset.faults, ...input.faults }
  return merged
}

/**
 * Runs a decoder on input that may not be plain data: JSON cannot make a property that throws when read, but
 * a getter or a `Proxy` can, and the decoder reads every property. Such input gets a config issue too.
 */
const guarded = <A>(
  path: string,
  decode: () => Either.Either<A, ReadonlyArray<ConfigIssue>>
): Either.Either<A, ReadonlyArray<ConfigIssue>> => {
  try {
    return decode()
  } catch {
    return Either.left([{ path, message: UNREADABLE }])
  }
}

/** @internal */
export const decode = (input: unknown): Either.Either<SandboxConfig, ReadonlyArray<ConfigIssue>> => {
  if (input !== undefined && !Predicate.isRecord(input)) {
    return Either.left([{ path: "(config)", message: NOT_AN_OBJECT }])
  }
  return guarded("(config)", () => Either.mapLeft(decodeConfig(withPreset(input ?? {})), (error) => issuesOf(error)))
}

/** @internal */
export const decodeFaultsInput = (input: unknown): Either.Either<Faults, ReadonlyArray<ConfigIssue>> =>
  guarded("faults", () => Either.mapLeft(decodeFaults(input), (error) => issuesOf(error, ["faults"])))
