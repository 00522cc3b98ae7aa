import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What `Duration.decode` accepts ("5 seconds", a number of milliseconds, a `Duration`), finite and
 * within `[minMillis, maxMillis]`, decoded to a `Duration`.
 *
 * @internal
 */
export const durationInput = (minMillis: number, maxMillis = Number.POSITIVE_INFINITY) =>
  Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
    strict: true,
    decode: (input, _, ast) =>
      // `Duration` clamps a negative number of milliseconds to zero: a negative number is a mistake, not zero.
      (typeof input === "number" && input < 0) || (typeof input === "bigint" && input < 0n)
        ? ParseResult.fail(new ParseResult.Type(ast, input))
        : Option.match(Duration.decodeUnknown(input), {
          onNone: () => ParseResult.fail(new ParseResult.Type(ast, input)),
          onSome: (duration) => {
            const millis = Duration.toMillis(duration)
            return Duration.isFinite(duration) && millis >= minMillis && millis <= maxMillis
              ? ParseResult.succeed(duration)
              : ParseResult.fail(new ParseResult.Type(ast, input))
          }
        }),
    encode: ParseResult.succeed
  })

/**
 * Decodes options and reports every bad one as `name problem` (joined by "; "), the problem taken from
 * `problems` by the option's name: the schema's own messages quote the value, which may be a secret put
 * in the wrong field, so they are never used.
 *
 * @internal
 */
export const decodeOptions = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  problems: Readonly<Record<string, string>>
): Either.Either<A, string> => {
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    return Either.left("the options must be an object")
  }
  return Either.mapLeft(
    Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(input ?? {}),
    (error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error)
        .map((issue) => {
          const name = issue.path.length === 0 ? undefined : String(issue.path[0])
          if (name === undefined) return "the options are not valid"
          const problem = Object.hasOwn(problems, name) ? problems[name] : "is not valid"
          return issue._tag === "Missing" ? `${name} is required` : `${name} ${problem}`
        })
        .filter((line, index, all) => all.indexOf(line) === index)
        .join("; ")
  )
}
