import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** Accepts what `Duration.decode` accepts, plus the CLI's short forms ("30m", "90s", "2h", "500ms"). */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const duration = typeof input === "string" ? parseDuration(input) : Duration.decodeUnknown(input)
      return Option.match(duration, {
        onNone: () =>
          ParseResult.fail(
            new ParseResult.Type(ast, input, "a duration such as \"30m\", \"90 seconds\" or a number of milliseconds")
          ),
        onSome: (value) =>
          Duration.isFinite(value) && Duration.toMillis(value) >= 0
            ? ParseResult.succeed(value)
            : ParseResult.fail(new ParseResult.Type(ast, input, "a finite, non-negative duration"))
      })
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "DurationInput" })

/**
 * A duration flag: "30m", "1h30m", "90s", "250ms", "2.5 minutes" (a bare number other than 0 is refused).
 *
 * @internal
 */
export const DurationFlag = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (input, _, ast) =>
    Option.match(parseDuration(input), {
      onNone: () =>
        ParseResult.fail(new ParseResult.Type(ast, input, "expected a duration such as 30m, 90s, 250ms, 2h or 1h30m")),
      onSome: (value) =>
        Duration.isFinite(value)
          ? ParseResult.succeed(value)
          : ParseResult.fail(new ParseResult.Type(ast, input, "expected a finite duration"))
    }),
  encode: (duration) => ParseResult.succeed(`${Duration.toMillis(duration)}ms`)
}).annotations({ identifier: "DurationFlag" })

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  s: 1_000,
  sec: 1_000,
  seconds: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/** One amount and its unit, as in "1h30m" (the units of `units`, longest spellings first). */
const amountAndUnit = /(\d+(?:\.\d+)?)(ms|millis|seconds?|sec|s|minutes?|min|m|hours?|h)/

/**
 * Parses "30m", "1h30m", "90s", "250ms", "2.5 minutes" or anything `Duration.decode` reads; `None` for
 * anything else (never throws).
 *
 * @internal
 */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const trimmed = text.trim()
  if (trimmed === "") return Option.none()
  // Zero needs no unit; any other bare number is ambiguous (seconds? milliseconds?) and is refused.
  if (/^0+(?:\.0+)?$/.test(trimmed)) return Option.some(Duration.zero)
  const compact = trimmed.replace(/\s+/g, "")
  if (new RegExp(`^(?:${amountAndUnit.source})+$`, "i").test(compact)) {
    let total = 0
    for (const [, amount, unit] of compact.matchAll(new RegExp(amountAndUnit.source, "gi"))) {
      total += Number(amount) * units[unit!.toLowerCase()]!
    }
    return Number.isFinite(total) ? Option.some(Duration.millis(total)) : Option.none()
  }
  try {
    return Duration.decodeUnknown(trimmed)
  } catch {
    return Option.none()
  }
}

const Probability = Schema.Number.pipe(Schema.between(0, 1, { message: () => "must be between 0 and 1" }))

/** @internal */
export const TrafficSchema = Schema.Struct({
  rate: Schema.Number.pipe(
    Schema.finite(),
    Schema.greaterThan(0, { message: () => "must be a number of calls per second above 0" })
  ),
  duration: DurationInput,
  arrival: Schema.optionalWith(Schema.Literal("uniform", "poisson", "burst"), { default: () => "poisson" as const }),
  concurrency: Schema.optional(
    Schema.Int.pipe(Schema.positive({ message: () => "must be a whole number of calls above 0" }))
  ),
  writeRatio: Schema.optionalWith(Probability, { default: () => 0 })
})

/** @internal */
export type Traffic = Schema.Schema.Type<typeof TrafficSchema>

/** @internal */
export const SettingsSchema = Schema.Struct({
  name: Schema.optional(Schema.String),
  seed: Schema.optionalWith(Schema.Int, { default: () => 1 }),
  traffic: TrafficSchema,
  latency: Schema.optionalWith(DurationInput, { default: () => Duration.millis(20) }),
  bucket: Schema.optional(DurationInput),
  drain: Schema.optionalWith(DurationInput, { default: () => Duration.minutes(5) }),
  startAt: Schema.optional(Schema.Number.pipe(Schema.finite()))
})

/** @internal */
export type Settings = Schema.Schema.Type<typeof SettingsSchema>

/** @internal */
export const decodeSettings = (input: unknown): Either.Either<Settings, ReadonlyArray<string>> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(SettingsSchema, { errors: "all" })(input),
    (error) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
      const pathOf = (issue: (typeof issues)[number]) => issue.path.length === 0 ? "(options)" : issue.path.join(".")
      // An optional field that is present is also checked against `undefined`: that half of the union says
      // nothing the other half does not.
      const useful = issues.filter((issue) =>
        !(issue.message.startsWith("Expected undefined") &&
          issues.some((other) => other !== issue && pathOf(other) === pathOf(issue)))
      )
      return useful.map((issue) =>
        `${pathOf(issue)}: ${
          issue._tag === "Missing" ? "is required" : issue.message.replace(/,? ?actual[\s\S]*$/, "")
        }`
      )
    }
  )

/**
 * A bucket that gives a readable chart: about 360 points at most, at a round size.
 *
 * @internal
 */
export const defaultBucketMs = (durationMs: number): number => {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600].map((s) => s * 1_000)
  for (const step of steps) if (durationMs / step <= 360) return step
  return steps[steps.length - 1]!
}
