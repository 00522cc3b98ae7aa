import { Preset, Sandbox } from "@bulwark/sandbox"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { decodeStats, exchange, item, json, stats, token, transports, withToken } from "./utils.js"

describe.each(transports)("over $name", ({ sandboxLayer }) => {
  describe("stats and control", () => {
    it.effect("GET /__sandbox/stats equals the programmatic snapshot and ignores control routes", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
        yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
        yield* exchange(HttpClientRequest.get("/__sandbox/health"))
        const overHttp = yield* exchange(HttpClientRequest.get("/__sandbox/stats"))
        const decoded = decodeStats(json(overHttp.text))
        expect(decoded).toEqual(yield* stats)
        expect(decoded).toMatchObject({
          requestsTotal: 3,
          requests: { "POST /oauth/token": { "200": 1 }, "POST /v1/items": { "201": 2 } },
          tokensIssued: 1,
          activeTokens: 1,
          itemsStored: 2,
          duplicateSkus: 1,
          duplicateCreationsPrevented: 0
        })
        expect(overHttp.headers["x-request-id"]).toMatch(/^req_/)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("POST /__sandbox/reset forgets items, tokens and counts", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
        expect((yield* exchange(HttpClientRequest.post("/__sandbox/reset"))).status).toBe(204)
        const counted = yield* stats
        expect(counted).toMatchObject({ requestsTotal: 0, itemsStored: 0, tokensIssued: 0, activeTokens: 0 })
        expect((yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))).status).toBe(401)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("PUT /__sandbox/preset/:name switches presets at runtime", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const switched = yield* exchange(HttpClientRequest.put("/__sandbox/preset/harsh"))
        expect([switched.status, json(switched.text)]).toEqual([200, { preset: "harsh" }])
        const first = yield* exchange(
          HttpClientRequest.post("/oauth/token").pipe(
            HttpClientRequest.basicAuth("bulwark-demo", "sandbox-demo-secret"),
            HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
          )
        )
        // harsh: 60 s tokens (unless this one drew the token endpoint's 5% 503).
        expect(first.status === 503 || json(first.text).expires_in === 60).toBe(true)
        const unknown = yield* exchange(HttpClientRequest.put("/__sandbox/preset/chaos"))
        expect(unknown.status).toBe(400)
        expect(json(unknown.text).details).toEqual([
          { field: "name", issue: `must be one of ${Preset.names.join(", ")}` }
        ])
        yield* sandbox.usePreset("none")
        expect((yield* exchange(HttpClientRequest.get("/__sandbox/stats"))).status).toBe(200)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("counts 429s by route and early retries, over HTTP too, in every quota mode", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const accessToken = yield* token()
        const get = () => exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        const getOne = () => exchange(HttpClientRequest.get("/v1/items/itm_00000001").pipe(withToken(accessToken)))
        // A token bucket of 2 answering with Retry-After: the third request is refused, the fourth is early.
        expect([(yield* get()).status, (yield* getOne()).status, (yield* get()).status]).toEqual([200, 404, 429])
        expect((yield* getOne()).status).toBe(429)
        // Bare 429s: no Retry-After, so nothing more counts as early.
        yield* sandbox.usePreset("quota-bare")
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 11; i++) yield* get()
        yield* getOne()
        const overHttp = decodeStats(json((yield* exchange(HttpClientRequest.get("/__sandbox/stats"))).text))
        expect(overHttp).toEqual(yield* stats)
        expect(overHttp.requests).toMatchObject({
          "GET /v1/items": { "200": 11, "429": 2 },
          "GET /v1/items/:id": { "404": 1, "429": 2 }
        })
        expect(overHttp.rateLimited).toBe(4)
        expect(overHttp.earlyRetries).toEqual({ "bulwark-demo": 1 })
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 1, windowSeconds: 1, algorithm: "token-bucket", burst: 2 }
      }))))

    it.effect("setFaults validates its input", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const error = yield* Effect.flip(sandbox.setFaults({ hang: 0.7, resetAfter: 0.7 }))
        expect(error._tag).toBe("SandboxConfigError")
        expect(error.message).toContain("faults: the probabilities")
      }).pipe(Effect.provide(sandboxLayer())))
  })
})
