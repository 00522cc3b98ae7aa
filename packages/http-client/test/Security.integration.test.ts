import { AccessToken, TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient } from "@bulwark/http-client"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Ref, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import { withRecordedSpans } from "./recordingTracer.js"

// Real HTTP over loopback: an "API" server and a second origin that records what reaches it.

const Item = Schema.Struct({ id: Schema.String })
const TOKEN = "CANARY-live-token-7f3a"
const SECRET_QUERY = "CANARY-query-secret-91"

interface Received {
  readonly url: string
  readonly authorization: string | undefined
  readonly traceparent: string | undefined
}

const server = (handle: (req: Http.IncomingMessage, res: Http.ServerResponse, received: Array<Received>) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly received: Array<Received> }>((resume) => {
      const received: Array<Received> = []
      const http = Http.createServer((req, res) => {
        received.push({
          url: req.url ?? "",
          authorization: req.headers.authorization,
          traceparent: req.headers.traceparent as string | undefined
        })
        handle(req, res, received)
      })
      http.listen(0, "127.0.0.1", () => {
        const port = (http.address() as AddressInfo).port
        resume(Effect.succeed(Object.assign({ url: `http://127.0.0.1:${port}`, received }, { http })))
      })
    }),
    (s) =>
      Effect.async<void>((resume) => {
        const http = (s as unknown as { http: Http.Server }).http
        // Hung responses keep their sockets open: close them, or close() waits for them.
        http.closeAllConnections()
        http.close(() => resume(Effect.void))
      })
  )

const json = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** A token source that counts its fetches: token CANARY-live-token-7f3a-1, -2, ... */
const countingTokens = Effect.gen(function*() {
  const count = yield* Ref.make(0)
  const source = TokenSource.fromEffect(
    Effect.flatMap(
      Ref.updateAndGet(count, (n) => n + 1),
      (n) => AccessToken.make({ value: `${TOKEN}-${n}`, expiresIn: "1 hour" })
    )
  )
  return { provider: yield* TokenProvider.make(source), fetched: Ref.get(count) }
})

describe("security over loopback HTTP", () => {
  it.live("a redirect to another origin never carries the token; followed only without it when allowed", () =>
    Effect.gen(function*() {
      const other = yield* server((_req, res) => json(res, 200, { id: "elsewhere" }))
      const api = yield* server((req, res) => {
        res.writeHead(302, { location: `${other.url}/collect?from=${req.url}` })
        res.end()
      })
      const refusing = yield* ApiClient.make({ baseUrl: api.url, auth: { token: Redacted.make(TOKEN) } })
      const error = yield* Effect.flip(refusing.get("/items/1", Item))
      expect(error._tag).toBe("InvalidResponse")
      expect(error.message).toContain(`was redirected (302 Found) to ${other.url}/collect`)
      expect(other.received).toEqual([])

      const following = yield* ApiClient.make({
        baseUrl: api.url,
        auth: { token: Redacted.make(TOKEN) },
        redirects: { crossOrigin: "follow-without-credentials" }
      })
      expect(yield* following.get("/items/1", Item)).toEqual({ id: "elsewhere" })
      expect(other.received.map((r) => r.authorization)).toEqual([undefined])
      expect(api.received.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))

  it.live("a transport that follows redirects itself: the exposed token is discarded and never used again", () =>
    Effect.gen(function*() {
      const other = yield* server((_req, res) => json(res, 200, { id: "elsewhere" }))
      const api = yield* server((req, res) =>
        req.url === "/moved"
          ? (res.writeHead(302, { location: `${other.url}/collect` }), res.end())
          : json(res, 200, { id: "home" })
      )
      const tokens = yield* countingTokens
      const transport = yield* HttpClient.HttpClient
      const client = yield* ApiClient.make({ baseUrl: api.url, retry: false }).pipe(
        Effect.provideService(HttpClient.HttpClient, HttpClient.followRedirects(transport)),
        Effect.provideService(TokenProvider.TokenProvider, tokens.provider)
      )
      const error = yield* Effect.flip(client.get("/moved", Item))
      expect(error._tag).toBe("NetworkError")
      expect(error.message).toContain("remove HttpClient.followRedirects")
      expect(yield* client.get("/items/1", Item)).toEqual({ id: "home" })
      // The second call went out with a new token: the one the transport exposed is dead to this client.
      expect(api.received.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}-1`, `Bearer ${TOKEN}-2`])
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))

  it.live("spans end with nothing secret reachable; no platform transport span; traceparent still sent", () =>
    Effect.gen(function*() {
      const api = yield* server((req, res) =>
        req.url?.startsWith("/fail") ? json(res, 503, { code: 503, message: "down" }) : json(res, 200, { id: "a" })
      )
      const client = yield* ApiClient.make({
        baseUrl: api.url,
        auth: { token: Redacted.make(TOKEN) },
        retry: false
      })
      const { spans } = yield* withRecordedSpans(
        Effect.gen(function*() {
          yield* client.get("/items/1", Item, { urlParams: { access_token: SECRET_QUERY } })
          yield* Effect.flip(client.get("/fail", Item, { urlParams: { access_token: SECRET_QUERY } }))
        })
      )
      expect(spans.map((s) => s.name)).not.toContain("http.client GET")
      expect(spans.filter((s) => s.name === "bulwark.http.call")).toHaveLength(2)
      for (const span of spans) {
        const seen = inspect({ attributes: span.attributes, exit: span.exit, events: span.events }, { depth: 30 })
        expect(seen).not.toContain(TOKEN)
        expect(seen).not.toContain(SECRET_QUERY)
        expect(seen).not.toContain("HttpClientResponse")
      }
      // Trace context still reaches the API, from Bulwark's attempt span.
      expect(api.received.every((r) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(r.traceparent ?? ""))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))

  it.live("bufferBody: false — a body that stalls after the headers is bounded by the call's deadline", () =>
    Effect.gen(function*() {
      const api = yield* server((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write("{\"id\":")
        // ...and never finishes: the socket stays open until the server closes.
      })
      const client = yield* ApiClient.make({
        baseUrl: api.url,
        auth: "none",
        bufferBody: false,
        deadline: "400 millis"
      })
      const started = Date.now()
      const error = yield* Effect.flip(client.get("/items/1", Item))
      const took = Date.now() - started
      expect(error._tag).toBe("Timeout")
      expect(error._tag === "Timeout" && error.phase).toBe("deadline")
      expect(took).toBeLessThan(5_000)
      // A per-call deadline overrides the configured one, in the ApiError channel.
      const quick = yield* Effect.flip(client.get("/items/1", Item, { deadline: "100 millis" }))
      expect(quick._tag === "Timeout" && Option.some(quick.phase)).toEqual(Option.some("deadline"))
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
})
