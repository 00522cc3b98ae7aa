import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Runtime from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import { createRequire } from "node:module"
import * as Config from "./config.js"
import { SandboxConfigError } from "./errors.js"
import * as Server from "./server.js"

/** @internal */
export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `Cannot use the config file ${this.path} given with --config: ${this.reason}. ` +
      "Pass a JSON file holding a sandbox config object."
  }
}

const port = Options.integer("port").pipe(
  Options.withAlias("p"),
  Options.withDescription("The TCP port to listen on (0: any free port). Default: 8080."),
  Options.optional
)
const host = Options.text("host").pipe(
  Options.withDescription("The address to listen on. Default: 127.0.0.1 (loopback only)."),
  Options.optional
)
const faults = Options.choice("faults", Config.presetNames).pipe(
  Options.withDescription("The preset of tokens, quotas and faults. Default: none."),
  Options.optional
)
const seed = Options.integer("seed").pipe(
  Options.withDescription("Seeds every random choice: the same seed and requests give the same faults. Default: 1."),
  Options.optional
)
// `exists: "either"`: a missing file is reported by `readConfigFile`, which names the option.
const configFile = Options.file("config", { exists: "either" }).pipe(
  Options.withDescription("A JSON file with a full sandbox config; the flags above override it."),
  Options.optional
)

const readFailure = (error: PlatformError.PlatformError): string => {
  if (error._tag === "SystemError" && error.reason === "NotFound") return "it does not exist"
  if (error._tag === "SystemError" && error.reason === "PermissionDenied") {
    return "it may not be read (permission denied)"
  }
  return `it could not be read (${error.message})`
}

/**
 * Why `JSON.parse` rejected a file, without its message: V8 quotes the text around the error
 * (`Unexpected token 'h', ..."tSecret": hunter2}" is not valid JSON`), and a config file holds client secrets.
 */
const syntaxFailure = (text: string, error: unknown): string => {
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

const readConfigFile = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(fs.readFileString(path), (error) =>
      new ConfigFileError({ path, reason: readFailure(error) }))
    const json = yield* Effect.try({
      try: () =>
        JSON.parse(text.replace(/^\uFEFF/, "")) as unknown,
      catch: (error) => new ConfigFileError({ path, reason: syntaxFailure(text, error) })
    })
    if (!Predicate.isRecord(json)) {
      const holds = json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`
      return yield* new ConfigFileError({ path, reason: `it holds ${holds}, not a JSON object` })
    }
    return json
  })

/** @internal */
export const banner = (sandbox: Server.Running, builtInClients: boolean, version: string): string => {
  const lines = [
    `bulwark-sandbox ${version} listening on ${sandbox.url} (preset: ${sandbox.config.preset}, seed: ${sandbox.config.seed})`,
    `  token URL:  ${sandbox.tokenUrl}  (OAuth2 client credentials, HTTP Basic or form)`,
    `  items:      ${sandbox.url}/v1/items`,
    `  stats:      ${sandbox.url}/__sandbox/stats`
  ]
  if (builtInClients) {
    lines.push("  built-in sandbox clients (sandbox-only credentials, published in the README, not real secrets):")
    for (const client of sandbox.clients) {
      lines.push(
        `    client_id=${client.clientId}  client_secret=${Redacted.value(client.clientSecret)}  roles: ${
          client.roles.join(" ")
        }`
      )
    }
  } else {
    lines.push("  clients (secrets as set in the config file):")
    for (const client of sandbox.clients) {
      lines.push(`    client_id=${client.clientId}  roles: ${client.roles.join(" ")}`)
    }
  }
  lines.push("Press Ctrl+C to stop.")
  return lines.join("\n")
}

/** @internal */
export const version = (): string => {
  try {
    // src/Cli.ts and dist/Cli.js both sit one level below package.json.
    const pkg = createRequire(import.meta.url)("../package.json") as { readonly version?: unknown }
    return typeof pkg.version === "string" ? pkg.version : "0.0.0"
  } catch {
    return "0.0.0"
  }
}

/** @internal */
export const command = Command.make(
  "bulwark-sandbox",
  { port, host, faults, seed, config: configFile },
  (options) =>
    Effect.gen(function*() {
      const file = Option.isSome(options.config) ? yield* readConfigFile(options.config.value) : {}
      const input: Record<string, unknown> = { ...file }
      // The file's own port, if any, is validated like any other setting (not replaced by the default).
      if (Option.isSome(options.port)) input.port = options.port.value
      else if (!Object.hasOwn(file, "port")) input.port = 8080
      if (Option.isSome(options.host)) input.host = options.host.value
      if (Option.isSome(options.faults)) input.preset = options.faults.value
      if (Option.isSome(options.seed)) input.seed = options.seed.value
      const sandbox = yield* Server.make(input)
      yield* Console.log(banner(sandbox, file.clients === undefined, version()))
      yield* Effect.addFinalizer(() => Console.log("bulwark-sandbox stopped"))
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.tapError((error) => Console.error(error.message))
    )
).pipe(Command.withDescription("A simulated partner API with injectable faults (see the @bulwark/sandbox README)."))

/** @internal */
export class SimulationNotInstalled extends Data.TaggedError("SimulationNotInstalled")<{ readonly cause: unknown }> {
  override get message(): string {
    return "bulwark-sandbox simulate runs @bulwark/simulation, which is not installed here; install it with " +
      "`npm install --save-dev @bulwark/simulation` (or run its own `bulwark-simulate`)"
  }
}

/** @internal */
export class SimulationFailed extends Data.TaggedError("SimulationFailed")<{ readonly cause: unknown }> {
  override get message(): string {
    return "bulwark-sandbox simulate failed (see above)"
  }
}

interface SimulationModule {
  readonly Cli: {
    readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, CliApp.CliApp.Environment>
  }
}

/**
 * `bulwark-sandbox simulate ...` hands its arguments to `@bulwark/simulation`'s CLI, the way `git foo` runs
 * `git-foo`: the simulation depends on this package (and on the client it simulates), so this package can
 * only look for it at run time. The specifier is a variable so that no build tool mistakes it for a
 * dependency.
 */
const simulate = (argv: ReadonlyArray<string>) => {
  const specifier: string = "@bulwark/simulation"
  return Effect.tryPromise({
    try: () => import(specifier) as Promise<SimulationModule>,
    catch: (cause) => new SimulationNotInstalled({ cause })
  }).pipe(
    Effect.filterOrFail(
      (module) => typeof module.Cli?.run === "function",
      (module) => new SimulationNotInstalled({ cause: module })
    ),
    Effect.tapError((error) => Console.error(error.message)),
    Effect.flatMap((module) =>
      // The simulation printed its own errors (and a missed goal): only the exit code is left to set.
      Effect.mapError(
        module.Cli.run([argv[0] ?? "node", "bulwark-sandbox simulate", ...argv.slice(3)]),
        (cause) => new SimulationFailed({ cause })
      )
    )
  )
}

/** @internal */
export const run = (argv: ReadonlyArray<string>) => {
  const serve = Command.run(command, { name: "bulwark-sandbox", version: version() })
  return Effect.suspend((): Effect.Effect<
    void,
    Effect.Effect.Error<ReturnType<typeof serve>> | SimulationNotInstalled | SimulationFailed,
    CliApp.CliApp.Environment
  > => argv[2] === "simulate" ? simulate(argv) : serve(argv)).pipe(
    // Errors are printed where they happen; a defect is a bug, which must not end the process silently.
    Effect.tapErrorCause((cause) =>
      Cause.isDie(cause)
        ? Console.error(
          `bulwark-sandbox stopped on an unexpected error, which is a bug: please report it with this output.\n${
            Cause.pretty(cause)
          }`
        )
        : Effect.void
    )
  )
}

/** The input was wrong (an option, the config file, a setting): the user can fix it, so exit with 2. */
const isUsageError = (error: unknown): boolean =>
  error instanceof ConfigFileError || error instanceof SandboxConfigError || ValidationError.isValidationError(error)

/**
 * The exit code of a run: 0 when it succeeded or was interrupted (SIGINT, SIGTERM), 2 when it failed on its input
 * (a bad option, config file or setting), 1 otherwise.
 *
 * @internal
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failures = Chunk.toReadonlyArray(Cause.failures(exit.cause))
  return !Cause.isDie(exit.cause) && failures.length > 0 && failures.every(isUsageError) ? 2 : 1
}

/** @internal */
export const teardown: Runtime.Teardown = (exit, onExit) => onExit(exitCode(exit))
