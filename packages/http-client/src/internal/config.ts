import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** Accepts what `Duration.decode` accepts ("5 seconds", 5000 millis, a Duration) and validates it. */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      Option.match(Duration.decodeUnknown(input), {
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

/** @internal */
export const ClientConfigSchema = Schema.Struct({
  baseUrl: HttpUrl,
  auth: Schema.optional(
    Schema.Struct({
      tokenUrl: HttpUrl,
      clientId: Schema.String.pipe(Schema.minLength(1)),
      clientSecret: Schema.RedactedFromSelf(Schema.String),
      scope: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
      audience: Schema.optional(Schema.String),
      method: Schema.optionalWith(Schema.Literal("basic", "body"), { default: () => "basic" as const }),
      eager: Schema.optionalWith(Schema.Boolean, { default: () => false })
    })
  ),
  attemptTimeout: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(10) }),
  deadline: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(30) }),
  retry: Schema.optionalWith(
    Schema.Struct({
      maxRetries: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 20)), { default: () => 3 }),
      base: Schema.optionalWith(DurationInput, { default: () => Duration.millis(200) }),
      cap: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(10) }),
      jitter: Schema.optionalWith(Schema.Literal("none", "full", "equal", "decorrelated"), {
        default: () => "full" as const
      }),
      maxRetryAfter: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(60) })
    }),
    {
      default: () => ({
        maxRetries: 3,
        base: Duration.millis(200),
        cap: Duration.seconds(10),
        jitter: "full" as const,
        maxRetryAfter: Duration.seconds(60)
      })
    }
  ),
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
  rateLimitGate: Schema.optionalWith(Schema.Boolean, { default: () => true }),
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
export const decodeConfig = (input: unknown) =>
  Schema.decodeUnknown(ClientConfigSchema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Effect.mapError((error) =>
      new ConfigError({
        issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
          path: issue.path.length === 0 ? "(config)" : issue.path.join("."),
          // Never echo the offending value: it may be a secret put in the wrong field.
          problem: issue._tag === "Missing" ? "is required" : issue.message.replace(/,? ?actual[\s\S]*$/, "")
        }))
      })
    )
  )
