import { ApiErrorBody, Classify } from "@bulwark/core-errors"
import type { Faults } from "@bulwark/sandbox"
import { Sandbox } from "@bulwark/sandbox"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, TestClock } from "effect"
import { demo, exchange, item, json, sandboxLayer, send, stats, token, tokenRequest, withToken } from "./utils.js"

/** Real-time pause, for the few checks that something does NOT happen over a loopback connection. */
const realPause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Waits (in real time, by polling) until the sandbox's stats satisfy a predicate. */
const until = (predicate: (sandbox: Sandbox.Service) => Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    for (let i = 0; i < 500; i++) {
      if (yield* predicate(sandbox)) return
      yield* realPause(2)
    }
    return yield* Effect.dieMessage("timed out waiting for the sandbox")
  })

const getItems = (accessToken: string) => exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))

describe("server errors", () => {
  it.effect("500/502/503/504 with the JSON error body", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const seen = new Set<number>()
      for (let i = 0; i < 30; i++) {
        const { headers, status, text } = yield* getItems(accessToken)
        seen.add(status)
        expect(headers["content-type"]).toBe("application/json")
        const decoded = ApiErrorBody.fromText(text)
        expect(Option.isSome(decoded.body)).toBe(true)
        expect(json(text).code).toBe(status === 504 ? 4 : status === 500 ? 13 : 14)
      }
      expect([...seen].sort()).toEqual([500, 502, 503, 504])
      expect((yield* stats).faultsInjected.serverError).toBe(30)
    }).pipe(Effect.provide(sandboxLayer({ faults: { serverError: { probability: 1, htmlRatio: 0 } } }))))

  it.effect("gateway HTML pages, which a client keeps as a snippet", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const { headers, status, text } = yield* getItems(accessToken)
      expect(status).toBe(502)
      expect(headers["content-type"]).toBe("text/html")
      expect(text).toContain("<title>502 Bad Gateway</title>")
      expect(headers["x-request-id"]).toMatch(/^req_/)
      const decoded = ApiErrorBody.fromText(text)
      expect(Option.isNone(decoded.body)).toBe(true)
      expect(Option.getOrThrow(decoded.snippet)).toContain("502 Bad Gateway")
    }).pipe(
      Effect.provide(sandboxLayer({ faults: { serverError: { probability: 1, statuses: [502], htmlRatio: 1 } } }))
    ))

  it.effect("503 with Retry-After, which core-errors classifies as retry-after", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const response = yield* send(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
      expect(response.status).toBe(503)
      expect(response.headers["retry-after"]).toBe("3")
      const error = yield* Effect.flip(Classify.response(response))
      expect(error._tag).toBe("ServerError")
      expect("retryAfter" in error && error.retryAfter !== undefined).toBe(true)
      expect((yield* stats).faultsInjected.unavailable).toBe(1)
    }).pipe(Effect.provide(sandboxLayer({ faults: { unavailable: { probability: 1, retryAfterSeconds: 3 } } }))))

  it.effect("faults spare the token endpoint and the control routes, unless asked", () =>
    Effect.gen(function*() {
      expect((yield* exchange(tokenRequest())).status).toBe(200)
      expect((yield* exchange(HttpClientRequest.get("/__sandbox/health"))).status).toBe(200)
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.setFaults({ tokenEndpoint: { unavailable: 1, retryAfterSeconds: 2 } })
      const refused = yield* exchange(tokenRequest())
      expect([refused.status, refused.headers["retry-after"], json(refused.text).error]).toEqual([
        503,
        "2",
        "temporarily_unavailable"
      ])
      expect((yield* stats).faultsInjected.tokenEndpoint).toBe(1)
    }).pipe(Effect.provide(sandboxLayer({ faults: { serverError: { probability: 1 } } }))))
})

describe("latency, hangs and stalls", () => {
  it.effect("added latency is an Effect.sleep that TestClock drives", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const fiber = yield* Effect.fork(getItems(accessToken))
      // Wait until the server sleeps, then check it does not answer before the clock moves.
      yield* until(() => Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps) > 0))
      yield* realPause(20)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("249 millis")
      yield* realPause(20)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      expect((yield* stats).faultsInjected.latency).toBe(1)
    }).pipe(Effect.provide(sandboxLayer({ faults: { latency: { probability: 1, minMs: 250, maxMs: 250 } } }))))

  it.live("a uniform latency range delays real responses", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const start = Date.now()
      for (let i = 0; i < 3; i++) expect((yield* getItems(accessToken)).status).toBe(200)
      expect(Date.now() - start).toBeGreaterThanOrEqual(3 * 10)
    }).pipe(Effect.provide(sandboxLayer({ faults: { latency: { probability: 1, minMs: 10, maxMs: 30 } } }))))

  it.effect("a hung response sends nothing until the client gives up", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const fiber = yield* Effect.fork(getItems(accessToken))
      yield* until((sandbox) => Effect.map(sandbox.stats, (s) => s.requests["GET /v1/items"]?.["hung"] === 1))
      yield* realPause(50)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      // The client gives up (its timeout would do the same), which closes the connection.
      yield* Fiber.interrupt(fiber)
      expect((yield* stats).faultsInjected.hang).toBe(1)
    }).pipe(Effect.provide(sandboxLayer({ faults: { hang: 1 } }))))

  it.effect("a stalled body sends the status, the headers and half the body, then nothing", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const response = yield* send(
        HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
      )
      expect(response.status).toBe(201)
      const length = Number(response.headers["content-length"])
      expect(length).toBeGreaterThan(0)
      const body = yield* Effect.fork(response.text)
      yield* realPause(50)
      expect(Option.isNone(yield* Fiber.poll(body))).toBe(true)
      yield* Fiber.interrupt(body)
      // The request was processed: the item exists although its response never completed.
      const counted = yield* stats
      expect(counted).toMatchObject({ itemsStored: 1, faultsInjected: { stall: 1 } })
      expect(counted.requests["POST /v1/items"]).toEqual({ stalled: 1 })
    }).pipe(Effect.provide(sandboxLayer({ faults: { stall: 1 } }))))
})

describe("connection resets", () => {
  it.effect("reset before processing: a transport error, and nothing was created", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const error = yield* Effect.flip(
        send(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
      )
      expect(error._tag).toBe("RequestError")
      const classified = yield* Classify.httpClientError(error)
      expect(classified._tag).toBe("NetworkError")
      const counted = yield* stats
      expect(counted).toMatchObject({ itemsStored: 0, faultsInjected: { resetBefore: 1 } })
      expect(counted.requests["POST /v1/items"]).toEqual({ reset: 1 })
    }).pipe(Effect.provide(sandboxLayer({ faults: { resetBefore: 1 } }))))

  it.effect("reset after processing: a transport error, but the POST was applied", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const request = HttpClientRequest.post("/v1/items").pipe(
        withToken(accessToken),
        HttpClientRequest.setHeader("idempotency-key", "once"),
        HttpClientRequest.bodyUnsafeJson(item(1))
      )
      const error = yield* Effect.flip(send(request))
      expect(error._tag).toBe("RequestError")
      expect(yield* stats).toMatchObject({ itemsStored: 1, faultsInjected: { resetAfter: 1 } })
      // The retry with the same key gets the stored answer and creates nothing.
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.setFaults({})
      const retried = yield* exchange(request)
      expect([retried.status, retried.headers["idempotent-replayed"]]).toEqual([201, "true"])
      expect(yield* stats).toMatchObject({ itemsStored: 1, duplicateCreationsPrevented: 1 })
    }).pipe(Effect.provide(sandboxLayer({ faults: { resetAfter: 1 } }))))
})

describe("windows", () => {
  it.effect("a scaling-up window raises 503s with Retry-After for a while, by the Clock", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      const statuses = () =>
        Effect.forEach(Array.from({ length: 40 }), () => Effect.map(getItems(accessToken), (r) => r.status))
      expect((yield* statuses()).every((s) => s === 200)).toBe(true)
      yield* TestClock.adjust("10 seconds")
      const during = yield* statuses()
      const unavailable = during.filter((s) => s === 503).length
      expect(unavailable).toBeGreaterThan(8)
      expect(unavailable).toBeLessThan(32)
      const one = yield* Effect.repeat(getItems(accessToken), { until: (r) => r.status === 503 })
      expect(one.headers["retry-after"]).toBe("2")
      expect(json(one.text).message).toContain("scaling up")
      yield* TestClock.adjust("20 seconds")
      expect((yield* statuses()).every((s) => s === 200)).toBe(true)
      // It repeats every 60 seconds.
      yield* TestClock.adjust("40 seconds")
      expect((yield* statuses()).some((s) => s === 503)).toBe(true)
      expect((yield* stats).faultsInjected.scalingUp).toBeGreaterThan(unavailable)
    }).pipe(Effect.provide(sandboxLayer({
      faults: {
        windows: [{
          kind: "scaling-up",
          startAfterSeconds: 10,
          durationSeconds: 20,
          repeatEverySeconds: 60,
          probability: 0.5,
          retryAfterSeconds: 2
        }]
      }
    }))))

  it.effect("the outage preset: 100% 503 from 5 s to 25 s after it was set, then recovery", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const accessToken = yield* token()
      yield* TestClock.adjust("1 minute")
      yield* sandbox.usePreset("outage")
      expect((yield* getItems(accessToken)).status).toBe(200)
      yield* TestClock.adjust("5 seconds")
      for (let i = 0; i < 20; i++) {
        const { headers, status } = yield* getItems(accessToken)
        expect([status, headers["retry-after"]]).toEqual([503, "5"])
      }
      yield* TestClock.adjust("19 seconds")
      expect((yield* getItems(accessToken)).status).toBe(503)
      yield* TestClock.adjust("1 second")
      expect((yield* getItems(accessToken)).status).toBe(200)
      expect((yield* stats).faultsInjected.outage).toBe(21)
    }).pipe(Effect.provide(sandboxLayer())))
})

describe("reproducibility", () => {
  const mixed: Faults.Input = {
    serverError: { probability: 0.2 },
    unavailable: { probability: 0.1, retryAfterSeconds: 1 },
    latency: { probability: 0.3, minMs: 0, maxMs: 0 }
  }

  const sequence = Effect.gen(function*() {
    const accessToken = yield* token(demo)
    const outcomes: Array<string> = []
    for (let i = 0; i < 60; i++) {
      const { headers, status } = yield* getItems(accessToken)
      outcomes.push(`${status}${headers["content-type"] === "text/html" ? "h" : ""}`)
    }
    return { outcomes, faults: (yield* stats).faultsInjected }
  })

  it.effect("the same seed and requests give the same faults; another seed gives others", () =>
    Effect.gen(function*() {
      const first = yield* sequence.pipe(Effect.provide(sandboxLayer({ seed: 7, faults: mixed })))
      const second = yield* sequence.pipe(Effect.provide(sandboxLayer({ seed: 7, faults: mixed })))
      const other = yield* sequence.pipe(Effect.provide(sandboxLayer({ seed: 8, faults: mixed })))
      expect(second).toEqual(first)
      expect(other.outcomes).not.toEqual(first.outcomes)
      expect(first.outcomes.filter((o) => o !== "200").length).toBeGreaterThan(5)
    }))

  it.effect("reset restarts the fault sequence", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const first = yield* sequence
      yield* sandbox.reset
      const second = yield* sequence
      expect(second).toEqual(first)
    }).pipe(Effect.provide(sandboxLayer({ seed: 7, faults: mixed }))))
})
