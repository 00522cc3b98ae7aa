import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient, type Plugins } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import type { HttpClientRequest } from "@effect/platform"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref, Schema, Supervisor } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

// The fused pipeline's branches that only the live clock and a real transport take: the attempt timeout ends
// an attempt by aborting its request, on the caller's fiber.

const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String, price: Schema.Number })
const Page = Schema.Struct({ items: Schema.Array(Item), nextCursor: Schema.NullOr(Schema.String) })

const withSandbox = (config: Parameters<typeof Sandbox.layer>[0]) =>
  Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)

/** Counts every fiber started under it (`Supervisor.track` keeps only the ones still running). */
class CountingSupervisor extends Supervisor.AbstractSupervisor<number> {
  started = 0
  get value() {
    return Effect.sync(() => this.started)
  }
  override onStart() {
    this.started += 1
  }
}

describe("the fused pipeline on the live clock", () => {
  it.live("a call with a cached token starts no fiber: the attempt timeout is a timer, not a racing fiber", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const api = yield* ApiClient.make({ baseUrl: sandbox.url, auth: { token: yield* tokenOf(sandbox) } })
      yield* api.get("/v1/items?limit=1", Page)
      const supervisor = new CountingSupervisor()
      yield* Effect.supervised(
        Effect.forEach(Array.from({ length: 20 }, (_, i) => i), () => api.get("/v1/items?limit=1", Page), {
          discard: true
        }),
        supervisor
      )
      // Fibers started by the 20 calls (the platform's own body reader runs outside this fiber tree).
      expect(yield* supervisor.value).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 3 }))))

  it.live("a hung response is ended by aborting its request, and the attempt fails with Timeout", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.setFaults({ hang: 1 })
      const api = yield* ApiClient.make({
        baseUrl: sandbox.url,
        auth: { token: yield* tokenOf(sandbox) },
        attemptTimeout: "150 millis",
        retry: false
      })
      const started = Date.now()
      const error = yield* Effect.flip(api.get("/v1/items?limit=1", Page))
      expect(error._tag).toBe("Timeout")
      expect(error._tag === "Timeout" && error.phase).toBe("attempt")
      expect(Date.now() - started).toBeLessThan(2_000)
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 4 }))))

  it.live("a wait for a token inside the attempt is cut short by the attempt timeout", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const fetches = yield* Ref.make(0)
      // A token endpoint that never answers: the attempt must end at its timeout, not at the fetch's.
      const never = TokenSource.fromEffect(Effect.zipRight(Ref.update(fetches, (n) => n + 1), Effect.never))
      const provider = yield* TokenProvider.make(never)
      const api = yield* ApiClient.make({ baseUrl: sandbox.url, attemptTimeout: "150 millis", retry: false }).pipe(
        Effect.provideService(TokenProvider.TokenProvider, provider)
      )
      const started = Date.now()
      const error = yield* Effect.flip(api.get("/v1/items?limit=1", Page))
      expect(error._tag).toBe("Timeout")
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(yield* Ref.get(fetches)).toBe(1)
      const stats = yield* sandbox.stats
      expect(stats.requests["GET /v1/items"]).toBeUndefined()
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 5 }))))

  it.live("interrupting a call aborts its request: the server sees the connection closed at once", () =>
    Effect.gen(function*() {
      // A server that never answers and records when a client gives up on a request.
      const closed: Array<number> = []
      const server = Http.createServer((req) => {
        req.on("close", () => closed.push(Date.now()))
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () =>
          Effect.sync(() => server.closeAllConnections?.()).pipe(
            Effect.zipRight(Effect.async<void>((resume) => void server.close(() => resume(Effect.void))))
          )
      )
      const port = (server.address() as AddressInfo).port
      const api = yield* ApiClient.make({ baseUrl: `http://127.0.0.1:${port}/v1`, auth: "none" })
      const interruptedAt = Date.now()
      const exit = yield* Effect.exit(Effect.timeout(api.get("/items", Page), "100 millis"))
      expect(exit._tag).toBe("Failure")
      // The caller-owned controller is aborted on interruption: without it the request would hang until the
      // attempt timeout (10 s) and the server would see nothing.
      yield* Effect.sleep("300 millis")
      expect(closed.length).toBe(1)
      expect(closed[0]! - interruptedAt).toBeLessThan(1_000)
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
})

describe("per-attempt plugins in the fused pipeline", () => {
  it.live("run in the order given: the last plugin is the outermost, as plugins.reduce would compose them", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const order: Array<string> = []
      const named = (name: string): ApiClient.Plugin => <E, R>(self: Plugins.Client<E, R>) =>
        HttpClient.mapRequestEffect(self, (request: HttpClientRequest.HttpClientRequest) =>
          Effect.sync(() => {
            order.push(name)
            return request
          }))
      const api = yield* ApiClient.make({ baseUrl: sandbox.url, auth: { token: yield* tokenOf(sandbox) } }, {
        perAttempt: [named("first"), named("second")]
      })
      yield* api.get("/v1/items?limit=1", Page)
      expect(order).toEqual(["second", "first"])
    }).pipe(Effect.scoped, Effect.provide(withSandbox({ seed: 7 }))))
})

/** A token the sandbox accepts, fetched once, so the calls under test carry a fixed one. */
const tokenOf = (sandbox: Sandbox.Service) =>
  Effect.map(
    TokenProvider.make(
      TokenSource.clientCredentials({
        tokenUrl: sandbox.tokenUrl,
        clientId: SandboxConfig.demoClient.clientId,
        clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
      })
    ).pipe(Effect.flatMap((provider) => provider.get)),
    (token) => token.value
  )
