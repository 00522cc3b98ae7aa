import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

// ---------------------------------------------------------------------------------------------
// building blocks
// ---------------------------------------------------------------------------------------------

const Probability = Schema.Number.pipe(
  Schema.filter((n) => Number.isFinite(n) && n >= 0 && n <= 1, {
    message: (issue) => `must be a probability between 0 and 1, got ${String(issue.actual)}`
  })
).annotations({ identifier: "Probability" })

const nonNegativeInt = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, {
      message: (issue) => `must be ${what} (an integer >= 0), got ${String(issue.actual)}`
    })
  )

const positiveInt = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= 1, {
      message: (issue) => `must be ${what} (an integer >= 1), got ${String(issue.actual)}`
    })
  )

const positiveNumber = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isFinite(n) && n > 0, {
      message: (issue) => `must be ${what} (a number > 0), got ${String(issue.actual)}`
    })
  )

const nonNegativeNumber = (what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isFinite(n) && n >= 0, {
      message: (issue) => `must be ${what} (a number >= 0), got ${String(issue.actual)}`
    })
  )

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const ScopeToken = Schema.String.pipe(
  Schema.filter((s) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s), {
    message: (issue) =>
      `must be an OAuth scope token (printable ASCII, no spaces, quotes or backslashes), got ${
        JSON.stringify(issue.actual)
      }`
  })
)

const defaults = <A, I>(schema: Schema.Schema<A, I>): () => A => {
  const value = Schema.decodeUnknownSync(schema)({})
  return () => value
}

// ---------------------------------------------------------------------------------------------
// faults
// ---------------------------------------------------------------------------------------------

/** @internal */
export const ServerErrorStatus = Schema.Literal(500, 502, 503, 504)

/** @internal */
export const ServerErrorFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  statuses: Schema.optionalWith(Schema.NonEmptyArray(ServerErrorStatus), {
    default: () => [500, 502, 503, 504] as const,
    exact: true
  }),
  htmlRatio: Schema.optionalWith(Probability, { default: () => 0.5, exact: true })
})

/** @internal */
export const UnavailableFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
})

/** @internal */
export const LatencyFault = Schema.Struct({
  probability: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  minMs: Schema.optionalWith(nonNegativeInt("a number of milliseconds"), { default: () => 0, exact: true }),
  maxMs: Schema.optionalWith(nonNegativeInt("a number of milliseconds"), { default: () => 0, exact: true })
}).pipe(
  Schema.filter((latency) =>
    latency.minMs <= latency.maxMs ||
    { path: ["maxMs"], message: `must be >= minMs (${latency.minMs}), got ${latency.maxMs}` }
  )
)

/** @internal */
export const FaultWindow = Schema.Struct({
  kind: Schema.Literal("scaling-up", "outage"),
  startAfterSeconds: Schema.optionalWith(nonNegativeNumber("a number of seconds"), { default: () => 0, exact: true }),
  durationSeconds: positiveNumber("a number of seconds"),
  repeatEverySeconds: Schema.optional(positiveNumber("a number of seconds")),
  probability: Schema.optionalWith(Probability, { default: () => 1, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
}).pipe(
  Schema.filter((window) =>
    window.repeatEverySeconds === undefined || window.repeatEverySeconds >= window.durationSeconds ||
    {
      path: ["repeatEverySeconds"],
      message: `must be >= durationSeconds (${window.durationSeconds}), got ${window.repeatEverySeconds}`
    }
  )
)

/** @internal */
export const TokenEndpointFault = Schema.Struct({
  unavailable: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  retryAfterSeconds: Schema.optionalWith(nonNegativeInt("a number of seconds"), { default: () => 1, exact: true })
})

const FaultsStruct = Schema.Struct({
  serverError: Schema.optionalWith(ServerErrorFault, { default: defaults(ServerErrorFault), exact: true }),
  unavailable: Schema.optionalWith(UnavailableFault, { default: defaults(UnavailableFault), exact: true }),
  hang: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  stall: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  resetBefore: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  resetAfter: Schema.optionalWith(Probability, { default: () => 0, exact: true }),
  latency: Schema.optionalWith(LatencyFault, { default: defaults(LatencyFault), exact: true }),
  windows: Schema.optionalWith(Schema.Array(FaultWindow), { default: () => [], exact: true }),
  tokenEndpoint: Schema.optionalWith(TokenEndpointFault, { default: defaults(TokenEndpointFault), exact: true })
})

/** @internal */
export const exclusiveProbability = (faults: Schema.Schema.Type<typeof FaultsStruct>): number =>
  faults.serverError.probability + faults.unavailable.probability + faults.hang + faults.stall + faults.resetBefore +
  faults.resetAfter

/** @internal */
export const FaultsSchema = FaultsStruct.pipe(
  Schema.filter((faults) => {
    const total = exclusiveProbability(faults)
    return total <= 1 + 1e-9 || {
      path: [],
      message:
        `the probabilities of serverError, unavailable, hang, stall, resetBefore and resetAfter add up to ${total}: ` +
        "at most one of them happens per request, so they must add up to at most 1"
    }
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
export const PresetName = Schema.Literal("none", "realistic", "harsh", "outage", "scaling-up")

/** @internal */
export type PresetName = Schema.Schema.Type<typeof PresetName>

/** @internal */
export const presetNames: ReadonlyArray<PresetName> = PresetName.literals

/** @internal */
export const RateLimit = Schema.Struct({
  limit: positiveInt("a number of requests"),
  windowSeconds: positiveNumber("a number of seconds")
}).annotations({ message: () => "must be null (no limit) or an object { limit, windowSeconds }" })

/** @internal */
export type RateLimit = Schema.Schema.Type<typeof RateLimit>

/** @internal */
export const ClientSchema = Schema.Struct({
  clientId: Schema.String.pipe(
    Schema.filter((s) => s.length >= 1 && s.length <= 255, {
      message: () => "must be a string of 1 to 255 characters"
    })
  ),
  clientSecret: Schema.Redacted(
    Schema.String.pipe(
      Schema.filter((s) => s.length >= 1 && s.length <= 255, {
        message: () => "must be a string of 1 to 255 characters"
      })
    )
  ),
  roles: Schema.Array(ScopeToken)
})

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
  requestLimit: Schema.optionalWith(Schema.NullOr(RateLimit), { default: () => null, exact: true })
})

const Host = Schema.String.pipe(
  Schema.filter((s) => s.length > 0 && !/\s/.test(s), { message: () => "must be a host name or IP address" })
)

const SandboxConfigStruct = Schema.Struct({
  preset: Schema.optionalWith(PresetName, { default: () => "none" as const, exact: true }),
  host: Schema.optionalWith(Host, { default: () => "127.0.0.1", exact: true }),
  port: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => Number.isInteger(n) && n >= 0 && n <= 65535, {
        message: (issue) => `must be a TCP port between 0 and 65535 (0: any free port), got ${String(issue.actual)}`
      })
    ),
    { default: () => 0, exact: true }
  ),
  seed: Schema.optionalWith(
    Schema.Number.pipe(
      Schema.filter((n) => Number.isSafeInteger(n), {
        message: (issue) => `must be an integer, got ${String(issue.actual)}`
      })
    ),
    { default: () => 1, exact: true }
  ),
  clients: Schema.optionalWith(Schema.NonEmptyArray(ClientSchema), {
    default: () => Schema.decodeSync(Schema.NonEmptyArray(ClientSchema))(demoClients as any),
    exact: true
  }),
  tokens: Schema.optionalWith(TokensSchema, { default: defaults(TokensSchema), exact: true }),
  quota: Schema.optionalWith(Schema.NullOr(RateLimit), { default: () => null, exact: true }),
  retryAfterFormat: Schema.optionalWith(Schema.Literal("delta-seconds", "http-date"), {
    default: () => "delta-seconds" as const,
    exact: true
  }),
  rateLimitHeaders: Schema.optionalWith(Schema.Boolean, { default: () => false, exact: true }),
  maxBodyBytes: Schema.optionalWith(positiveInt("a number of bytes"), { default: () => 1024 * 1024, exact: true }),
  defaultPageSize: Schema.optionalWith(positiveInt("a number of items"), { default: () => 100, exact: true }),
  maxPageSize: Schema.optionalWith(positiveInt("a number of items"), { default: () => 500, exact: true }),
  idempotencyKeyTtlSeconds: Schema.optionalWith(positiveInt("a number of seconds"), {
    default: () => 86400,
    exact: true
  }),
  faults: Schema.optionalWith(FaultsSchema, { default: defaults(FaultsSchema), exact: true })
})

/** @internal */
export const SandboxConfigSchema = SandboxConfigStruct.pipe(
  Schema.filter((config) => {
    const issues: Array<Schema.FilterIssue> = []
    const seen = new Set<string>()
    config.clients.forEach((client, i) => {
      if (seen.has(client.clientId)) {
        issues.push({ path: ["clients", i, "clientId"], message: `duplicates the client id "${client.clientId}"` })
      }
      seen.add(client.clientId)
    })
    if (config.defaultPageSize > config.maxPageSize) {
      issues.push({
        path: ["defaultPageSize"],
        message: `must be <= maxPageSize (${config.maxPageSize}), got ${config.defaultPageSize}`
      })
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
export type Policy = Pick<SandboxConfig, "tokens" | "quota" | "retryAfterFormat" | "rateLimitHeaders" | "faults">

type PolicyInput = Pick<SandboxConfigInput, "tokens" | "quota" | "retryAfterFormat" | "rateLimitHeaders" | "faults">

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
    faults: {}
  },
  realistic: {
    tokens: { lifetimeSeconds: 300, requestLimit: { limit: 10, windowSeconds: 60 } },
    quota: { limit: 50, windowSeconds: 1 },
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: true,
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
    faults: {
      windows: [{ kind: "outage", startAfterSeconds: 5, durationSeconds: 20, probability: 1, retryAfterSeconds: 5 }]
    }
  },
  "scaling-up": {
    tokens: { lifetimeSeconds: 3600, requestLimit: null },
    quota: null,
    retryAfterFormat: "delta-seconds",
    rateLimitHeaders: false,
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
  }
}

const PolicySchema = SandboxConfigStruct.pipe(
  Schema.pick("tokens", "quota", "retryAfterFormat", "rateLimitHeaders", "faults")
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

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out === "" ? "(config)" : out
}

const LITERAL_MISMATCH = /^Expected ("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false), actual (.*)$/s
const NULLISH_MISMATCH = /^Expected (?:null|undefined), actual /

/**
 * Turns schema issues into `{ path, message }`: one message per setting (the members of a union of literals
 * become "must be one of ..."; the "or null" branch of a nullable setting is dropped when the other branch
 * explains the problem), never quoting a client secret.
 *
 * @internal
 */
export const issuesOf = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []) => {
  const raw = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    tag: issue._tag,
    path: [...prefix, ...issue.path],
    key: formatPath([...prefix, ...issue.path]),
    message: issue.message
  }))
  const kept = raw.filter((issue) =>
    !NULLISH_MISMATCH.test(issue.message) ||
    !raw.some((other) => other !== issue && (other.key === issue.key || other.key.startsWith(`${issue.key}.`)))
  )
  const out: Array<ConfigIssue> = []
  const literals = new Map<string, { readonly index: number; readonly expected: Array<string>; actual: string }>()
  for (const issue of kept) {
    const last = issue.path[issue.path.length - 1]
    let message = issue.message
    if (issue.tag === "Missing") message = "is required"
    else if (issue.tag === "Unexpected") message = "is not a known setting (check its spelling)"
    else if (last === "clientSecret") message = "must be a string of 1 to 255 characters"
    const literal = issue.tag === "Type" ? LITERAL_MISMATCH.exec(message) : null
    if (literal !== null) {
      const group = literals.get(issue.key)
      if (group !== undefined) {
        group.expected.push(literal[1]!)
        continue
      }
      literals.set(issue.key, { index: out.length, expected: [literal[1]!], actual: literal[2]! })
    }
    if (!out.some((o) => o.path === issue.key && o.message === message)) out.push({ path: issue.key, message })
  }
  for (const [key, group] of literals) {
    out[group.index] = {
      path: key,
      message: group.expected.length === 1
        ? `must be ${group.expected[0]}, got ${group.actual}`
        : `must be one of ${group.expected.join(", ")}, got ${group.actual}`
    }
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

/** @internal */
export const decode = (input: unknown): Either.Either<SandboxConfig, ReadonlyArray<ConfigIssue>> => {
  if (input !== undefined && !Predicate.isRecord(input)) {
    return Either.left([{ path: "(config)", message: "must be an object" }])
  }
  return Either.mapLeft(decodeConfig(withPreset(input ?? {})), (error) => issuesOf(error))
}

/** @internal */
export const decodeFaultsInput = (input: unknown): Either.Either<Faults, ReadonlyArray<ConfigIssue>> =>
  Either.mapLeft(decodeFaults(input), (error) => issuesOf(error, ["faults"]))
