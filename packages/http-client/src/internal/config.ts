import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Hedging from "./hedging.js"
import * as Route from "./route.js"

/** Accepts what `Duration.decode` accepts ("5 seconds", 5000 millis, a Duration) and validates it. */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      // Effect reads a negative number as zero: -5 would become a timeout that fires at once.
      (typeof input === "number" && input < 0) || (typeof input === "string" && /^\s*-/.test(input))
        ? ParseResult.fail(new ParseResult.Type(ast, input, "a finite, non-negative duration"))
        : Option.match(Duration.decodeUnknown(input), {
          onNone: () =>
            ParseResult.fail(
              new ParseResult.Type(
                ast,
                input,
                "a duration such as \"5 seconds\", \"200 millis\" or a number of milliseconds"
              )
            ),
          onSome: (duration) =>
            Duration.isFinite(duration) && Duration.toMillis(duration) >= 0
              ? ParseResult.succeed(duration)
              : ParseResult.fail(new ParseResult.Type(ast, input, "a finite, non-negative duration"))
        }),
    encode: (duration) => ParseResult.succeed(duration)
  }
).annotations({ identifier: "DurationInput" })

const HttpUrl = Schema.String.pipe(
  Schema.filter((value) => {
    try {
      const url = new URL(value)
      return url.protocol === "http:" || url.protocol === "https:" ? undefined : "must use http: or https:"
    } catch {
      return "must be an absolute URL, e.g. https://api.example.com/v1"
    }
  })
).annotations({ identifier: "HttpUrl" })

const Positive = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/** An API that takes no credentials: said out loud, so a forgotten `auth` is a config error, not silence. */
const NoAuth = Schema.Literal("none")

/** A static bearer token (an API key issued as a bearer token, a token from elsewhere). */
const StaticTokenAuth = Schema.Struct({
  token: Schema.RedactedFromSelf(Schema.String)
}).annotations({ identifier: "StaticTokenAuth" })

const Ratio = Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))

/** OAuth2 client credentials (RFC 6749 §4.4) and the refresh policy of the token they fetch. */
const ClientCredentialsAuth = Schema.Struct({
  tokenUrl: HttpUrl,
  clientId: Schema.String.pipe(Schema.minLength(1)),
  clientSecret: Schema.RedactedFromSelf(Schema.String),
  scope: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  audience: Schema.optional(Schema.String),
  method: Schema.optionalWith(Schema.Literal("basic", "body"), { default: () => "basic" as const }),
  eager: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Lifetime assumed when the token response has no `expires_in`. */
  defaultExpiresIn: Schema.optional(DurationInput),
  /** How long one token request may take. */
  timeout: Schema.optional(DurationInput),
  /** More form fields for the token request (`resource`, say). */
  extraParams: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  refresh: Schema.optional(Schema.Struct({
    /** Refresh in the background at this fraction of the lifetime. */
    ratio: Schema.optional(Ratio),
    /** Spread of the refresh point, as a fraction of the lifetime (so replicas do not refresh together). */
    jitter: Schema.optional(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(0.5))),
    /** Refresh at least this long before expiry (long-lived tokens). */
    beforeExpiry: Schema.optional(DurationInput),
    /** Stop handing a token out this long before it expires. */
    expiryMargin: Schema.optional(DurationInput),
    /** Never start two token requests closer together than this. */
    minInterval: Schema.optional(DurationInput)
  }))
}).annotations({ identifier: "ClientCredentialsAuth" })

/** @internal */
export const RetrySettings = Schema.Struct({
  /** Retries of transient failures (5xx, timeouts, network errors) per call. */
  maxRetries: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 20)), { default: () => 3 }),
  /** Waits for a `Retry-After` (429, or 503 with `Retry-After`) per call, counted apart from `maxRetries`. */
  maxRateLimitRetries: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 100)), { default: () => 10 }),
  base: Schema.optionalWith(DurationInput, { default: () => Duration.millis(200) }),
  cap: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(10) }),
  jitter: Schema.optionalWith(Schema.Literal("none", "full", "equal", "decorrelated"), {
    default: () => "full" as const
  }),
  maxRetryAfter: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(60) })
}).annotations({ identifier: "RetrySettings" })

const TrafficSettings = Schema.Struct({
  /** Calls that may wait in one origin's queue; one more is refused at once with `RateLimited`. */
  maxQueue: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1_000_000)), { default: () => 10_000 }),
  /** The share of a learned or advertised rate that is used. */
  headroom: Schema.optionalWith(Schema.Number.pipe(Schema.between(0.5, 1)), { default: () => 0.98 }),
  /** The share of an advertised quota never spent, so `remaining` does not reach 0. */
  reserve: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.5)), { default: () => 0.015 }),
  /** A ceiling set by hand: at most `limit` requests per `interval` to each origin. */
  maxRate: Schema.optional(Schema.Struct({
    limit: Schema.Int.pipe(Schema.positive()),
    interval: DurationInput
  }))
}).annotations({ identifier: "TrafficSettings" })

const RedirectSettings = Schema.Struct({
  /** How many redirects one attempt follows. */
  max: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 20)), { default: () => 5 }),
  /**
   * A redirect to another origin: `"fail"` with an `InvalidResponse` saying where it pointed, or follow it
   * without the token and without any header the redactor counts as secret.
   */
  crossOrigin: Schema.optionalWith(Schema.Literal("fail", "follow-without-credentials"), {
    default: () => "fail" as const
  })
}).annotations({ identifier: "RedirectSettings" })

const PercentileDelay = Schema.String.pipe(
  Schema.filter((text) =>
    Hedging.parsePercentile(text) !== undefined ||
    "must be a duration such as \"200 millis\", or a percentile of the route's latencies such as \"p95\""
  )
)

/** Hedged reads of one route. @internal */
export const HedgingSettings = Schema.Struct({
  /** A fixed delay, or a percentile of the route's recent attempt latencies (`"p95"`). */
  delay: Schema.optionalWith(Schema.Union(DurationInput, PercentileDelay), { default: () => "p95" }),
  /** Hedges per call at most. */
  maxHedges: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3)), { default: () => 1 }),
  /** With a percentile delay: never hedge sooner than this. */
  minDelay: Schema.optionalWith(DurationInput, { default: () => Duration.millis(20) }),
  /** With a percentile delay: the delay until the route has shown enough latencies (20). */
  initialDelay: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(1) })
}).annotations({ identifier: "HedgingSettings" })

const RetryOverride = Schema.Struct({
  maxRetries: Schema.optional(Schema.Int.pipe(Schema.between(0, 20))),
  maxRateLimitRetries: Schema.optional(Schema.Int.pipe(Schema.between(0, 100))),
  base: Schema.optional(DurationInput),
  cap: Schema.optional(DurationInput),
  jitter: Schema.optional(Schema.Literal("none", "full", "equal", "decorrelated")),
  maxRetryAfter: Schema.optional(DurationInput)
}).annotations({ identifier: "RetryOverride" })

const RoutePattern = Schema.String.pipe(
  Schema.filter((text) => {
    const parsed = Route.parse(text)
    return Route.isPattern(parsed) || parsed
  })
)

/** @internal */
export const RuleName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9 ._:/*,-]{0,79}$/, {
    message: () =>
      "must be 1 to 80 letters, digits, spaces or . _ : / * , - (it labels the route's metrics and spans), starting with a letter or digit"
  })
)

/** One route rule: a pattern and the settings it overrides for the requests it matches. @internal */
export const RouteRule = Schema.Struct({
  /** Labels the route in metrics and spans; the pattern when left out. */
  name: Schema.optional(RuleName),
  /** `GET /reports/**`: methods and a path relative to the base URL. */
  match: RoutePattern,
  attemptTimeout: Schema.optional(DurationInput),
  deadline: Schema.optional(DurationInput),
  /** `false`: no retries for this route (one request per call, plus the replay after a 401). */
  retry: Schema.optional(Schema.Union(Schema.Literal(false), RetryOverride)),
  idempotency: Schema.optional(Schema.Struct({ autoKey: Schema.optional(Schema.Boolean) })),
  /** How long one call of this route may wait in its origin's queue (a quota, a Retry-After) before failing fast. */
  traffic: Schema.optional(Schema.Struct({ maxWait: Schema.optional(DurationInput) })),
  /** `false`: the per-attempt plugins (the circuit breaker) leave this route alone. */
  breaker: Schema.optional(Schema.Boolean),
  hedging: Schema.optional(Schema.Union(Schema.Literal(false), HedgingSettings))
}).annotations({ identifier: "RouteRule" })

/** A rule's label: its name, or its pattern as written. @internal */
export const labelOf = (rule: { readonly name?: string | undefined; readonly match: string }): string =>
  rule.name ?? rule.match.trim()

/** Ordered route rules; each label once (it names the route's metrics and spans). @internal */
export const RouteRules = Schema.Array(RouteRule).pipe(
  Schema.filter((rules) => {
    const seen = new Map<string, number>()
    const issues: Array<Schema.FilterIssue> = []
    rules.forEach((rule, index) => {
      const label = labelOf(rule)
      const earlier = seen.get(label)
      if (earlier === undefined) seen.set(label, index)
      else {
        issues.push({
          path: [index, "name"],
          message: `repeats the label of routes.${earlier}: give each rule its own name (it labels metrics and spans)`
        })
      }
    })
    return issues
  })
)

/** @internal */
export const ClientConfigSchema = Schema.Struct({
  baseUrl: HttpUrl,
  auth: Schema.optional(Schema.Union(NoAuth, StaticTokenAuth, ClientCredentialsAuth)),
  attemptTimeout: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(10) }),
  deadline: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(30) }),
  retry: Schema.optionalWith(Schema.Union(Schema.Literal(false), RetrySettings), {
    default: () => RetrySettings.make({})
  }),
  budget: Schema.optionalWith(
    Schema.Union(
      Schema.Literal(false),
      Schema.Struct({
        capacity: Schema.optional(Positive),
        retryCost: Schema.optional(Positive),
        timeoutCost: Schema.optional(Positive),
        successRefill: Schema.optional(Positive)
      })
    ),
    { default: () => ({}) }
  ),
  traffic: Schema.optionalWith(Schema.Union(Schema.Literal(false), TrafficSettings), {
    default: () => TrafficSettings.make({})
  }),
  /** @deprecated `traffic: false` turns the controller off; this alias is kept for 0.x configs. */
  rateLimitGate: Schema.optional(Schema.Boolean),
  rateLimit: Schema.optional(
    Schema.Struct({
      limit: Schema.Int.pipe(Schema.positive()),
      interval: DurationInput
    })
  ),
  idempotency: Schema.optionalWith(
    Schema.Struct({
      autoKey: Schema.optionalWith(Schema.Boolean, { default: () => true }),
      header: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9-]+$/)), {
        default: () => "Idempotency-Key"
      })
    }),
    { default: () => ({ autoKey: true, header: "Idempotency-Key" }) }
  ),
  redirects: Schema.optionalWith(Schema.Union(Schema.Literal(false), RedirectSettings), {
    default: () => RedirectSettings.make({})
  }),
  /** Ordered route rules (first match wins) overriding the settings above for the requests they match. */
  routes: Schema.optionalWith(RouteRules, { default: () => [] }),
  bufferBody: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  userAgent: Schema.optional(Schema.String),
  redaction: Schema.optional(
    Schema.Struct({
      headers: Schema.optional(Schema.Array(Schema.String)),
      queryParams: Schema.optional(Schema.Array(Schema.String))
    })
  )
}).annotations({ identifier: "ClientConfig" })

/** @internal */
export class ConfigError extends Schema.TaggedError<ConfigError>("@bulwark/http-client/ConfigError")("ConfigError", {
  issues: Schema.Array(Schema.Struct({ path: Schema.String, problem: Schema.String }))
}) {
  override get message(): string {
    return `Invalid @bulwark/http-client configuration: ${
      this.issues.map((issue) => `${issue.path}: ${issue.problem}`).join("; ")
    }.`
  }
}

/** @internal */
export type Issue = { readonly path: string; readonly problem: string }

/**
 * One issue per bad field. A field that is "a literal or an object" (`retry: false | {...}`) fails both
 * alternatives of its union: when the object alternative has issues of its own further down, the literal's
 * "Expected false" is noise and is dropped; alternatives that fail at the same place are joined with "or".
 */
export const formatIssues = (error: ParseResult.ParseError): Array<Issue> => {
  const raw = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.length === 0 ? "(config)" : issue.path.join("."),
    // Never echo the offending value: it may be a secret put in the wrong field.
    problem: issue._tag === "Missing" ? "is required" : issue.message.replace(/,? ?actual[\s\S]*$/, "")
  }))
  const deeper = (path: string) => raw.some((other) => other.path.startsWith(`${path}.`))
  const byPath = new Map<string, Array<string>>()
  for (const issue of raw) {
    if (issue.problem.startsWith("Expected ") && deeper(issue.path)) continue
    const problems = byPath.get(issue.path) ?? []
    if (!problems.includes(issue.problem)) problems.push(issue.problem)
    byPath.set(issue.path, problems)
  }
  return Array.from(byPath, ([path, problems]) => ({
    path,
    problem: problems.length === 1 ? problems[0]! : problems.join(" or ")
  }))
}

/**
 * The union member a field's value is meant for, chosen by its shape, so that a mistake inside one
 * alternative is reported against that alternative alone (not as "Expected \"none\"" beside it).
 */
const authMember = (auth: unknown) =>
  auth === "none" || typeof auth !== "object" || auth === null
    ? undefined
    : "token" in auth
    ? StaticTokenAuth
    : ClientCredentialsAuth

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const

/** @internal */
export const decodeConfig = (input: unknown) =>
  Schema.decodeUnknown(ClientConfigSchema, decodeOptions)(input).pipe(
    Effect.mapError((error) => {
      let issues = formatIssues(error)
      const auth = typeof input === "object" && input !== null ? (input as { auth?: unknown }).auth : undefined
      const member = authMember(auth)
      if (member !== undefined && issues.some((issue) => issue.path === "auth" || issue.path.startsWith("auth."))) {
        const decodeMember = Schema.decodeUnknownEither(member as Schema.Schema<unknown>, decodeOptions)
        const memberIssues = Either.match(decodeMember(auth), {
          onLeft: (authError) =>
            formatIssues(authError).map((issue) => ({
              path: issue.path === "(config)" ? "auth" : `auth.${issue.path}`,
              problem: issue.problem
            })),
          onRight: () => []
        })
        issues = [
          ...issues.filter((issue) => issue.path !== "auth" && !issue.path.startsWith("auth.")),
          ...memberIssues
        ]
      }
      return new ConfigError({ issues })
    })
  )
