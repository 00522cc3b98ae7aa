/**
 * A simulated partner API: an OAuth2 client-credentials token endpoint, `/v1/items` resource routes with
 * roles, validation, quotas and idempotency keys, seeded fault injection and a stats endpoint, built as an
 * `@effect/platform` `HttpApp` and served by `@effect/platform-node`'s `NodeHttpServer`.
 *
 * Three ways to use it:
 *
 * - in tests, as a scoped Layer: `Sandbox.layer(config)` listens on an ephemeral loopback port and provides
 *   the {@link Sandbox} service (its `url`, credentials, `stats` and controls);
 * - programmatically: `Sandbox.make(config)` in a `Scope`, or `Sandbox.makeApp(config)` for the bare
 *   `HttpApp` (to serve it on any transport);
 * - in memory: `Sandbox.layerInMemory(config)` provides the {@link Sandbox} service and an `HttpClient` that
 *   hands each request straight to the same app in the same runtime (no sockets), so the sandbox and the
 *   client under test share one `Clock`: a `TestClock` (or `@bulwark/simulation`'s virtual time) drives both;
 * - from a shell: `bulwark-sandbox --port 8080 --faults realistic --seed 7`.
 *
 * All time comes from Effect's `Clock` (token expiry, quotas, Retry-After dates, fault windows, latency,
 * hangs) and all randomness from the config's `seed`, so a `TestClock` drives it and a run is reproducible.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as ConnectionControl from "./ConnectionControl.js"
import type * as Faults from "./Faults.js"
import * as internal from "./internal/server.js"
import type * as Preset from "./Preset.js"
import type * as SandboxConfig from "./SandboxConfig.js"
import type * as Stats from "./Stats.js"

/**
 * The handle of a sandbox, for tests and tools:
 *
 * - `config`, `clients`: the validated config and its OAuth clients (secrets `Redacted`);
 * - `stats`: a snapshot of what the sandbox counted;
 * - `reset`: forgets items, tokens, idempotency keys, quotas and stats, and restarts the fault sequence;
 * - `revokeTokens(clientId?)`: revokes every token (of one client), returning how many;
 * - `setFaults(faults)`: replaces the faults (windows restart from now);
 * - `usePreset(name)`: switches to a preset's tokens, quota and faults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Control {
  readonly config: SandboxConfig.SandboxConfig
  readonly clients: ReadonlyArray<SandboxConfig.Client>
  readonly stats: Effect.Effect<Stats.Stats>
  readonly reset: Effect.Effect<void>
  readonly revokeTokens: (clientId?: string) => Effect.Effect<number>
  readonly setFaults: (faults: Faults.Input) => Effect.Effect<void, SandboxConfig.SandboxConfigError>
  readonly usePreset: (preset: Preset.Name) => Effect.Effect<void>
}

/**
 * A running sandbox: its {@link Control}, its base `url` (`http://127.0.0.1:<port>`, no trailing slash),
 * its `tokenUrl` and its `port`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends Control {
  readonly url: string
  readonly tokenUrl: string
  readonly port: number
}

/**
 * The running sandbox provided by {@link layer}.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@bulwark/sandbox"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const sandbox = yield* Sandbox.Sandbox
 *   const stats = yield* sandbox.stats
 *   return `${sandbox.url}: ${stats.itemsStored} items`
 * }).pipe(Effect.provide(Sandbox.layer({ preset: "realistic", seed: 7 })))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Sandbox extends Context.Tag("@bulwark/sandbox/Sandbox")<Sandbox, Service>() {}

/**
 * The sandbox as a bare `HttpApp` and its {@link Control}. The app never fails: every problem is an HTTP
 * response. It needs a {@link ConnectionControl.ConnectionControl} for the connection-reset faults.
 *
 * @since 0.1.0
 * @category models
 */
export interface SandboxApp {
  readonly app: HttpApp.Default<never, ConnectionControl.ConnectionControl>
  readonly control: Control
}

/**
 * Builds the sandbox's `HttpApp` without serving it, so any transport can serve it: a Node server, a web
 * handler (`HttpApp.toWebHandler`), or an in-memory client running in the same fiber runtime. The app's
 * fault windows start when it is built, by the `Clock` of the fiber building it.
 *
 * @example
 * ```ts
 * import { ConnectionControl, Sandbox } from "@bulwark/sandbox"
 * import { HttpApp } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const handler = Effect.map(Sandbox.makeApp(), ({ app }) =>
 *   HttpApp.toWebHandler(Effect.provideService(app, ConnectionControl.ConnectionControl, ConnectionControl.node)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeApp = (
  config?: SandboxConfig.Input
): Effect.Effect<SandboxApp, SandboxConfig.SandboxConfigError> => internal.makeApp(config)

/**
 * Starts the sandbox on a Node HTTP server (by default on `127.0.0.1`, on a free port) for the lifetime of
 * the scope. Closing the scope closes every connection, hung ones included.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config?: SandboxConfig.Input
): Effect.Effect<Service, SandboxConfig.SandboxConfigError | HttpServerError.ServeError, Scope.Scope> =>
  internal.make(config)

/**
 * A scoped Layer running the sandbox (see {@link make}) and providing {@link Sandbox}.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@bulwark/sandbox"
 * import { HttpClient } from "@effect/platform"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * const TestLayer = Layer.merge(Sandbox.layer({ seed: 7 }), NodeHttpClient.layerUndici)
 *
 * const health = Effect.gen(function*() {
 *   const sandbox = yield* Sandbox.Sandbox
 *   return yield* HttpClient.get(`${sandbox.url}/__sandbox/health`)
 * }).pipe(Effect.provide(TestLayer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config?: SandboxConfig.Input
): Layer.Layer<Sandbox, SandboxConfig.SandboxConfigError | HttpServerError.ServeError> =>
  Layer.scoped(Sandbox, internal.make(config))

/**
 * Options of the in-memory transport.
 *
 * - `latency`: the simulated round-trip time of every exchange, spent half before the sandbox sees the
 *   request and half before the client sees the response (default 0: answers arrive at the instant sent).
 *
 * @since 0.1.0
 * @category models
 */
export interface InMemoryOptions {
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * A sandbox served in memory: its {@link Service} (with `url` `http://sandbox.test`) and the `HttpClient`
 * that reaches it.
 *
 * @since 0.1.0
 * @category models
 */
export interface InMemory {
  readonly sandbox: Service
  readonly client: HttpClient.HttpClient
}

/**
 * Builds the sandbox's app and an `HttpClient` that serves every request to `http://sandbox.test` with it
 * in the calling runtime: no socket, no event-loop turn, and the sandbox's time is the client's `Clock`.
 * The app is the very one {@link make} serves over TCP, so every route, quota and fault behaves the same;
 * a connection reset reaches the client as the `ECONNRESET` transport error undici reports, a hung
 * response hangs until the client's timeout interrupts it. A request to any other origin fails with a
 * `RequestError` and never leaves the process (`.test` names cannot resolve, RFC 2606).
 *
 * @example
 * ```ts
 * import { Sandbox } from "@bulwark/sandbox"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const { client, sandbox } = yield* Sandbox.makeInMemory({ preset: "realistic", seed: 7 })
 *   const response = yield* client.get(`${sandbox.url}/__sandbox/health`)
 *   return response.status // 200
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInMemory = (
  config?: SandboxConfig.Input,
  options?: InMemoryOptions
): Effect.Effect<InMemory, SandboxConfig.SandboxConfigError> => internal.makeInMemory(config, options)

/**
 * {@link makeInMemory} as a Layer providing {@link Sandbox} and the `HttpClient` that reaches it: swap it for
 * `Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)` and the same test runs without sockets,
 * under `TestClock`.
 *
 * @example
 * ```ts
 * import { Sandbox } from "@bulwark/sandbox"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const stats = Effect.gen(function*() {
 *   const sandbox = yield* Sandbox.Sandbox
 *   yield* HttpClient.get(`${sandbox.url}/v1/items`) // 401: no token
 *   return yield* sandbox.stats
 * }).pipe(Effect.provide(Sandbox.layerInMemory({ seed: 7 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInMemory = (
  config?: SandboxConfig.Input,
  options?: InMemoryOptions
): Layer.Layer<Sandbox | HttpClient.HttpClient, SandboxConfig.SandboxConfigError> =>
  Layer.effectContext(
    Effect.map(makeInMemory(config, options), ({ client, sandbox }) =>
      Context.make(Sandbox, sandbox).pipe(Context.add(HttpClient.HttpClient, client)))
  )
