import { RetryBudget } from "@bulwark/retry-schedules"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { RouteRule } from "./config.js"
import { ClientConfigSchema, DurationInput, formatIssues, labelOf as ruleLabel, RuleName } from "./config.js"
import * as Route from "./route.js"

// ---------------------------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------------------------

const fields = ClientConfigSchema.fields

/** Where a secret comes from: the name of a key of the `effect` `Config` provider (an environment variable). */
const SecretRef = Schema.Struct({
  config: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z_][A-Za-z0-9_.]*$/, {
      message: () => "must be the name of an environment variable, such as PARTNER_CLIENT_SECRET"
    })
  )
}).annotations({ identifier: "SecretRef" })

/** OAuth2 client credentials, the secret named, not written. */
const ClientCredentials = Schema.Struct({
  tokenUrl: fields.baseUrl,
  clientId: Schema.String.pipe(Schema.minLength(1)),
  clientSecret: Schema.optionalWith(SecretRef, { default: () => ({ config: "BULWARK_CLIENT_SECRET" }) }),
  scope: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  audience: Schema.optional(Schema.String),
  method: Schema.optional(Schema.Literal("basic", "body")),
  eager: Schema.optional(Schema.Boolean),
  defaultExpiresIn: Schema.optional(DurationInput),
  timeout: Schema.optional(DurationInput),
  extraParams: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  refresh: Schema.optional(Schema.Struct({
    ratio: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))),
    jitter: Schema.optional(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(0.5))),
    beforeExpiry: Schema.optional(DurationInput),
    expiryMargin: Schema.optional(DurationInput),
    minInterval: Schema.optional(DurationInput)
  }))
}).annotations({ identifier: "ClientCredentials" })

/** A static bearer token, named, not written. */
const StaticToken = Schema.Struct({ token: SecretRef }).annotations({ identifier: "StaticToken" })

const Auth = Schema.Union(Schema.Literal("none"), StaticToken, ClientCredentials)

/** The data settings of `@bulwark/circuit-breaker` (the document names them; whoever adds the breaker applies them). */
const BreakerSettings = Schema.Struct({
  failureRatio: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1))),
  minimumThroughput: Schema.optional(Schema.Int.pipe(Schema.positive())),
  window: Schema.optional(DurationInput),
  buckets: Schema.optional(Schema.Int.pipe(Schema.between(1, 1_000))),
  breakDuration: Schema.optional(DurationInput),
  maxBreakDuration: Schema.optional(DurationInput),
  breakMultiplier: Schema.optional(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1))),
  halfOpenProbes: Schema.optional(Schema.Int.pipe(Schema.positive())),
  maxRetryAfter: Schema.optional(DurationInput)
}).annotations({ identifier: "BreakerSettings" })

/** @internal */
export const PolicySchema = Schema.Struct({
  /** The JSON Schema of the file, for editors; ignored. */
  $schema: Schema.optional(Schema.String),
  baseUrl: Schema.optional(fields.baseUrl),
  auth: Schema.optional(Auth),
  attemptTimeout: fields.attemptTimeout,
  deadline: fields.deadline,
  retry: fields.retry,
  budget: fields.budget,
  traffic: fields.traffic,
  idempotency: fields.idempotency,
  redirects: fields.redirects,
  bufferBody: fields.bufferBody,
  userAgent: fields.userAgent,
  redaction: fields.redaction,
  breaker: Schema.optionalWith(Schema.Union(Schema.Boolean, BreakerSettings), { default: () => false }),
  routes: fields.routes
}).annotations({ identifier: "Policy" })

/** @internal */
export type Document = Schema.Schema.Type<typeof PolicySchema>

/** @internal */
export type DocumentInput = Schema.Schema.Encoded<typeof PolicySchema>

/** @internal */
export type RuleSettings = Schema.Schema.Type<typeof RouteRule>

/** @internal */
export interface Rule extends RuleSettings {
  /** The rule's label: its `name`, or its pattern. */
  readonly label: string
  readonly pattern: Route.Pattern
}

/** @internal */
export interface Policy {
  /** The file it came from (or "inline"). */
  readonly source: string
  /** The document as written: what `check` compares with the defaults to say where each value came from. */
  readonly written: DocumentInput
  /** The document with every default filled in. */
  readonly document: Document
  /** The route rules, in order, with their compiled patterns. */
  readonly rules: ReadonlyArray<Rule>
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** @internal */
export class PolicyError extends Schema.TaggedError<PolicyError>("@bulwark/http-client/PolicyError")("PolicyError", {
  source: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, problem: Schema.String }))
}) {
  override get message(): string {
    const n = this.issues.length
    return `Invalid Bulwark policy (${this.source}), ${n} problem${n === 1 ? "" : "s"}: ${
      this.issues.map((issue) => `${issue.path}: ${issue.problem}`).join("; ")
    }. Fix each field named (no value from the policy is repeated here).`
  }
}

const SECRET_KEY = /secret|passw|pwd|token|api[-_]?key|authorization|cookie|credential|private[-_]?key|assertion/i
const SECRET_HELP =
  "holds a secret: a policy file is shipped to every service and never carries one. Name the environment variable instead ({ \"config\": \"PARTNER_CLIENT_SECRET\" }) and set it in each service's environment"

/**
 * Secrets written in the document: an `auth.clientSecret` or `auth.token` given as a value rather than as
 * `{ "config": NAME }`, or any other field whose name says it holds a secret (`extraParams.client_assertion`,
 * a `password` anywhere). Walks at most 32 levels and each object once.
 */
const secretsIn = (input: unknown): Array<{ path: string; problem: string }> => {
  const found: Array<{ path: string; problem: string }> = []
  const seen = new Set<object>()
  const walk = (value: unknown, path: ReadonlyArray<string>, depth: number) => {
    if (typeof value !== "object" || value === null || depth > 32 || seen.has(value)) return
    seen.add(value)
    for (const [key, child] of Object.entries(value)) {
      const at = [...path, key]
      const joined = at.join(".")
      const isRef = typeof child === "object" && child !== null && !Array.isArray(child) &&
        Object.keys(child).length === 1 && "config" in child
      if (joined === "auth.clientSecret" || joined === "auth.token") {
        if (!isRef && child !== undefined) found.push({ path: joined, problem: SECRET_HELP })
        continue
      }
      // A field named for a URL (`tokenUrl`, wherever it stands) holds an address, not a credential: the word
      // "token" in its name says what it points at. `redaction` lists names, never values.
      if (/url$/i.test(key) || path[0] === "redaction") continue
      if (SECRET_KEY.test(key) && (typeof child === "string" || typeof child === "number")) {
        found.push({ path: joined, problem: SECRET_HELP })
        continue
      }
      walk(child, at, depth + 1)
    }
  }
  walk(input, [], 0)
  return found
}

/** `routes.2.retry` becomes `routes.2 ("reports").retry`: the rule by its place and its name. */
const nameRules = (input: unknown, issues: ReadonlyArray<{ path: string; problem: string }>) => {
  const routes = typeof input === "object" && input !== null ? (input as { routes?: unknown }).routes : undefined
  if (!Array.isArray(routes)) return issues
  return issues.map((issue) => {
    const match = /^routes\.(\d+)(\.|$)/.exec(issue.path)
    if (match === null) return issue
    const rule = routes[Number(match[1])] as { name?: unknown; match?: unknown } | undefined
    const label = labelOf(rule)
    return label === undefined
      ? issue
      : {
        path: `routes.${match[1]} (${label})${issue.path.slice(match[0].length - match[2]!.length)}`,
        problem: issue.problem
      }
  })
}

/** A rule's label, when it is a valid name or pattern (never an arbitrary value from the file). */
const labelOf = (rule: { name?: unknown; match?: unknown } | undefined): string | undefined => {
  if (typeof rule !== "object" || rule === null) return undefined
  if (typeof rule.name === "string" && Either.isRight(Schema.decodeUnknownEither(RuleName)(rule.name))) {
    return JSON.stringify(rule.name)
  }
  if (typeof rule.match === "string" && rule.match.length <= 80) {
    const parsed = Route.parse(rule.match)
    if (Route.isPattern(parsed) && /^[A-Za-z0-9 ._:/*,-]+$/.test(parsed.source)) return JSON.stringify(parsed.source)
  }
  return undefined
}

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const
const decodeDocument = Schema.decodeUnknownEither(PolicySchema, decodeOptions)

/**
 * Decodes a policy document: every problem at once, each naming its field (and its rule), none repeating a
 * value. Never throws.
 *
 * @internal
 */
export const decodeEither = (input: unknown, source = "inline"): Either.Either<Policy, PolicyError> => {
  const secrets = secretsIn(input)
  const decoded = decodeDocument(input)
  const issues: Array<{ path: string; problem: string }> = [...secrets]
  if (Either.isLeft(decoded)) {
    const covered = (path: string) => secrets.some((s) => path === s.path || path.startsWith(`${s.path}.`))
    // The auth union's other members add noise ("Expected \"none\"") beside a field that is already named.
    issues.push(...issuesOf(decoded.left, input).filter((issue) => !covered(issue.path)))
  }
  let policy: Policy | undefined
  if (Either.isRight(decoded)) {
    const document = decoded.right
    const rules: Array<Rule> = document.routes.map((rule) => ({
      ...rule,
      label: ruleLabel(rule),
      pattern: Route.parse(rule.match) as Route.Pattern
    }))
    policy = { source, written: input as DocumentInput, document, rules }
  }
  if (issues.length > 0) return Either.left(new PolicyError({ source, issues: nameRules(input, issues) }))
  return Either.right(policy!)
}

const issuesOf = (error: ParseResult.ParseError, input: unknown) => {
  let issues = formatIssues(error).map((issue) => ({
    path: issue.path === "(config)" ? "(policy)" : issue.path === "" ? "(a key that is empty)" : issue.path,
    // An optional field that is present is also checked against `undefined`: that alternative says nothing.
    problem: issue.problem.replace(/ or Expected undefined/g, "").replace(/^Expected undefined or /, "")
  }))
  // A mistake inside one member of `auth` is reported against that member alone, not beside "Expected \"none\"".
  const auth = typeof input === "object" && input !== null ? (input as { auth?: unknown }).auth : undefined
  if (typeof auth === "object" && auth !== null && issues.some((issue) => issue.path.startsWith("auth"))) {
    const member: Schema.Schema<unknown> = ("token" in auth ? StaticToken : ClientCredentials) as never
    const own = Either.match(Schema.decodeUnknownEither(member, decodeOptions)(auth), {
      onLeft: (error) =>
        formatIssues(error).map((issue) => ({
          path: issue.path === "(config)" ? "auth" : `auth.${issue.path}`,
          problem: issue.problem
        })),
      onRight: () => []
    })
    issues = [...issues.filter((issue) => issue.path !== "auth" && !issue.path.startsWith("auth.")), ...own]
  }
  return issues
}

/** @internal */
export const decode = (input: unknown, source?: string): Effect.Effect<Policy, PolicyError> =>
  Effect.suspend(() => decodeEither(input, source))

/**
 * A JSON document: a syntax error gives its line and column, never a quote of the text.
 *
 * @internal
 */
export const parseJson = (text: string, source = "inline"): Effect.Effect<Policy, PolicyError> =>
  Effect.suspend(() => {
    let input: unknown
    try {
      input = JSON.parse(text)
    } catch (error) {
      return Effect.fail(
        new PolicyError({
          source,
          issues: [{ path: "(file)", problem: `is not valid JSON (${syntaxPosition(text, error)})` }]
        })
      )
    }
    return decodeEither(input, source)
  })

const syntaxPosition = (text: string, error: unknown): string => {
  const message = error instanceof Error ? error.message : ""
  const at = /position (\d+)/.exec(message)
  if (at === null) return text.trim() === "" ? "the file is empty" : "a syntax error"
  const offset = Number(at[1])
  const before = text.slice(0, offset)
  const line = before.split("\n").length
  const column = offset - before.lastIndexOf("\n")
  return `a syntax error at line ${line}, column ${column}`
}

/** @internal */
export const load = (path: string): Effect.Effect<Policy, PolicyError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readFileString(path).pipe(
      Effect.mapError((error) =>
        new PolicyError({
          source: path,
          issues: [{
            path: "(file)",
            problem: `cannot be read (${error._tag === "SystemError" ? error.reason : error._tag}): check the path`
          }]
        })
      ),
      Effect.flatMap((text) => parseJson(text, path))
    ))

// ---------------------------------------------------------------------------------------------------------------
// From a policy to a client config
// ---------------------------------------------------------------------------------------------------------------

/** Reads the secret a document names from the current `ConfigProvider`, as a `Redacted`. */
const secret = (source: string, path: string, ref: { readonly config: string }) =>
  Config.redacted(ref.config).pipe(
    Effect.mapError((error) =>
      new PolicyError({
        source,
        issues: [{
          path,
          problem: ConfigError.isMissingDataOnly(error)
            ? `names ${ref.config}, which is not set: set it in the environment (or the Config provider)`
            : `names ${ref.config}, which cannot be read as a secret`
        }]
      })
    )
  )

/** @internal */
export interface ClientOptions {
  /** The base URL when the policy has none (or to point one policy at another host, e.g. a sandbox). */
  readonly baseUrl?: string | undefined
  /** The auth to use instead of the policy's (a sandbox's client, a test token): the policy's secrets are not read. */
  readonly auth?: unknown
}

/**
 * The `ApiClient` config a policy describes, with its secrets read from the current `ConfigProvider`.
 *
 * @internal
 */
export const clientConfig = (policy: Policy, options?: ClientOptions) =>
  Effect.gen(function*() {
    const { $schema: _schema, auth, baseUrl, breaker: _breaker, ...rest } = policy.written
    const url = options?.baseUrl ?? baseUrl
    if (url === undefined) {
      return yield* new PolicyError({
        source: policy.source,
        issues: [{
          path: "baseUrl",
          problem: "is required: write it in the policy, or give it where the policy is loaded"
        }]
      })
    }
    const decodedAuth = options?.auth === undefined ? policy.document.auth : undefined
    let resolved: unknown = options?.auth
    if (decodedAuth === "none") resolved = "none"
    else if (decodedAuth !== undefined && "token" in decodedAuth) {
      resolved = { token: yield* secret(policy.source, "auth.token", decodedAuth.token) }
    } else if (decodedAuth !== undefined) {
      const written = auth as Record<string, unknown>
      resolved = {
        ...written,
        clientSecret: yield* secret(policy.source, "auth.clientSecret", decodedAuth.clientSecret)
      }
    }
    return {
      ...rest,
      baseUrl: url,
      ...(resolved === undefined ? {} : { auth: resolved })
    } as Record<string, unknown> & { readonly baseUrl: string }
  })

// ---------------------------------------------------------------------------------------------------------------
// The effective policy, per route, with where each value came from
// ---------------------------------------------------------------------------------------------------------------

/** @internal */
export interface Setting {
  readonly key: string
  readonly value: string
  /** `"default"` (Bulwark's), `"policy"` (the document's top level) or `rule "<label>"`. */
  readonly from: string
}

/** @internal */
export interface EffectiveRoute {
  /** The rule's label; `(other requests)` for the requests no rule matches. */
  readonly label: string
  readonly match: string | undefined
  readonly settings: ReadonlyArray<Setting>
}

/** @internal */
export interface Effective {
  /** Settings of the whole client (one per origin): auth, budget, traffic controller, redirects. */
  readonly client: ReadonlyArray<Setting>
  readonly routes: ReadonlyArray<EffectiveRoute>
  /** Rules that can never match (an earlier rule matches every request they would). */
  readonly warnings: ReadonlyArray<string>
}

const show = (value: unknown): string => {
  if (Duration.isDuration(value)) return Duration.format(value)
  if (typeof value === "string") return value
  if (value === undefined) return "-"
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    return entries.length === 0 ? "on" : entries.map(([k, v]) => `${k} ${show(v)}`).join(", ")
  }
  return JSON.stringify(value)
}

const has = (object: unknown, ...path: ReadonlyArray<string>): boolean => {
  let at: unknown = object
  for (const key of path) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return false
    at = (at as Record<string, unknown>)[key]
  }
  return at !== undefined
}

let builtIn: Document | undefined
const defaultsOf = (): Document => builtIn ??= Schema.decodeUnknownSync(PolicySchema)({})

/** Whether rule `a` matches every request rule `b` matches. */
const covers = (a: Route.Pattern, b: Route.Pattern): boolean => {
  if (a.methods !== undefined && (b.methods === undefined || !b.methods.every((m) => a.methods!.includes(m)))) {
    return false
  }
  if (a.rest ? b.segments.length < a.segments.length : b.rest || b.segments.length !== a.segments.length) return false
  return a.segments.every((segment, i) => segment === "*" || segment === b.segments[i])
}

/** @internal */
export const effective = (policy: Policy): Effective => {
  const doc = policy.document
  const written = policy.written
  const fromTop = (...path: ReadonlyArray<string>) => has(written, ...path) ? "policy" : "default"
  const client: Array<Setting> = [
    { key: "baseUrl", value: show(doc.baseUrl ?? "(given by the service)"), from: fromTop("baseUrl") },
    {
      key: "auth",
      value: doc.auth === undefined
        ? "(given by the service)"
        : doc.auth === "none"
        ? "none"
        : "token" in doc.auth
        ? `static token from ${doc.auth.token.config}`
        : `client credentials, secret from ${doc.auth.clientSecret.config}`,
      from: fromTop("auth")
    },
    {
      key: "budget",
      value: doc.budget === false || doc.retry === false
        ? "off"
        : show({ ...RetryBudget.defaults, ...doc.budget }),
      from: fromTop("budget")
    },
    { key: "traffic", value: show(doc.traffic), from: fromTop("traffic") },
    { key: "idempotency.header", value: doc.idempotency.header, from: fromTop("idempotency", "header") },
    { key: "redirects", value: show(doc.redirects), from: fromTop("redirects") },
    { key: "bufferBody", value: show(doc.bufferBody), from: fromTop("bufferBody") },
    { key: "breaker", value: show(doc.breaker), from: fromTop("breaker") }
  ]
  const perRoute = (rule: Rule | undefined): Array<Setting> => {
    const by = rule === undefined ? undefined : `rule ${JSON.stringify(rule.label)}`
    const pick = <A>(ruleValue: A | undefined, topValue: A, ...path: ReadonlyArray<string>) =>
      by !== undefined && ruleValue !== undefined
        ? { value: show(ruleValue), from: by }
        : { value: show(topValue), from: fromTop(...path) }
    const settings: Array<Setting> = [
      { key: "attemptTimeout", ...pick(rule?.attemptTimeout, doc.attemptTimeout, "attemptTimeout") },
      { key: "deadline", ...pick(rule?.deadline, doc.deadline, "deadline") }
    ]
    if (rule?.retry === false) {
      settings.push({ key: "retry", value: "false", from: by! })
    } else if (rule?.retry === undefined && doc.retry === false) {
      settings.push({ key: "retry", value: "false", from: "policy" })
    } else {
      const top = doc.retry === false ? defaultsOf().retry : doc.retry
      if (top !== false) {
        for (const key of ["maxRetries", "maxRateLimitRetries", "base", "cap", "jitter", "maxRetryAfter"] as const) {
          const ruleValue = rule?.retry === undefined ? undefined : rule.retry[key]
          const picked = pick(ruleValue, top[key], "retry", key)
          settings.push({
            key: `retry.${key}`,
            value: picked.value,
            from: doc.retry === false && picked.from === "policy" ? "default" : picked.from
          })
        }
      }
    }
    settings.push(
      {
        key: "idempotency.autoKey",
        ...pick(rule?.idempotency?.autoKey, doc.idempotency.autoKey, "idempotency", "autoKey")
      },
      {
        key: "traffic.maxWait",
        ...(rule?.traffic?.maxWait !== undefined
          ? { value: show(rule.traffic.maxWait), from: by! }
          : { value: doc.traffic === false ? "(traffic controller off)" : "the call's deadline", from: "default" })
      },
      { key: "breaker", ...pick(rule?.breaker, doc.breaker !== false, "breaker") }
    )
    const hedging = rule?.hedging
    if (hedging === undefined || hedging === false) {
      settings.push({ key: "hedging", value: "off", from: hedging === false ? by! : "default" })
    } else {
      const written = policy.written.routes?.[policy.rules.indexOf(rule!)]?.hedging
      for (const key of ["delay", "maxHedges", "minDelay", "initialDelay"] as const) {
        settings.push({ key: `hedging.${key}`, value: show(hedging[key]), from: has(written, key) ? by! : "default" })
      }
    }
    return settings
  }
  const routes: Array<EffectiveRoute> = policy.rules.map((rule) => ({
    label: rule.label,
    match: rule.pattern.source,
    settings: perRoute(rule)
  }))
  routes.push({ label: "(other requests)", match: undefined, settings: perRoute(undefined) })
  const warnings: Array<string> = []
  policy.rules.forEach((rule, index) => {
    const earlier = policy.rules.findIndex((other, i) => i < index && covers(other.pattern, rule.pattern))
    if (earlier !== -1) {
      warnings.push(
        `routes.${index} (${JSON.stringify(rule.label)}) never matches: routes.${earlier} (${
          JSON.stringify(policy.rules[earlier]!.label)
        }) matches every request it would, and the first match wins; move it above`
      )
    }
  })
  return { client, routes, warnings }
}
