import { Policy } from "@bulwark/http-client"
import { CliKit } from "@bulwark/sandbox/cli"
import { Scenario, Simulation } from "@bulwark/simulation"
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as check from "./check.js"

/**
 * The policy file does not decode (or cannot be read, or is not JSON): bad input, exit code 2. Its message lists
 * one problem per line, each naming its field and rule, never a value from the file.
 *
 * @internal
 */
export class PolicyInvalid extends Data.TaggedError("PolicyInvalid")<{ readonly error: Policy.PolicyError }> {
  override get message(): string {
    const n = this.error.issues.length
    return `${this.error.source}: ${n} problem${n === 1 ? "" : "s"} in the policy:\n${
      this.error.issues.map((issue) => `  ${issue.path}: ${issue.problem}`).join("\n")
    }`
  }
  get exitCode(): number {
    return 2
  }
}

/** Flags that cannot be used together: exit code 2. @internal */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {
  get exitCode(): number {
    return 2
  }
}

/** A scenario goal was missed: exit code 1, so CI can tell it from bad input. @internal */
export class GoalsMissed
  extends Data.TaggedError("GoalsMissed")<{ readonly missed: number; readonly scenario: string }>
{
  override get message(): string {
    return `${this.missed} goal${this.missed === 1 ? "" : "s"} of the scenario ${this.scenario} missed with this policy`
  }
  get exitCode(): number {
    return 1
  }
}

const policyFile = Args.text({ name: "policy.json" }).pipe(
  Args.withDescription("The policy file (JSON) to check.")
)

const load = (path: string) => Effect.mapError(Policy.load(path), (error) => new PolicyInvalid({ error }))

const checkCommand = Command.make("check", {
  policy: policyFile,
  json: Options.boolean("json").pipe(Options.withDescription("Print the effective policy as JSON."))
}, ({ json, policy }) =>
  Effect.gen(function*() {
    const decoded = yield* load(policy)
    yield* Console.log(json ? check.toJson(decoded) : check.toText(decoded))
  })).pipe(
    Command.withDescription(
      "Validates a policy file and prints the effective policy per route: every setting, its value and where it came from."
    )
  )

const simulateCommand = Command.make("simulate", {
  policy: policyFile,
  scenario: CliKit.choice("scenario", Scenario.names).pipe(
    Options.withDescription("The shipped @bulwark/simulation scenario to run; a missed goal exits with 1.")
  ),
  seed: CliKit.integer("seed").pipe(Options.withDescription("Seeds the run. Default: 1."), Options.optional),
  duration: CliKit.withSchema("duration", durationFlag(), "duration").pipe(
    Options.withDescription("Simulated time instead of the scenario's: 30m, 90s, 2h."),
    Options.optional
  ),
  rate: CliKit.float("rate", { above: 0, unit: "calls per second" }).pipe(
    Options.withDescription("Logical calls per second instead of the scenario's."),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON.")),
  html: Options.boolean("html").pipe(Options.withDescription("Print the report as an HTML page."))
}, (flags) =>
  Effect.gen(function*() {
    if (flags.json && flags.html) return yield* new UsageError({ message: "Choose one of --json and --html" })
    const policy = yield* load(flags.policy)
    const report = yield* check.simulate(policy, flags.scenario, {
      seed: Option.getOrUndefined(flags.seed),
      traffic: {
        ...(Option.isSome(flags.duration) ? { duration: flags.duration.value } : {}),
        ...(Option.isSome(flags.rate) ? { rate: flags.rate.value } : {})
      }
    })
    yield* Console.log(
      flags.json ? Simulation.toJson(report) : flags.html ? Simulation.toHtml(report) : Simulation.toText(report)
    )
    const missed = report.goals?.filter((goal) => !goal.passed).length ?? 0
    if (missed > 0) return yield* new GoalsMissed({ missed, scenario: flags.scenario })
  })).pipe(
    Command.withDescription(
      "Runs a shipped @bulwark/simulation scenario against the policy (in virtual time); exits 1 when a goal is missed."
    )
  )

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** A duration flag: `30m`, `90s`, `1h30m`, `250ms`, `"10 minutes"`. */
function durationFlag() {
  return Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
    strict: true,
    decode: (input, _, ast) => {
      const compact = input.trim().replace(/\s+/g, "")
      let millis: number | undefined
      if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(compact)) {
        millis = 0
        for (const [, amount, unit] of compact.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
          millis += Number(amount) * units[unit!]!
        }
      } else {
        const decoded = Duration.decodeUnknown(input.trim())
        if (Option.isSome(decoded) && Duration.isFinite(decoded.value)) millis = Duration.toMillis(decoded.value)
      }
      return millis !== undefined && Number.isFinite(millis) && millis > 0
        ? ParseResult.succeed(Duration.millis(millis))
        : ParseResult.fail(new ParseResult.Type(ast, input, "expected a duration such as 30m, 90s, 2h or 1h30m"))
    },
    encode: (duration) => ParseResult.succeed(`${Duration.toMillis(duration)}ms`)
  })
}

type Failure = PolicyInvalid | GoalsMissed | UsageError | Simulation.SimulationError

/** @internal */
export const command: Command.Command<"bulwark-policy", CliApp.CliApp.Environment, Failure, unknown> = Command.make(
  "bulwark-policy"
).pipe(
  Command.withDescription(
    "Checks and simulates a Bulwark policy file before it ships (see the @bulwark/policy README)."
  ),
  Command.withSubcommands([checkCommand, simulateCommand])
) as never

/** @internal */
export const version = (): string => CliKit.versionOf(import.meta.url)

/** @internal */
export const run: (
  argv: ReadonlyArray<string>
) => Effect.Effect<void, Failure | ValidationError.ValidationError, CliApp.CliApp.Environment> = CliKit.run(command, {
  name: "bulwark-policy",
  version: version()
})

/** @internal */
export const main = (): void => CliKit.runMain(run)
