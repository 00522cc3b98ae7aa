import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constTrue } from "effect/Function"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { InMemoryOptions } from "../Sandbox.js"
import * as App from "./app.js"
import type { Client, Faults, PresetName, SandboxConfig } from "./config.js"
import * as Config from "./config.js"
import * as Connection from "./connection.js"
import { SandboxConfigError } from "./errors.js"
import * as Memory from "./memory.js"
import type { Stats } from "./stats.js"

/** @internal */
export interface Control {
  readonly config: SandboxConfig
  readonly clients: ReadonlyArray<Client>
  readonly stats: Effect.Effect<Stats>
  readonly reset: Effect.Effect<void>
  readonly revokeTokens: (clientId?: string) => Effect.Effect<number>
  readonly setFaults: (faults: Config.FaultsInput) => Effect.Effect<void, SandboxConfigError>
  readonly usePreset: (preset: PresetName) => Effect.Effect<void>
}

/** @internal */
export interface Running extends Control {
  readonly url: string
  readonly tokenUrl: string
  readonly port: number
}

/** @internal */
export const decodeConfig = (input: unknown): Effect.Effect<SandboxConfig, SandboxConfigError> =>
  Either.match(Config.decode(input), {
    onLeft: (issues) => Effect.fail(new SandboxConfigError({ issues })),
    onRight: Effect.succeed
  })

/** @internal */
export const decodeFaults = (input: unknown): Effect.Effect<Faults, SandboxConfigError> =>
  Either.match(Config.decodeFaultsInput(input), {
    onLeft: (issues) => Effect.fail(new SandboxConfigError({ issues })),
    onRight: Effect.succeed
  })

/** @internal */
export const makeApp = (input: unknown) =>
  Effect.gen(function*() {
    const config = yield* decodeConfig(input)
    const { app, control } = yield* App.make(config)
    const publicControl: Control = {
      ...control,
      clients: config.clients,
      setFaults: (faults) => Effect.flatMap(decodeFaults(faults), control.setFaults)
    }
    return { app, control: publicControl }
  })

const urlHost = (host: string): string =>
  host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host

/** @internal */
export const make = (
  input: unknown
): Effect.Effect<Running, SandboxConfigError | HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const { app, control } = yield* makeApp(input)
    const server = Http.createServer()
    const httpServer: HttpServer.HttpServer = yield* NodeHttpServer.make(() => server, {
      host: control.config.host,
      port: control.config.port
    })
    // Hung and stalled responses keep their connections open: close every connection on shutdown, or the
    // server would wait for them forever.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        if (!server.listening) {
          server.closeAllConnections()
          return resume(Effect.void)
        }
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    )
    // No server spans: the sandbox stands in for a remote API, and a span per request would cost a third of
    // its throughput and clutter the traces of the client under test.
    yield* httpServer.serve(Effect.provideService(app, Connection.ConnectionControl, Connection.node)).pipe(
      Effect.locally(HttpMiddleware.currentTracerDisabledWhen, constTrue)
    )
    const address = httpServer.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const url = `http://${urlHost(control.config.host)}:${port}`
    return { ...control, url, tokenUrl: `${url}/oauth/token`, port }
  })

/** @internal */
export const makeInMemory = (
  input: unknown,
  options?: InMemoryOptions
): Effect.Effect<{ readonly sandbox: Running; readonly client: HttpClient.HttpClient }, SandboxConfigError> =>
  Effect.map(makeApp(input), ({ app, control }) => ({
    sandbox: { ...control, url: Memory.origin, tokenUrl: `${Memory.origin}/oauth/token`, port: 80 },
    client: Memory.client(app, options)
  }))
