import { Classify } from "@bulwark/core-errors"
import { Sandbox } from "@bulwark/sandbox"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { exchange, inMemoryLayer, item, send, stats, token, withToken } from "./utils.js"

const getItems = (accessToken: string) => send(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))

describe("the in-memory transport", () => {
  it.effect("a connection reset reaches the client as the ECONNRESET undici reports, classified the same", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const error = yield* Effect.flip(getItems(accessToken))
      expect(error._tag).toBe("RequestError")
      expect((error.cause as { code?: string }).code).toBe("ECONNRESET")
      const classified = yield* Classify.httpClientError(error)
      expect(classified._tag).toBe("NetworkError")
      expect((yield* stats).requests["GET /v1/items"]).toEqual({ reset: 1 })
    }).pipe(Effect.provide(inMemoryLayer({ faults: { resetBefore: 1 } }))))

  it.effect("a reset after processing keeps what the sandbox did: the item is stored, the client hears nothing", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const error = yield* Effect.flip(
        send(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
      )
      expect((error.cause as { code?: string }).code).toBe("ECONNRESET")
      expect((yield* stats).itemsStored).toBe(1)
    }).pipe(Effect.provide(inMemoryLayer({ faults: { resetAfter: 1 } }))))

  it.effect("a hung response hangs in simulated time until the caller gives up", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const fiber = yield* Effect.fork(getItems(accessToken))
      yield* TestClock.adjust("1 hour")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      const timedOut = yield* getItems(accessToken).pipe(Effect.timeout("2 seconds"), Effect.fork)
      yield* TestClock.adjust("2 seconds")
      expect((yield* Effect.flip(Fiber.join(timedOut)))._tag).toBe("TimeoutException")
      yield* Fiber.interrupt(fiber)
      expect((yield* stats).requests["GET /v1/items"]).toEqual({ hung: 2 })
    }).pipe(Effect.provide(inMemoryLayer({ faults: { hang: 1 } }))))

  it.effect("a stalled body: status and headers arrive, the body never completes", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const response = yield* getItems(accessToken)
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("application/json")
      const body = yield* Effect.fork(response.text)
      yield* TestClock.adjust("1 hour")
      expect(Option.isNone(yield* Fiber.poll(body))).toBe(true)
      yield* Fiber.interrupt(body)
    }).pipe(Effect.provide(inMemoryLayer({ faults: { stall: 1 } }))))

  it.effect("injected latency and the transport's round trip are spent on the shared clock", () =>
    Effect.gen(function*() {
      // The token request pays the 40 ms round trip too.
      const tokenFiber = yield* Effect.fork(token())
      yield* TestClock.adjust("40 millis")
      const accessToken = yield* Fiber.join(tokenFiber)
      const fiber = yield* Effect.fork(getItems(accessToken))
      yield* TestClock.adjust("139 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
    }).pipe(
      Effect.provide(Sandbox.layerInMemory({ faults: { latency: { probability: 1, minMs: 100, maxMs: 100 } } }, {
        latency: "40 millis"
      }))
    ))

  it.effect("URLs reach the sandbox as over a socket: query parameters appended, unsafe characters encoded", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      for (const n of [1, 2, 3]) {
        yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(n)))
        )
      }
      const page = yield* exchange(
        HttpClientRequest.get("/v1/items?cursor=", { urlParams: { limit: "2" } }).pipe(withToken(accessToken))
      )
      expect(page.status).toBe(200)
      expect(JSON.parse(page.text).items).toHaveLength(2)
      // A space and a non-ASCII letter take the `new URL` path and arrive percent-encoded, then decoded as an id.
      const missing = yield* exchange(HttpClientRequest.get("/v1/items/a bé#fragment").pipe(withToken(accessToken)))
      expect(missing.status).toBe(404)
      expect(missing.text).toContain("a bé")
      expect((yield* stats).requests["GET /v1/items/:id"]).toEqual({ "404": 1 })
    }).pipe(Effect.provide(inMemoryLayer())))

  it.effect("never leaves the process: any other origin is a RequestError", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get("http://127.0.0.1:9/v1/items"))
      expect(error._tag).toBe("RequestError")
      expect(error.message).toContain("only http://sandbox.test")
    }).pipe(Effect.provide(inMemoryLayer())))

  it.effect("the Date header and token expiry follow the caller's clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 10, 25, 9, 0, 0))
      const accessToken = yield* token()
      const { headers, status } = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
      expect(status).toBe(200)
      expect(headers.date).toBe("Wed, 25 Nov 2026 09:00:00 GMT")
      yield* TestClock.adjust("301 seconds")
      const expired = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
      expect(expired.status).toBe(401)
      expect(expired.headers["www-authenticate"]).toContain("expired")
    }).pipe(Effect.provide(inMemoryLayer({ preset: "realistic", quota: null, faults: {} }))))
})
