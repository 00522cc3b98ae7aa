import { ApiError, Classify } from "@bulwark/core-errors"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

// Real HTTP over loopback: the transport errors come from undici itself, not from hand-made causes.
let server: Http.Server
let base: string

beforeAll(async () => {
  server = Http.createServer((req, res) => {
    if (req.url === "/reset") return req.socket.destroy()
    if (req.url === "/busy") {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "3", "x-request-id": "r-1" })
      return res.end(JSON.stringify({ code: 14, message: "scaling up" }))
    }
    if (req.url === "/item") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ id: "a", name: "A" }))
    }
    if (req.url === "/not-an-item") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ id: 1 }))
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

const client = HttpClient.HttpClient.pipe(Effect.map(Classify.client()))
const Item = Schema.Struct({ id: Schema.String, name: Schema.String })

describe("Classify.client over loopback", () => {
  it.effect("classifies a 503 with Retry-After and request id", () =>
    Effect.gen(function*() {
      const http = yield* client
      const error = yield* Effect.flip(http.get(`${base}/busy`))
      expect(error._tag).toBe("ServerError")
      expect(ApiError.retryDecision(error)).toBe("retry-after")
      expect("requestId" in error && error.requestId).toBe("r-1")
      expect("body" in error && error.body?.message).toBe("scaling up")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("a refused connection is a NetworkError that sent nothing", () =>
    Effect.gen(function*() {
      const http = yield* client
      // Port 1 on loopback is closed: the kernel refuses at once.
      const error = yield* Effect.flip(http.get("http://127.0.0.1:1/"))
      expect(error._tag).toBe("NetworkError")
      expect(error._tag === "NetworkError" && [error.code, error.sent]).toEqual(["ECONNREFUSED", false])
      expect(ApiError.retryDecision(error)).toBe("retry")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("a reset connection is a NetworkError that may have been applied", () =>
    Effect.gen(function*() {
      const http = yield* client
      const error = yield* Effect.flip(http.post(`${base}/reset`))
      expect(error._tag).toBe("NetworkError")
      expect(error._tag === "NetworkError" && error.sent).toBe(true)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("schemaBodyJson decodes a 2xx and fails with InvalidResponse otherwise", () =>
    Effect.gen(function*() {
      const http = yield* client
      const item = yield* http.get(`${base}/item`).pipe(Effect.flatMap(Classify.schemaBodyJson(Item)))
      expect(item).toEqual({ id: "a", name: "A" })
      const error = yield* Effect.flip(
        http.get(`${base}/not-an-item`).pipe(Effect.flatMap(Classify.schemaBodyJson(Item)))
      )
      expect(error._tag).toBe("InvalidResponse")
      expect(error.message).toContain("name")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
