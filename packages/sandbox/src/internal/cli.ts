import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as Runtime from "@effect/platform/Runtime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"
import * as Kit from "./cliKit.js"
import * as Config from "./config.js"
import { SandboxConfigError } from "./errors.js"
import * as Server from "./server.js"

const port = Kit.integer("port", { min: 0, max: 65535 }).pipe(
  Options.withAlias("p"),
  Options.withDescription("The TCP port to listen on (0: any free port). Default: 8080."),
  Options.optional
)
const host = Options.text("host").pipe(
  Options.withDescription("The address to listen on. Default: 127.0.0.1 (loopback only)."),
  Options.optional
)
const faults = Kit.choice("faults", Config.presetNames).pipe(
  Options.withDescription("The preset of tokens, quotas and faults. Default: none."),
  Options.optional
)
const seed = Kit.integer("seed").pipe(
  Options.withDescription("Seeds every random choice: the same seed and requests give the same faults. Default: 1."),
  Options.optional
)
// The file is read and checked to be a JSON object here; its settings are checked with the flags by the sandbox's
// own config schema, which names each bad field and never echoes a value (a config file holds client secrets).
const configFile = Kit.jsonFile(
  "config",
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  "a JSON file holding a sandbox config object"
).pipe(
  Options.withDescription("A JSON file with a full sandbox config; the flags above override it."),
  Options.optional
)

/**
 * The server could not listen: the port is taken, needs privileges, or the host is not an address of this
 * machine. The message says which port and what to do.
 *
 * @internal
 */
export class ListenFailed extends Data.TaggedError("ListenFailed")<{
  readonly host: string
  readonly port: number
  readonly cause: HttpServerError.ServeError
}> {
  override get message(): string {
    const code = codeOf(this.cause)
    const where = `${this.host}:${this.port}`
    if (code === "EADDRINUSE") {
      return `Cannot listen on ${where}: port ${this.port} is already in use. Stop the program using it, or pass ` +
        "another --port (--port 0 picks any free port)."
    }
    if (code === "EACCES") {
      return `Cannot listen on ${where}: permission denied (ports below 1024 need privileges). Pass a --port ` +
        "above 1023, or --port 0 for any free port."
    }
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
      return `Cannot listen on ${where}: ${this.host} is not an address of this machine. Pass --host 127.0.0.1 ` +
        "(or 0.0.0.0 for every interface)."
    }
    return `Cannot listen on ${where}${code === undefined ? "" : ` (${code})`}. Try another --port or --host.`
  }
}

const codeOf = (error: HttpServerError.ServeError): string | undefined => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

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
export const version = (): string => Kit.versionOf(import.meta.url)

/** @internal */
export const command = Command.make(
  "bulwark-sandbox",
  { port, host, faults, seed, config: configFile },
  (options) =>
    Effect.gen(function*() {
      const file: Record<string, unknown> = Option.getOrElse(options.config, () => ({}))
      const input: Record<string, unknown> = { ...file }
      // The file's own port, if any, is validated like any other setting (not replaced by the default).
      if (Option.isSome(options.port)) input.port = options.port.value
      else if (!Object.hasOwn(file, "port")) input.port = 8080
      if (Option.isSome(options.host)) input.host = options.host.value
      if (Option.isSome(options.faults)) input.preset = options.faults.value
      if (Option.isSome(options.seed)) input.seed = options.seed.value
      const sandbox = yield* Server.make(input).pipe(
        Effect.catchTag("ServeError", (cause) =>
          new ListenFailed({
            host: typeof input.host === "string" ? input.host : "127.0.0.1",
            port: typeof input.port === "number" ? input.port : 8080,
            cause
          }))
      )
      yield* Console.log(banner(sandbox, file.clients === undefined, version()))
      yield* Effect.addFinalizer(() => Console.log("bulwark-sandbox stopped"))
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("A simulated partner API with injectable faults (see the @bulwark/sandbox README)."))

/**
 * `bulwark-sandbox simulate` could not load `@bulwark/simulation`: it is not installed, or (in a clone of the
 * repository) installed but not built yet. The message says which and what to run.
 *
 * @internal
 */
export class SimulationNotInstalled extends Data.TaggedError("SimulationNotInstalled")<{
  readonly reason: "not-installed" | "not-built"
  readonly cause: unknown
}> {
  override get message(): string {
    return this.reason === "not-built"
      ? "bulwark-sandbox simulate runs @bulwark/simulation, which is installed here but not built yet (this is a " +
        "clone of the repository): from the repository root, run `npm run sandbox -- simulate ...` or " +
        "`npm run simulate -- ...`, which build it first, or build it once with `npx nx run @bulwark/simulation:build`"
      : "bulwark-sandbox simulate runs @bulwark/simulation, which is not installed here; install it with " +
        "`npm install --save-dev @bulwark/simulation` (or run its own `bulwark-simulate`)"
  }
}

interface SimulationCliModule {
  readonly Cli: {
    readonly subcommand: Command.Command<"simulate", CliApp.CliApp.Environment, unknown, unknown>
  }
}

const description = "Runs a Bulwark client policy against this sandbox in virtual time (@bulwark/simulation; " +
  "`bulwark-sandbox simulate --help` for its flags)."

/**
 * The `simulate` subcommand: `@bulwark/simulation`'s own command when it can be loaded, else one that takes any
 * arguments and fails with the reason. The simulation depends on this package (and on the client it
 * simulates), so this package cannot import it statically: it is looked up once, when the CLI starts.
 */
const simulateCommand = Effect.gen(function*() {
  // Variable specifiers, so that no build tool (nor Nx's dependency graph) mistakes the optional lookup for a
  // dependency.
  const simulation: string = "@bulwark/simulation"
  const installed = Either.isRight(
    Either.try(() => createRequire(import.meta.url).resolve(`${simulation}/package.json`))
  )
  const specifier = `${simulation}/cli`
  const loaded = yield* Effect.either(Effect.tryPromise(() => import(specifier) as Promise<SimulationCliModule>))
  if (Either.isRight(loaded) && typeof loaded.right.Cli?.subcommand === "object") return loaded.right.Cli.subcommand
  const error = new SimulationNotInstalled({
    reason: installed ? "not-built" : "not-installed",
    cause: Either.isLeft(loaded) ? loaded.left : loaded.right
  })
  return Command.make("simulate", { arguments: Args.text({ name: "argument" }).pipe(Args.repeated) }, () => error)
    .pipe(Command.withDescription(`${description} Not available here: ${error.message}.`)) as Command.Command<
      "simulate",
      CliApp.CliApp.Environment,
      unknown,
      unknown
    >
})

/** @internal */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.flatMap(simulateCommand, (simulate) =>
    Kit.run(
      command.pipe(Command.withSubcommands([simulate])),
      { name: "bulwark-sandbox", version: version() }
    )(argv))

/** The input was wrong (an option, the config file, a setting): the user can fix it, so exit with 2. */
const isUsageError = (error: unknown): boolean => error instanceof SandboxConfigError

/**
 * The exit code of a run: 0 when it succeeded or was interrupted (SIGINT, SIGTERM), 2 when it failed on its input
 * (a bad option, config file or setting), 1 otherwise (a port in use, a missed simulation goal), 70 for a bug.
 *
 * @internal
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number =>
  Kit.exitCode(exit, { isUsageError, interrupted: 0 })

/** @internal */
export const teardown: Runtime.Teardown = (exit, onExit) => onExit(exitCode(exit))

/** @internal */
export const main = (): void => Kit.runMain(run, { isUsageError, interrupted: 0 })
