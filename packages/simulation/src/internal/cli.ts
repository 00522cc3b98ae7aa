import { ApiClient } from "@bulwark/http-client"
import { Preset } from "@bulwark/sandbox"
import { CliKit } from "@bulwark/sandbox/cli"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Simulation from "../Simulation.js"
import * as format from "./format.js"
import { DurationFlag } from "./options.js"
import * as Scenarios from "./scenarios.js"
import * as internal from "./simulation.js"

/**
 * Flags that cannot be used together (a usage error: exit code 2).
 *
 * @internal
 */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {
  /** A usage error. */
  get exitCode(): number {
    return 2
  }
}

/** @internal */
export class GoalsMissed extends Data.TaggedError("GoalsMissed")<{ readonly missed: number }> {
  override get message(): string {
    return `${this.missed} goal${this.missed === 1 ? "" : "s"} of the scenario missed`
  }
  /** A missed goal is not a usage error: exit code 1. */
  get exitCode(): number {
    return 1
  }
}

type ClientPolicy = NonNullable<Simulation.Options["client"]>

const policyFields = ApiClient.ClientConfig.pipe(Schema.omit("baseUrl", "auth"))

/**
 * An `ApiClient` config without `baseUrl` and `auth`, checked as `ApiClient.make` checks it (unknown keys
 * refused) and handed on as written: `ApiClient.make` decodes it again with the sandbox's URL and client.
 */
const ClientPolicy: Schema.Schema<ClientPolicy, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Any as Schema.Schema<ClientPolicy>,
  {
    strict: true,
    decode: (input, options, ast) => {
      if (!Predicate.isRecord(input)) return ParseResult.decodeUnknown(policyFields, options)(input)
      const owned = ["baseUrl", "auth"].filter((key) => Object.hasOwn(input, key))
      const rest = Object.fromEntries(Object.entries(input).filter(([key]) => !owned.includes(key)))
      const issues: Array<ParseResult.ParseIssue> = owned.map((key) =>
        new ParseResult.Pointer(
          key,
          input,
          new ParseResult.Type(
            ast,
            undefined,
            "is set by the simulation (its sandbox's URL and demo client): remove it"
          )
        )
      )
      const decoded = ParseResult.decodeUnknownEither(policyFields, options)(rest)
      if (Either.isLeft(decoded)) issues.push(decoded.left)
      return issues.length === 0
        ? ParseResult.succeed(input as ClientPolicy)
        : ParseResult.fail(
          new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>])
        )
    },
    encode: ParseResult.succeed
  }
)

const scenario = CliKit.choice("scenario", Scenarios.scenarios.map((s) => s.name)).pipe(
  Options.withDescription("A shipped scenario, checked against its goals (exit code 1 if one is missed)."),
  Options.optional
)
const preset = CliKit.choice("preset", Preset.names).pipe(
  Options.withDescription("The sandbox preset, without --scenario. Default: realistic."),
  Options.optional
)
const duration = CliKit.withSchema("duration", DurationFlag, "duration").pipe(
  Options.withDescription("Simulated time: 30m, 90s, 2h, 1h30m, \"10 minutes\". Default: 30m (or the scenario's)."),
  Options.optional
)
const rate = CliKit.float("rate", { above: 0, unit: "calls per second" }).pipe(
  Options.withDescription("Logical calls per second. Default: 20 (or the scenario's)."),
  Options.optional
)
const seed = CliKit.integer("seed").pipe(
  Options.withDescription("Seeds faults, arrivals and the client's randomness. Default: 1."),
  Options.optional
)
const arrival = CliKit.choice("arrival", ["poisson", "uniform", "burst"] as const).pipe(
  Options.withDescription("How calls arrive. Default: poisson (or the scenario's)."),
  Options.optional
)
const concurrency = CliKit.integer("concurrency", { min: 1 }).pipe(
  Options.withDescription("At most this many calls in flight. Default: unbounded (or the scenario's)."),
  Options.optional
)
const writeRatio = CliKit.float("write-ratio", { min: 0, max: 1 }).pipe(
  Options.withDescription("The fraction of calls that are POSTs (0 to 1). Default: 0 (or the scenario's)."),
  Options.optional
)
const latency = CliKit.withSchema("latency", DurationFlag, "duration").pipe(
  Options.withDescription("The round trip of every exchange, e.g. 20ms. Default: 20ms (or the scenario's)."),
  Options.optional
)
const breaker = Options.boolean("breaker").pipe(
  Options.withDescription("Add the circuit breaker (default options) to the pipeline.")
)
const clientFile = CliKit.jsonFile(
  "client",
  ClientPolicy,
  "a JSON object of ApiClient options (all but baseUrl and auth)"
)
  .pipe(
    Options.withDescription("A JSON file with the ApiClient config to test (everything but baseUrl and auth)."),
    Options.optional
  )
const json = Options.boolean("json").pipe(Options.withDescription("Print the report as JSON."))
const html = Options.boolean("html").pipe(
  Options.withDescription("Print the report as a self-contained HTML page with the time-series charts.")
)

/** @internal */
export const version = (): string => CliKit.versionOf(import.meta.url)

const flags = {
  scenario,
  preset,
  duration,
  rate,
  seed,
  arrival,
  concurrency,
  writeRatio,
  latency,
  breaker,
  client: clientFile,
  json,
  html
}

const description =
  "Runs a Bulwark client policy against the sandbox in virtual time (see the @bulwark/simulation README)."

const make = <const Name extends string>(name: Name) =>
  Command.make(name, flags, (flags) =>
    Effect.gen(function*() {
      if (flags.json && flags.html) return yield* new CliError({ message: "Choose one of --json and --html" })
      if (Option.isSome(flags.scenario) && Option.isSome(flags.preset)) {
        return yield* new CliError({
          message: "--preset sets the sandbox of a plain run; a --scenario brings its own sandbox. Pass one of them"
        })
      }
      const client = Option.getOrUndefined(flags.client)
      const traffic: Partial<Simulation.Traffic> = {
        ...(Option.isSome(flags.duration) ? { duration: flags.duration.value } : {}),
        ...(Option.isSome(flags.rate) ? { rate: flags.rate.value } : {}),
        ...(Option.isSome(flags.arrival) ? { arrival: flags.arrival.value } : {}),
        ...(Option.isSome(flags.concurrency) ? { concurrency: flags.concurrency.value } : {}),
        ...(Option.isSome(flags.writeRatio) ? { writeRatio: flags.writeRatio.value } : {})
      }
      const latencyValue = Option.getOrUndefined(flags.latency)
      const started = performance.now()
      const report = Option.isSome(flags.scenario)
        ? yield* Scenarios.run(flags.scenario.value, {
          seed: Option.getOrUndefined(flags.seed),
          traffic,
          latency: latencyValue,
          client,
          circuitBreaker: flags.breaker ? true : undefined
        })
        : yield* internal.run({
          seed: Option.getOrUndefined(flags.seed),
          sandbox: { preset: Option.getOrElse(flags.preset, () => "realistic" as const) },
          client,
          circuitBreaker: flags.breaker,
          latency: latencyValue,
          traffic: { rate: 20, duration: "30 minutes", ...traffic }
        })
      const wallSeconds = (performance.now() - started) / 1000
      yield* Console.log(flags.json ? format.json(report) : flags.html ? format.html(report) : format.text(report))
      // Wall time is not part of the report (the same seed must give the same bytes): it goes to stderr.
      yield* Console.error(
        `simulated ${format.span(report.simulatedSeconds)} in ${wallSeconds.toFixed(2)} s of wall time ` +
          `(${Math.round(report.simulatedSeconds / Math.max(wallSeconds, 0.001))}x real time)`
      )
      const missed = report.goals?.filter((goal) => !goal.passed).length ?? 0
      if (missed > 0) return yield* new GoalsMissed({ missed })
    })).pipe(Command.withDescription(description))

/** @internal */
export const command = make("bulwark-simulate")

/**
 * The same command named `simulate`, which `bulwark-sandbox` adds as its subcommand.
 *
 * @internal
 */
export const subcommand = make("simulate")

/** @internal */
export const run = CliKit.run(command, { name: "bulwark-simulate", version: version() })

/** @internal */
export const main = (): void => CliKit.runMain(run)
