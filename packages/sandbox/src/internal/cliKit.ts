import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"

// ---------------------------------------------------------------------------------------------------------------
// Flags whose errors name the flag
// ---------------------------------------------------------------------------------------------------------------

/** @internal */
export const invalid = (message: string): ValidationError.ValidationError =>
  ValidationError.invalidValue(HelpDoc.p(message))

/** @internal */
export const integer = (name: string, range: { readonly min?: number; readonly max?: number } = {}) => {
  const { max = Number.MAX_SAFE_INTEGER, min = Number.MIN_SAFE_INTEGER } = range
  const allowed = range.min !== undefined && range.max !== undefined
    ? `a whole number from ${min} to ${max}`
    : range.min !== undefined
    ? `a whole number of at least ${min}`
    : "a whole number"
  return Options.text(name).pipe(
    Options.withPseudoName("integer"),
    Options.mapEffect((text) => {
      const value = Number(text.trim())
      return /^[+-]?\d+$/.test(text.trim()) && Number.isSafeInteger(value) && value >= min && value <= max
        ? Effect.succeed(value)
        : Effect.fail(invalid(`--${name} ${quote(text)} is not ${allowed}`))
    })
  )
}

/** @internal */
export const float = (
  name: string,
  range: { readonly min?: number; readonly max?: number; readonly above?: number; readonly unit?: string } = {}
) => {
  const parts = [
    range.above !== undefined ? `above ${range.above}` : undefined,
    range.min !== undefined ? `at least ${range.min}` : undefined,
    range.max !== undefined ? `at most ${range.max}` : undefined
  ].filter(Predicate.isNotUndefined)
  const allowed = `a number${range.unit === undefined ? "" : ` of ${range.unit}`}${
    parts.length === 0 ? "" : ` ${parts.join(" and ")}`
  }`
  return Options.text(name).pipe(
    Options.withPseudoName("number"),
    Options.mapEffect((text) => {
      const value = text.trim() === "" ? Number.NaN : Number(text.trim())
      const ok = Number.isFinite(value) &&
        (range.above === undefined || value > range.above) &&
        (range.min === undefined || value >= range.min) &&
        (range.max === undefined || value <= range.max)
      return ok ? Effect.succeed(value) : Effect.fail(invalid(`--${name} ${quote(text)} is not ${allowed}`))
    })
  )
}

/** @internal */
export const choice = <const A extends string>(name: string, values: ReadonlyArray<A>) =>
  Options.text(name).pipe(
    Options.withPseudoName(values.join(" | ")),
    Options.mapEffect((text) =>
      (values as ReadonlyArray<string>).includes(text)
        ? Effect.succeed(text as A)
        : Effect.fail(invalid(`--${name} ${quote(text)} is not one of: ${values.join(", ")}`))
    )
  )

/**
 * A flag decoded by a Schema (`Options.withSchema`), whose error names the flag and says what is allowed:
 * `--duration abc: expected a duration such as "30m" ...`.
 *
 * @internal
 */
export const withSchema = <A, I extends string>(
  name: string,
  schema: Schema.Schema<A, I>,
  pseudoName?: string
) =>
  Options.text(name).pipe(
    pseudoName === undefined ? (self) => self : Options.withPseudoName(pseudoName),
    Options.withSchema(named(`--${name}`, schema) as unknown as Schema.Schema<A, I>)
  )

/**
 * A JSON file given with a flag, decoded by a Schema: one message per bad field, naming the flag and the
 * field and saying what is allowed, never echoing a value from the file (it may hold secrets). Reading and JSON
 * syntax errors name the flag too; a syntax error gives its line and column, not V8's quote of the text.
 *
 * @internal
 */
export const jsonFile = <A, I>(name: string, schema: Schema.Schema<A, I>, what: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("file.json"),
    Options.mapEffect((path) => readJson(`--${name}`, path, what)),
    Options.withSchema(named(`--${name}`, schema as Schema.Schema<A, unknown>, { file: true }))
  )

const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)

/**
 * `schema`, with its failure turned into one message that names the flag: a declaration, so that `@effect/cli`'s
 * tree formatter prints the message alone (a transformation would print the tree around it).
 */
const named = <A, I>(flag: string, schema: Schema.Schema<A, I>, options: { readonly file?: boolean } = {}) =>
  Schema.declare([], {
    decode: () => (input, _, ast) =>
      Effect.mapError(
        ParseResult.decodeUnknown(schema, { errors: "all", onExcessProperty: "error" })(input),
        (issue) => {
          const problems = formatIssues(issue, options.file === true ? "(file)" : "")
          const message = options.file === true
            ? `${flag}: ${problems.length} problem${problems.length === 1 ? "" : "s"} in the file:\n` +
              problems.map((p) => `  ${p}`).join("\n")
            : `${flag} ${typeof input === "string" ? quote(input) : ""}: ${problems.join("; ")}`
          return new ParseResult.Type(ast, undefined, message)
        }
      ),
    encode: () => (value) => ParseResult.succeed(value)
  }) as unknown as Schema.Schema<A, unknown>

/**
 * One line per bad field: `path: problem`, never the offending value. An optional field that is present is
 * also checked against `undefined`, and a field of type "a literal or an object" fails both alternatives: that
 * half says nothing the other half does not, so it is dropped; alternatives failing at one place join with "or".
 *
 * @internal
 */
export const formatIssues = (issue: ParseResult.ParseIssue, root: string): Array<string> => {
  const raw = ParseResult.ArrayFormatter.formatIssueSync(issue).map((entry) => ({
    path: entry.path.length === 0 ? root : entry.path.join("."),
    problem: entry._tag === "Missing"
      ? "is required"
      : entry._tag === "Unexpected"
      ? "is not a known setting"
      : entry.message.replace(/,? ?actual[\s\S]*$/, "").replace(/^Expected /, "expected ")
  }))
  const deeper = (path: string) =>
    raw.some((other) => other.path.startsWith(path === "" ? "" : `${path}.`) && other.path !== path)
  const byPath = new Map<string, Array<string>>()
  for (const entry of raw) {
    if (entry.problem === "expected undefined" && raw.some((other) => other !== entry && other.path === entry.path)) {
      continue
    }
    if (entry.problem.startsWith("expected ") && deeper(entry.path)) continue
    const problems = byPath.get(entry.path) ?? []
    if (!problems.includes(entry.problem)) problems.push(entry.problem)
    byPath.set(entry.path, problems)
  }
  return Array.from(byPath, ([path, problems]) => `${path === "" ? "" : `${path}: `}${alternatives(problems)}`)
}

/** `expected "none" or expected "full"` reads `expected one of "none", "full"`; a struct is "an object". */
const alternatives = (problems: ReadonlyArray<string>): string => {
  const readable = problems.map((problem) =>
    problem.startsWith("expected Struct") || problem.startsWith("expected {")
      ? "expected an object of settings"
      : problem
  )
  const expected = readable.filter((problem) => problem.startsWith("expected "))
  if (expected.length < 2 || expected.length !== readable.length) return readable.join(" or ")
  const literals = expected.map((problem) => problem.slice("expected ".length))
  return literals.every((literal) => /^(".*"|-?\d+(\.\d+)?|true|false|null)$/.test(literal))
    ? `expected one of ${literals.join(", ")}`
    : `expected ${literals.join(" or ")}`
}

const readFailure = (error: PlatformError.PlatformError): string => {
  if (error._tag === "SystemError" && error.reason === "NotFound") return "it does not exist"
  if (error._tag === "SystemError" && error.reason === "PermissionDenied") {
    return "it may not be read (permission denied)"
  }
  return `it could not be read (${error.message})`
}

/**
 * Why `JSON.parse` rejected a file, without its message: V8 quotes the text around the error
 * (`Unexpected token 'h', ..."tSecret": hunter2}" is not valid JSON`), and a config file may hold secrets.
 *
 * @internal
 */
export const syntaxFailure = (text: string, error: unknown): string => {
  if (text.trim() === "") return "it is empty"
  const message = error instanceof Error ? error.message : ""
  const position = /at position (\d+)/.exec(message)
  if (position !== null) {
    const before = text.slice(0, Number(position[1]))
    const line = before.split("\n").length
    const column = before.length - before.lastIndexOf("\n")
    return `it is not valid JSON (syntax error at line ${line}, column ${column})`
  }
  if (message.includes("end of JSON input")) return "it is not valid JSON (it ends in the middle of a value)"
  return "it is not valid JSON"
}

/** @internal */
export const readJson = (flag: string, path: string, what: string) =>
  Effect.gen(function*() {
    const fail = (reason: string) => invalid(`Cannot use the file ${path} given with ${flag}: ${reason}. Pass ${what}.`)
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(fs.readFileString(path), (error) => fail(readFailure(error)))
    const json = yield* Effect.try({
      try: () => JSON.parse(text.replace(/^\uFEFF/, "")) as unknown,
      catch: (error) => fail(syntaxFailure(text, error))
    })
    if (!Predicate.isRecord(json)) {
      const holds = json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`
      return yield* Effect.fail(fail(`it holds ${holds}, not a JSON object`))
    }
    return json as unknown
  })

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/**
 * The version in the package.json one level above the calling module (`src/X.ts` and `dist/X.js` both sit one
 * level below it).
 *
 * @internal
 */
export const versionOf = (moduleUrl: string): string => {
  try {
    const pkg = createRequire(moduleUrl)("../package.json") as { readonly version?: unknown }
    return typeof pkg.version === "string" ? pkg.version : "0.0.0"
  } catch {
    return "0.0.0"
  }
}

const logLevels = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"] as const

/**
 * `@effect/cli`'s built-in `--log-level` is read only before the command's own flags (elsewhere it is an
 * "invalid subcommand"), and a usage error after it is printed twice. The kit takes it out of the arguments
 * wherever it is written and applies it itself.
 *
 * @internal
 */
export const extractLogLevel = (argv: ReadonlyArray<string>): {
  readonly argv: ReadonlyArray<string>
  readonly level: LogLevel.Literal | undefined
  readonly error: string | undefined
} => {
  const rest: Array<string> = []
  let level: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (i < 2) rest.push(arg)
    else if (arg === "--") {
      rest.push(...argv.slice(i))
      break
    } else if (arg.startsWith("--log-level=")) level = arg.slice("--log-level=".length)
    else if (arg === "--log-level") level = argv[++i] ?? ""
    else rest.push(arg)
  }
  if (level === undefined) return { argv: rest, level: undefined, error: undefined }
  const literal = logLevels.find((name) => name === level.toLowerCase())
  return literal === undefined
    ? { argv: rest, level: undefined, error: `--log-level ${quote(level)} is not one of: ${logLevels.join(", ")}` }
    : { argv: rest, level: capitalize(literal), error: undefined }
}

const capitalize = (name: (typeof logLevels)[number]): LogLevel.Literal =>
  name === "all" ? "All" : name === "none" ? "None" : (name[0]!.toUpperCase() + name.slice(1)) as LogLevel.Literal

/**
 * Runs a command on `process.argv`-style arguments: `--log-level` anywhere, and every failure that is not a
 * usage error (which `@effect/cli` prints with the usage) printed once to stderr as its message; a defect is
 * printed as a bug to report.
 *
 * @internal
 */
export const run = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  config: { readonly name: string; readonly version: string }
) => {
  const app = Command.run(command, config)
  return (
    argv: ReadonlyArray<string>
  ): Effect.Effect<void, E | ValidationError.ValidationError, R | CliApp.CliApp.Environment> =>
    Effect.suspend(() => {
      const { argv: rest, error, level } = extractLogLevel(argv)
      if (error !== undefined) {
        return Effect.zipRight(Console.error(error), Effect.fail(invalid(error)))
      }
      const run = Effect.flatMap(Effect.console, (console) => Console.withConsole(app(rest), withoutTextBlurb(console)))
      return level === undefined ? run : Logger.withMinimumLogLevel(run, LogLevel.fromLiteral(level))
    }).pipe(
      Effect.tapErrorCause((cause) => {
        if (Cause.isDie(cause)) {
          return Console.error(
            `${config.name} stopped on an unexpected error, which is a bug: please report it with this output.\n${
              Cause.pretty(cause)
            }`
          )
        }
        const printable = Chunk.toReadonlyArray(Cause.failures(cause)).filter((error) =>
          !ValidationError.isValidationError(error) &&
          !(Predicate.hasProperty(error, "printed") && error.printed === true)
        )
        return Effect.forEach(printable, (error) => Console.error(messageOf(error)), { discard: true })
      })
    )
}

/**
 * The kit's flags are text flags checked by `Options.mapEffect` (so that their errors can name them), and
 * `@effect/cli` 0.77 gives every text flag the help line "A user-defined piece of text." ahead of its own
 * description, with no way to give it another: the help drops that line (each flag has its description).
 */
const withoutTextBlurb = (console: Console.Console): Console.Console => {
  const blurb = /\n {2}A user-defined piece of text\.\n/g
  const clean = (args: ReadonlyArray<unknown>) =>
    args.map((arg) => typeof arg === "string" ? arg.replace(blurb, "") : arg)
  return { ...console, log: (...args) => console.log(...clean(args)) }
}

const messageOf = (error: unknown): string =>
  error instanceof Error
    ? error.message
    : Predicate.hasProperty(error, "message")
    ? String(error.message)
    : String(error)

/**
 * The exit code of a run: 0 when it succeeded (or was interrupted, when `interrupted` is 0), 2 when it failed on
 * its input (a `ValidationError`, or a failure `isUsageError` accepts), the failure's own numeric `exitCode` if it
 * has one, 1 otherwise; 70 (EX_SOFTWARE) for a defect.
 *
 * @internal
 */
export const exitCode = (
  exit: Exit.Exit<unknown, unknown>,
  options: { readonly isUsageError?: (error: unknown) => boolean; readonly interrupted?: number } = {}
): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return options.interrupted ?? 130
  if (Cause.isDie(exit.cause)) return 70
  const failures = Chunk.toReadonlyArray(Cause.failures(exit.cause))
  const codes = failures.map((error) =>
    Predicate.hasProperty(error, "exitCode") && typeof error.exitCode === "number"
      ? error.exitCode
      : ValidationError.isValidationError(error) || options.isUsageError?.(error) === true
      ? 2
      : 1
  )
  return codes[0] ?? 1
}

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g

/**
 * Whether the terminal wants colours: never with `NO_COLOR`, never when stdout is not a terminal (a pipe, a file,
 * CI logs) unless `FORCE_COLOR` asks for them.
 *
 * @internal
 */
export const wantsColor = (env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean => {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true
  return isTTY
}

/** @internal */
export const stripAnsi = (text: string): string => text.replace(ansi, "")

const plainConsole = (console: Console.Console): Console.Console => {
  const strip = (args: ReadonlyArray<unknown>) => args.map((arg) => typeof arg === "string" ? stripAnsi(arg) : arg)
  return {
    ...console,
    log: (...args) => console.log(...strip(args)),
    error: (...args) => console.error(...strip(args)),
    info: (...args) => console.info(...strip(args)),
    warn: (...args) => console.warn(...strip(args)),
    unsafe: {
      ...console.unsafe,
      log: (...args) => console.unsafe.log(...strip(args)),
      error: (...args) => console.unsafe.error(...strip(args))
    }
  }
}

/**
 * The main of every Bulwark executable: runs `program(process.argv)` with Node's context, without colours when
 * they are not wanted, and exits with {@link exitCode} (errors were already printed by {@link run}).
 *
 * @internal
 */
export const runMain = <E>(
  program: (argv: ReadonlyArray<string>) => Effect.Effect<void, E, CliApp.CliApp.Environment>,
  options: { readonly isUsageError?: (error: unknown) => boolean; readonly interrupted?: number } = {}
): void => {
  const color = wantsColor(process.env, process.stdout.isTTY === true)
  const main = Effect.suspend(() => program(process.argv)).pipe(
    (self) =>
      color ? self : Effect.flatMap(Effect.console, (console) => Console.withConsole(self, plainConsole(console))),
    Effect.provide(NodeContext.layer)
  )
  NodeRuntime.runMain(main, {
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(exitCode(exit, options))
  })
}
