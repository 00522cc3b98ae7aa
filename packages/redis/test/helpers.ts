import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient } from "@bulwark/http-client"
import { RedisFleet } from "@bulwark/redis"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Context, Effect, Exit, HashMap, Layer, Logger, Redacted, Schema, Scope } from "effect"
import { Redis } from "ioredis"
import * as net from "node:net"

/** The real Redis the tests run against (loopback). */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** Nothing listens there: connections are refused at once. */
export const UNREACHABLE_URL = "redis://127.0.0.1:1"

let counter = 0

/** A key prefix no other test (or test run) uses; every key under it is deleted when the scope closes. */
export const testPrefix: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => `test-${process.pid}-${Date.now()}-${counter++}`),
  (prefix) => Effect.promise(() => deleteKeys(`bulwark:${prefix}:*`))
)

/** An admin connection for assertions about keys. */
export const admin: Effect.Effect<Redis, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true })
    await client.connect()
    return client
  }),
  (client) => Effect.promise(() => client.quit().catch(() => undefined))
)

export const deleteKeys = async (pattern: string): Promise<number> => {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  try {
    await client.connect()
    let deleted = 0
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 500)
      cursor = next
      if (keys.length > 0) deleted += await client.del(...keys)
    } while (cursor !== "0")
    return deleted
  } finally {
    await client.quit().catch(() => undefined)
  }
}

export const keysOf = (client: Redis, prefix: string): Effect.Effect<Array<string>> =>
  Effect.promise(() => client.keys(`bulwark:${prefix}:*`))

export const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

export const withSandbox = (
  config: Parameters<typeof Sandbox.layer>[0]
): Layer.Layer<Sandbox.Sandbox | HttpClient.HttpClient, unknown> =>
  Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)

export const demoSource = (sandbox: Sandbox.Service) =>
  TokenSource.clientCredentials({
    tokenUrl: sandbox.tokenUrl,
    clientId: SandboxConfig.demoClient.clientId,
    clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
  })

export const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String })
export const Page = Schema.Struct({ items: Schema.Array(Item), nextCursor: Schema.NullOr(Schema.String) })

/** Collects every log line (message, annotations, cause) so tests can look for secrets and warnings. */
export const makeLogCapture = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    const notes = JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))
    const failure = Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause)}`
    lines.push(`${logLevel.label} ${text} ${notes}${failure}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/**
 * One in-process "replica": its own Redis connection (a `RedisFleet` layer), its own HTTP transport, its own
 * `TokenProvider` over the Redis store, and an `ApiClient` using them; everything closes with `close`.
 */
export interface Replica {
  readonly api: ApiClient.Service
  readonly tokens: TokenProvider.Service
  readonly context: Context.Context<any>
  readonly close: Effect.Effect<void>
}

export const makeReplica = (
  fleet: Layer.Layer<any, any>,
  sandbox: Sandbox.Service,
  options?: {
    readonly perAttempt?: (context: Context.Context<any>) => Effect.Effect<ReadonlyArray<ApiClient.Plugin>>
    readonly config?: Partial<ApiClient.ClientConfig>
  }
): Effect.Effect<Replica, unknown> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const base = yield* Layer.buildWithScope(Layer.merge(fleet, NodeHttpClient.layerUndici), scope)
    const tokens = yield* TokenProvider.make(demoSource(sandbox)).pipe(Effect.provide(base), Scope.extend(scope))
    const context = Context.add(base, TokenProvider.TokenProvider, tokens)
    const perAttempt = options?.perAttempt === undefined ? [] : yield* options.perAttempt(context)
    const api = yield* ApiClient.make({ baseUrl: sandbox.url, ...options?.config }, { perAttempt }).pipe(
      Effect.provide(context),
      Scope.extend(scope)
    )
    return { api, tokens, context, close: Scope.close(scope, Exit.void) }
  })

export const fleetLayer = (prefix: string, extra?: Partial<Parameters<typeof RedisFleet.layer>[0]>) =>
  RedisFleet.layer({ redis: REDIS_URL, keyPrefix: prefix, ...extra })

/**
 * A TCP proxy in front of Redis (loopback only) that can be told to hold everything back: Redis then looks
 * slow (connected, but no answer), which is what a timeout must handle. Nothing is dropped: what was held
 * is delivered, in order, when the stall ends.
 */
export const slowProxy: Effect.Effect<
  { readonly url: string; readonly stall: (on: boolean) => void },
  never,
  Scope.Scope
> = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly stall: (on: boolean) => void; readonly server: net.Server }>(
    (resume) => {
      const target = new URL(REDIS_URL)
      let stalled = false
      const sockets = new Set<net.Socket>()
      const held: Array<() => void> = []
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 6379), target.hostname)
        sockets.add(client)
        sockets.add(upstream)
        client.on("data", (chunk) => {
          if (stalled) held.push(() => upstream.write(chunk))
          else upstream.write(chunk)
        })
        upstream.on("data", (chunk) => {
          if (stalled) held.push(() => client.write(chunk))
          else client.write(chunk)
        })
        const end = () => {
          client.destroy()
          upstream.destroy()
        }
        client.on("error", end)
        upstream.on("error", end)
        client.on("close", end)
        upstream.on("close", end)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as net.AddressInfo
        resume(Effect.succeed({
          url: `redis://127.0.0.1:${address.port}`,
          stall: (on: boolean) => {
            stalled = on
            if (!on) { for (const deliver of held.splice(0)) deliver() }
          },
          server: Object.assign(server, { sockets })
        }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      for (const socket of (server as net.Server & { sockets: Set<net.Socket> }).sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)
