/**
 * The `catalog-sync` command: flags, the embedded sandbox or a real API, the run and the report.
 */
import type { TokenError } from "@bulwark/auth-token"
import { ApiClient, Policy, RateLimitGate } from "@bulwark/http-client"
import { Preset, Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { CliKit } from "@bulwark/sandbox/cli"
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import type { Layer } from "effect"
import { Config, Console, Data, Effect, Option, Random, Redacted } from "effect"
import * as Catalog from "./Catalog.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as Sync from "./Sync.js"

/** A failure that ends the run with a message and an exit code (2: bad input or setup, 1: sync problems). */
export class RunFailed extends Data.TaggedError("RunFailed")<{ readonly message: string; readonly exitCode: number }> {}

const items = CliKit.integer("items", { min: 1, max: 1_000_000 }).pipe(
  Options.withDescription("Generate a catalog of this many items (ignored with --file). Default: 500."),
  Options.withDefault(500)
)
const file = Options.text("file").pipe(
  Options.withPseudoName("catalog.csv"),
  Options.withDescription(
    "Read the catalog from a .json or .csv file (columns sku,name,price[,tags]; tags split by ;)."
  ),
  Options.optional
)
const concurrency = CliKit.integer("concurrency", { min: 1, max: 256 }).pipe(
  Options.withDescription("How many items are created at once. Default: 16."),
  Options.withDefault(16)
)
const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("url"),
  Options.withDescription(
    "The API's base URL (items are at <base-url>/items). Without it, an embedded sandbox is started."
  ),
  Options.optional
)
const tokenUrl = Options.text("token-url").pipe(
  Options.withPseudoName("url"),
  Options.withDescription(
    "The OAuth2 token endpoint; with --base-url. Credentials: BULWARK_CLIENT_ID and BULWARK_CLIENT_SECRET."
  ),
  Options.optional
)
const scope = Options.text("scope").pipe(Options.withDescription("OAuth2 scope to request."), Options.optional)
const preset = CliKit.choice("preset", Preset.names).pipe(
  Options.withDescription("Faults of the embedded sandbox. Default: realistic."),
  Options.withDefault("realistic" as const)
)
const seed = CliKit.integer("seed").pipe(
  Options.withDescription("Seeds the generated catalog and the sandbox's faults. Default: 7."),
  Options.withDefault(7)
)
const attemptTimeout = CliKit.integer("attempt-timeout-ms", { min: 1 }).pipe(
  Options.withDescription(
    "Per-attempt timeout in milliseconds, without --policy (a policy sets its own). Default: 10000."
  ),
  Options.withDefault(10_000)
)
const rate = CliKit.float("rate", { min: 0, unit: "requests per second" }).pipe(
  Options.withDescription(
    "Requests per second the client allows itself (0: no limit). Default: 80% of the embedded sandbox's quota; none for a real API."
  ),
  Options.optional
)
const policy = Options.text("policy").pipe(
  Options.withPseudoName("policy.json"),
  Options.withDescription(
    "A Bulwark policy file (see policy.example.json): the client's settings and route rules. Its baseUrl and auth are used with --base-url (secrets from the environment variables it names); the embedded sandbox keeps its own."
  ),
  Options.optional
)
// Checked before the run starts: a wrong name must not cost a whole sync.
const report = Options.text("report").pipe(
  Options.withPseudoName("report.html"),
  Options.withDescription("Also write the report to this file: .json or .html. May be repeated."),
  Options.repeated,
  Options.mapEffect((paths) => {
    const bad = paths.find((path) => reportFormat(path) === undefined)
    return bad === undefined
      ? Effect.succeed(paths)
      : Effect.fail(CliKit.invalid(`--report ${bad}: use a file name ending in .json or .html`))
  }),
  Options.withDefault([])
)

const reportFormat = (path: string): "json" | "html" | undefined => {
  const lower = path.toLowerCase()
  return lower.endsWith(".json") ? "json" : lower.endsWith(".html") || lower.endsWith(".htm") ? "html" : undefined
}

export interface Flags {
  readonly items: number
  readonly file: Option.Option<string>
  readonly concurrency: number
  readonly baseUrl: Option.Option<string>
  readonly tokenUrl: Option.Option<string>
  readonly scope: Option.Option<string>
  readonly preset: Preset.Name
  readonly seed: number
  readonly attemptTimeoutMs: number
  readonly rate: Option.Option<number>
  readonly report: ReadonlyArray<string>
  /** A policy file: the client's settings and route rules instead of the flags' (`--attempt-timeout-ms`). */
  readonly policy?: Option.Option<string> | undefined
}

const fail = (message: string, exitCode = 2) => Effect.fail(new RunFailed({ message, exitCode }))

/** Credentials for a real API come from the environment only: a secret never goes in a flag. */
const realCredentials = Effect.gen(function*() {
  const clientId = yield* Config.string("BULWARK_CLIENT_ID")
  const clientSecret = yield* Config.redacted("BULWARK_CLIENT_SECRET")
  return { clientId, clientSecret }
}).pipe(
  Effect.catchAll(() =>
    fail("With --base-url, set BULWARK_CLIENT_ID and BULWARK_CLIENT_SECRET in the environment (never in a flag).")
  )
)

const advice = (error: ApiClient.CallError): string => {
  if (error._tag === "TokenError") {
    return error.reason === "Rejected"
      ? `${error.message}\nThe identity provider refused the credentials (401): check BULWARK_CLIENT_ID and BULWARK_CLIENT_SECRET and the token URL.`
      : error.message
  }
  if (error._tag === "Forbidden") return `${error.message}\nThe service account needs the items:write role (403).`
  return error.message
}

const writeReports = (paths: ReadonlyArray<string>, built: Report.Report) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const path of paths) {
      const format = reportFormat(path)
      const content = format === "json" ? Report.toJson(built) : format === "html" ? Report.toHtml(built) : undefined
      if (content === undefined) return yield* fail(`--report ${path}: use a .json or .html file name`)
      yield* fs.writeFileString(path, content).pipe(
        Effect.catchAll((error) => fail(`--report ${path}: cannot write it (${error.message})`))
      )
      yield* Console.log(`report written to ${path}`)
    }
  })

/** Runs the job; `output` receives the progress display. */
export const program = (flags: Flags, output: Progress.Output = Progress.processOutput) =>
  Effect.gen(function*() {
    if (flags.concurrency < 1 || flags.concurrency > 256) return yield* fail("--concurrency must be between 1 and 256")
    if (flags.items < 1 || flags.items > 1_000_000) return yield* fail("--items must be between 1 and 1000000")
    if (flags.attemptTimeoutMs < 1) return yield* fail("--attempt-timeout-ms must be at least 1")
    if (Option.isSome(flags.rate) && !(flags.rate.value >= 0)) return yield* fail("--rate must be 0 or more")
    const badReport = flags.report.find((path) => reportFormat(path) === undefined)
    if (badReport !== undefined) return yield* fail(`--report ${badReport}: use a file name ending in .json or .html`)
    const catalog = yield* (Option.isSome(flags.file)
      ? Catalog.fromFile(flags.file.value)
      : Catalog.generate(flags.items).pipe(Effect.withRandom(Random.make(flags.seed)))).pipe(
        Effect.catchTag("CatalogError", (error) => fail(error.message))
      )

    // A policy that does not decode is bad input: exit code 2, one line per problem, never a value from the file.
    const policy = flags.policy !== undefined && Option.isSome(flags.policy)
      ? yield* Policy.load(flags.policy.value).pipe(
        Effect.mapError((error) =>
          new RunFailed({
            message: `--policy ${error.source}: ${error.issues.length} problem(s) in the policy:\n${
              error.issues.map((issue) => `  ${issue.path}: ${issue.problem}`).join("\n")
            }`,
            exitCode: 2
          })
        )
      )
      : undefined
    const policyAuth = policy?.document.auth !== undefined
    const embedded = Option.isNone(flags.baseUrl)
    if (!embedded && Option.isNone(flags.tokenUrl) && !policyAuth) {
      return yield* fail("--base-url needs --token-url as well (or a --policy whose auth names the token URL)")
    }

    const run = Effect.gen(function*() {
      let target: string
      // Without it (a real API with a --policy that names its auth), the policy's auth is used.
      let auth:
        | { tokenUrl: string; clientId: string; clientSecret: Redacted.Redacted<string>; scope?: string }
        | undefined
      let base: string
      let sandbox: Sandbox.Service | undefined
      if (embedded) {
        sandbox = Option.getOrThrow(yield* Effect.serviceOption(Sandbox.Sandbox))
        base = `${sandbox.url}/v1`
        target = `embedded sandbox at ${sandbox.url} (preset ${flags.preset}, seed ${flags.seed})`
        auth = {
          tokenUrl: sandbox.tokenUrl,
          clientId: SandboxConfig.demoClient.clientId,
          clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
        }
      } else {
        base = Option.getOrThrow(flags.baseUrl)
        target = base
        auth = Option.isSome(flags.tokenUrl) || !policyAuth
          ? { tokenUrl: Option.getOrThrow(flags.tokenUrl), ...(yield* realCredentials) }
          : undefined
      }
      if (Option.isSome(flags.scope) && auth !== undefined) auth.scope = flags.scope.value

      // Staying under the quota beats discovering it through 429s: by default, 80% of the sandbox's quota.
      // The token bucket refills every 250 ms with a bucket of a quarter second's worth, so that even its
      // bursts stay under a fixed one-second window: at most rate/4 + rate per second.
      const quota = sandbox?.config.quota
      const perSecond = Option.getOrElse(
        flags.rate,
        () => (quota === null || quota === undefined ? 0 : (0.8 * quota.limit) / quota.windowSeconds)
      )
      const rateLimit = perSecond > 0
        ? { limit: Math.max(1, Math.floor(perSecond / 4)), interval: "250 millis" as const }
        : undefined
      yield* Console.log(
        `catalog-sync: ${catalog.length} items -> ${target}${
          rateLimit === undefined ? "" : `, client-side limit ${rateLimit.limit * 4} requests/s`
        }`
      )
      const gate = yield* RateLimitGate.makeMemory
      const baseline = yield* Sync.readCounters
      // With a policy: its settings and rules (its auth, secrets read from the environment, when none is given
      // here); the client-side limit for the embedded sandbox applies unless the policy sets a ceiling itself.
      const fromPolicy = policy === undefined ? undefined : yield* Policy.clientConfig(policy, {
        baseUrl: base,
        ...(auth === undefined ? {} : { auth: { ...auth, eager: true } })
      }).pipe(
        Effect.catchAll((error) => fail(`--policy ${error.message}`))
      )
      const policyTraffic = fromPolicy?.traffic
      const policyLimits = fromPolicy?.rateLimit !== undefined ||
        (typeof policyTraffic === "object" && policyTraffic.maxRate !== undefined)
      const config: ApiClient.ClientConfig = fromPolicy === undefined
        ? {
          baseUrl: base,
          auth: { ...auth!, eager: true },
          attemptTimeout: flags.attemptTimeoutMs,
          ...(rateLimit === undefined ? {} : { rateLimit })
        }
        : { ...fromPolicy, ...(rateLimit === undefined || policyLimits ? {} : { rateLimit }) }
      if (policy !== undefined) {
        yield* Console.log(`catalog-sync: policy ${policy.source}, ${policy.rules.length} route rule(s)`)
      }
      if (policy !== undefined && policy.document.breaker !== false) {
        // The job counts every failed create and settles it by the read-back; a breaker's fast failures would only
        // add failures to settle, so the policy's breaker is for services, not for this job.
        yield* Console.log("catalog-sync: the policy's breaker is not applied by this job")
      }
      const api = yield* ApiClient.make(config).pipe(
        Effect.provideService(RateLimitGate.RateLimitGate, gate),
        Effect.catchAll((error) =>
          fail(
            error._tag === "ConfigError"
              ? error.message
              : `Could not get an access token. ${advice(error as TokenError.TokenError)}`
          )
        )
      )
      const progress = Progress.reporter(output)
      let last: Sync.Progress | undefined
      const outcome = yield* Sync.run(catalog, {
        concurrency: flags.concurrency,
        pageSize: 500,
        tickMillis: output.isTTY ? 100 : 500,
        origin: new URL(base).origin,
        baseline,
        onProgress: (p) => Effect.zipRight(Effect.sync(() => void (last = p)), progress.onProgress(p))
      }).pipe(
        Effect.provideService(ApiClient.ApiClient, api),
        Effect.provideService(RateLimitGate.RateLimitGate, gate)
      )
      yield* progress.finish(last)
      const server = sandbox === undefined ? undefined : { ...(yield* sandbox.stats) }
      return Report.make(outcome, target, server as Readonly<Record<string, unknown>> | undefined)
    }).pipe(Effect.scoped)

    const built = yield* (embedded
      ? run.pipe(Effect.provide(Sandbox.layer({ preset: flags.preset, seed: flags.seed })))
      : run).pipe(
        Effect.provide(NodeHttpClient.layerUndici),
        Effect.catchTags({
          SandboxConfigError: (error) => fail(error.message),
          ServeError: (error) => fail(`The embedded sandbox could not start: ${error.message}`)
        })
      )

    yield* Console.log("")
    yield* Console.log(Report.toText(built))
    yield* writeReports(flags.report, built)
    return yield* verdict(built)
  })

/**
 * The exit of a run from its report: success (exit code 0) when every item was confirmed exactly once,
 * warnings included; otherwise a `RunFailed` with exit code 1 giving the true number of problems.
 */
export const verdict = (built: Report.Report): Effect.Effect<Report.Report, RunFailed> => {
  if (built.ok) return Effect.succeed(built)
  const firstProblem = built.problems[0]
  if (firstProblem !== undefined && built.items.createFailures === built.items.total) {
    return fail(`Nothing could be created. First problem: ${firstProblem}`, 1)
  }
  const cut = built.problemsNotShown === 0 ? "" : ` (the report lists the first ${Report.listLimit} of each kind)`
  return fail(`catalog-sync found ${built.problemCount} problem(s)${cut}; see the report above.`, 1)
}

export const command = Command.make(
  "catalog-sync",
  {
    items,
    file,
    concurrency,
    baseUrl,
    tokenUrl,
    scope,
    preset,
    seed,
    attemptTimeoutMs: attemptTimeout,
    rate,
    report,
    policy
  },
  (flags) => program(flags)
).pipe(
  Command.withDescription(
    "Push a catalog to the partner API through @bulwark/http-client, read it back and verify every item is there exactly once."
  )
)

export const run = CliKit.run(command, { name: "catalog-sync", version: CliKit.versionOf(import.meta.url) })

/** Keeps the layer type of the embedded sandbox visible to tests. */
export type EmbeddedLayer = Layer.Layer<Sandbox.Sandbox>
