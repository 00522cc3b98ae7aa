import { Preset } from "@bulwark/sandbox"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import { createRequire } from "node:module"
import type * as Simulation from "../Simulation.js"
import * as format from "./format.js"
import { parseDuration } from "./options.js"
import * as Scenarios from "./scenarios.js"
import * as internal from "./simulation.js"

/** @internal */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

/** @internal */
export class GoalsMissed extends Data.TaggedError("GoalsMissed")<{ readonly missed: number }> {
  override get message(): string {
    return `${this.missed} goal${this.missed === 1 ? "" : "s"} of the scenario missed`
  }
}

const scenario = Options.choice("scenario", Scenarios.scenarios.map((s) => s.name)).pipe(
  Options.withDescription("A shipped scenario, checked against its goals (exit code 1 if one is missed)."),
  Options.optional
)
const preset = Options.choice("preset", Preset.names).pipe(
  Options.withDescription("The sandbox preset, without --scenario. Default: realistic."),
  Options.optional
)
const duration = Options.text("duration").pipe(
  Options.withDescription("Simulated time: 30m, 90s, 2h, 1h30m, \"10 minutes\". Default: 30m (or the scenario's)."),
  Options.optional
)
const rate = Options.float("rate").pipe(
  Options.withDescription("Logical calls per second. Default: 20 (or the scenario's)."),
  Options.optional
)
const seed = Options.integer("seed").pipe(
  Options.withDescription("Seeds faults, arrivals and the client's randomness. Default: 1."),
  Options.optional
)
const arrival = Options.choice("arrival", ["poisson", "uniform", "burst"] as const).pipe(
  Options.withDescription("How calls arrive. Default: poisson (or the scenario's)."),
  Options.optional
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withDescription("At most this many calls in flight. Default: unbounded (or the scenario's)."),
  Options.optional
)
const writeRatio = Options.float("write-ratio").pipe(
  Options.withDescription("The fraction of calls that are POSTs (0 to 1). Default: 0 (or the scenario's)."),
  Options.optional
)
const latency = Options.text("latency").pipe(
  Options.withDescription("The round trip of every exchange, e.g. 20ms. Default: 20ms (or the scenario's)."),
  Options.optional
)
const breaker = Options.boolean("breaker").pipe(
  Options.withDescription("Add the circuit breaker (default options) to the pipeline.")
)
const clientFile = Options.file("client", { exists: "yes" }).pipe(
  Options.withDescription("A JSON file with the ApiClient config to test (everything but baseUrl and auth)."),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Print the report as JSON."))
const html = Options.boolean("html").pipe(
  Options.withDescription("Print the report as a self-contained HTML page with the time-series charts.")
)

const readClientFile = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(
      fs.readFileString(path),
      (error) => new CliError({ message: `Cannot read the client config ${path}: ${error.message}` })
    )
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new CliError({ message: `The client config ${path} is not valid JSON (${String(error)})` })
    })
    if (!Predicate.isRecord(parsed)) {
      return yield* new CliError({ message: `The client config ${path} must be a JSON object of ApiClient options` })
    }
    if ("baseUrl" in parsed || "auth" in parsed) {
      return yield* new CliError({
        message: `The client config ${path} must not set baseUrl or auth: the simulation points them at its sandbox`
      })
    }
    return parsed as NonNullable<Simulation.Options["client"]>
  })

const durationOf = (flag: string, text: string) =>
  Option.match(parseDuration(text), {
    onNone: () =>
      Effect.fail(new CliError({ message: `${flag} ${text} is not a duration; write 30m, 90s, 250ms, 2h or 1h30m` })),
    onSome: Effect.succeed
  })

/** @internal */
export const version = (): string => {
  try {
    const pkg = createRequire(import.meta.url)("../package.json") as { readonly version?: unknown }
    return typeof pkg.version === "string" ? pkg.version : "0.0.0"
  } catch {
    return "0.0.0"
  }
}

/** @internal */
export const command = Command.make(
  "bulwark-simulate",
  {
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
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.json && flags.html) return yield* new CliError({ message: "Choose one of --json and --html" })
      if (Option.isSome(flags.scenario) && Option.isSome(flags.preset)) {
        return yield* new CliError({
          message: "--preset sets the sandbox of a plain run; a --scenario brings its own sandbox. Pass one of them"
        })
      }
      const client = Option.isSome(flags.client) ? yield* readClientFile(flags.client.value) : undefined
      const traffic: Partial<Simulation.Traffic> = {
        ...(Option.isSome(flags.duration) ? { duration: yield* durationOf("--duration", flags.duration.value) } : {}),
        ...(Option.isSome(flags.rate) ? { rate: flags.rate.value } : {}),
        ...(Option.isSome(flags.arrival) ? { arrival: flags.arrival.value } : {}),
        ...(Option.isSome(flags.concurrency) ? { concurrency: flags.concurrency.value } : {}),
        ...(Option.isSome(flags.writeRatio) ? { writeRatio: flags.writeRatio.value } : {})
      }
      const latencyValue = Option.isSome(flags.latency)
        ? yield* durationOf("--latency", flags.latency.value)
        : undefined
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
    }).pipe(Effect.tapError((error) => Console.error(error.message)))
).pipe(
  Command.withDescription(
    "Runs a Bulwark client policy against the sandbox in virtual time (see the @bulwark/simulation README)."
  )
)

/** @internal */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => Command.run(command, { name: "bulwark-simulate", version: version() })(argv))
