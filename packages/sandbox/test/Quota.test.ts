import { ApiError, Classify, RetryAfter } from "@bulwark/core-errors"
import { Preset, Sandbox } from "@bulwark/sandbox"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import { demo, exchange, item, json, readOnly, send, stats, token, transports, withToken } from "./utils.js"

const getItems = (accessToken: string) => exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))

/** The rate-limit headers of a response (every header whose name mentions ratelimit, and Retry-After). */
const limitHeaders = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => /ratelimit|retry-after/.test(name)).sort())

const bare429 = "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1>" +
  "</center><hr><center>nginx</center></body></html>"

const client3 = { clientId: "team-c", clientSecret: "team-c-secret", roles: ["items:read"] }

describe.each(transports)("over $name", ({ sandboxLayer }) => {
  describe("quotas", () => {
    it.effect("over the per-client quota: 429 with Retry-After in delta-seconds and RateLimit headers", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        yield* TestClock.adjust("4 seconds")
        for (const remaining of [2, 1, 0]) {
          const { headers, status } = yield* getItems(accessToken)
          expect(status).toBe(200)
          expect(headers["ratelimit-limit"]).toBe("3")
          expect(headers["ratelimit-remaining"]).toBe(String(remaining))
          expect(headers["ratelimit-reset"]).toBe("6")
          expect(headers["ratelimit-policy"]).toBe("3;w=10")
        }
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        expect(limited.headers["retry-after"]).toBe("6")
        expect(limited.headers["ratelimit-remaining"]).toBe("0")
        expect(json(limited.text)).toMatchObject({
          code: 8,
          details: [{ quota: "requests", limit: 3, windowSeconds: 10 }]
        })
        // Other clients have their own quota.
        expect((yield* getItems(yield* token(readOnly))).status).toBe(200)
        // core-errors reads it as a RateLimited error asking to wait 6 s.
        const response = yield* send(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        const error = yield* Effect.flip(Classify.response(response))
        expect(error._tag).toBe("RateLimited")
        expect(ApiError.retryDecision(error)).toBe("retry-after")
        expect(error._tag === "RateLimited" && error.retryAfter && Duration.toSeconds(error.retryAfter)).toBe(6)

        yield* TestClock.adjust("6 seconds")
        expect((yield* getItems(accessToken)).status).toBe(200)
        const counted = yield* stats
        expect(counted.rateLimited).toBe(2)
        // The second 429 was a request received before the first Retry-After had elapsed.
        expect(counted.earlyRetries).toEqual({ [demo.clientId]: 1 })
        expect(counted.requests["GET /v1/items"]).toEqual({ "200": 5, "429": 2 })
      }).pipe(Effect.provide(sandboxLayer({ quota: { limit: 3, windowSeconds: 10 }, rateLimitHeaders: true }))))

    it.effect("Retry-After as an HTTP-date from the sandbox's Clock", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        yield* TestClock.adjust("1500 millis")
        expect((yield* getItems(accessToken)).status).toBe(200)
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        // The window ends at 2 s; the date is rounded up to the second.
        expect(limited.headers["retry-after"]).toBe("Thu, 01 Jan 1970 00:00:02 GMT")
        expect(limited.headers["date"]).toBe("Thu, 01 Jan 1970 00:00:01 GMT")
        expect(limited.headers["ratelimit-limit"]).toBeUndefined()
        const waited = yield* RetryAfter.parseNow(limited.headers["retry-after"]!)
        expect(Option.map(waited, Duration.toMillis)).toEqual(Option.some(500))
        // Coming back exactly when told is not early.
        yield* TestClock.adjust("500 millis")
        expect((yield* getItems(accessToken)).status).toBe(200)
        expect((yield* stats).earlyRetries).toEqual({})
      }).pipe(Effect.provide(sandboxLayer({ quota: { limit: 1, windowSeconds: 1 }, retryAfterFormat: "http-date" }))))

    it.effect("the realistic preset's quota gives occasional 429s to a bursty client", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const statuses = yield* Effect.forEach(Array.from({ length: 60 }), () =>
          Effect.map(getItems(accessToken), (r) => r.status))
        expect(
          statuses.filter((s) =>
            s === 429
          ).length
        ).toBeGreaterThanOrEqual(9)
      }).pipe(Effect.provide(sandboxLayer({
        preset: "realistic",
        // Only the quota: no 5xx, and no latency (an Effect.sleep this test's TestClock would never end).
        faults: { serverError: { probability: 0 }, latency: { probability: 0 } }
      }))))
  })

  describe("fixed windows not aligned on whole seconds", () => {
    it.effect("alignMillis shifts the window boundaries; Retry-After is rounded up, so a window opens before it", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        // 10 s windows start at 3.370 s past every multiple of 10 s: the first one here ends at 3.370 s.
        for (const remaining of [1, 0]) {
          const ok = yield* getItems(accessToken)
          expect(ok.status).toBe(200)
          expect(limitHeaders(ok.headers)).toEqual({
            "ratelimit": `"default";r=${remaining};t=4`,
            "ratelimit-limit": "2",
            "ratelimit-policy": `"default";q=2;w=10`,
            "ratelimit-remaining": String(remaining),
            "ratelimit-reset": "4",
            "x-ratelimit-limit": "2",
            "x-ratelimit-remaining": String(remaining),
            "x-ratelimit-reset": "4"
          })
        }
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        expect(limitHeaders(limited.headers)).toEqual({
          "ratelimit": `"default";r=0;t=4`,
          "ratelimit-limit": "2",
          "ratelimit-policy": `"default";q=2;w=10`,
          "ratelimit-remaining": "0",
          "ratelimit-reset": "4",
          "retry-after": "4",
          "x-ratelimit-limit": "2",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": "4"
        })
        // 1 ms before the boundary: still limited, and told to wait 1 s (never 0).
        yield* TestClock.adjust("3369 millis")
        const last = yield* getItems(accessToken)
        expect([last.status, last.headers["retry-after"], last.headers["ratelimit"]]).toEqual([
          429,
          "1",
          `"default";r=0;t=1`
        ])
        // At 3.370 s the next window opens, before the Retry-After of the first 429 (4 s) has passed.
        yield* TestClock.adjust("1 millis")
        const next = yield* getItems(accessToken)
        expect(next.status).toBe(200)
        expect(next.headers["ratelimit"]).toBe(`"default";r=1;t=10`)
        expect(next.headers["x-ratelimit-reset"]).toBe("14") // 13.370 s, rounded up
        const counted = yield* stats
        expect(counted.requests["GET /v1/items"]).toEqual({ "200": 3, "429": 2 })
        // Both later requests came before a Retry-After the sandbox had sent (4 s, then 3.369 + 1 s).
        expect(counted.earlyRetries).toEqual({ [demo.clientId]: 2 })
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 2, windowSeconds: 10, alignMillis: 3370 },
        rateLimitHeaders: "all"
      }))))

    it.effect("an HTTP-date Retry-After names the shifted boundary, rounded up to the second", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        yield* TestClock.adjust("1 second")
        expect((yield* getItems(accessToken)).status).toBe(200)
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        // The window ends at 1.250 s; the date says 2 s.
        expect(limited.headers["retry-after"]).toBe("Thu, 01 Jan 1970 00:00:02 GMT")
        expect(limited.headers["ratelimit-remaining"]).toBeUndefined()
        yield* TestClock.adjust("250 millis")
        expect((yield* getItems(accessToken)).status).toBe(200)
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 1, windowSeconds: 1, alignMillis: 250 },
        retryAfterFormat: "http-date"
      }))))
  })

  describe("token bucket", () => {
    it.effect("refills continuously; Retry-After is the wait for one token rounded up to a whole second", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        // A bucket of 5 refilled at 50 per second: a token every 20 ms.
        for (const remaining of [4, 3, 2, 1, 0]) {
          const ok = yield* getItems(accessToken)
          expect(ok.status).toBe(200)
          expect(limitHeaders(ok.headers)).toEqual({
            "ratelimit": `"default";r=${remaining};t=1`,
            "ratelimit-policy": `"default";q=50;w=1`
          })
        }
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        // The next token comes in 20 ms; the client is told 1 s, as real APIs round.
        expect(limitHeaders(limited.headers)).toEqual({
          "ratelimit": `"default";r=0;t=1`,
          "ratelimit-policy": `"default";q=50;w=1`,
          "retry-after": "1"
        })
        expect(json(limited.text)).toMatchObject({
          code: 8,
          details: [{ quota: "requests", limit: 50, windowSeconds: 1, burst: 5 }]
        })
        expect(json(limited.text).message).toContain("retry after 1 s")
        yield* TestClock.adjust("19 millis")
        expect((yield* getItems(accessToken)).status).toBe(429)
        yield* TestClock.adjust("1 millis")
        const refilled = yield* getItems(accessToken)
        expect(refilled.status).toBe(200)
        expect(refilled.headers["ratelimit"]).toBe(`"default";r=0;t=1`)
        expect((yield* getItems(accessToken)).status).toBe(429)
        // 100 ms refill 5 tokens, the capacity; more time adds none.
        yield* TestClock.adjust("1 second")
        const statuses = []
        for (let i = 0; i < 6; i++) statuses.push((yield* getItems(accessToken)).status)
        expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
        const counted = yield* stats
        expect(counted.rateLimited).toBe(4)
        expect(counted.requests["GET /v1/items"]).toEqual({ "200": 11, "429": 4 })
        // Told "1", the client came back three times within 20 ms; after 1 s it was on time.
        expect(counted.earlyRetries).toEqual({ [demo.clientId]: 3 })
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 5 },
        rateLimitHeaders: "draft-11"
      }))))

    it.effect("remaining counts whole tokens, reset is the time until the bucket is full again", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        // 6 per minute: a token every 10 s, into a bucket of 3.
        const expected = [["2", "10"], ["1", "20"], ["0", "30"]]
        for (const [remaining, reset] of expected) {
          const ok = yield* getItems(accessToken)
          expect(limitHeaders(ok.headers)).toEqual({
            "x-ratelimit-limit": "3",
            "x-ratelimit-remaining": remaining,
            "x-ratelimit-reset": reset // epoch seconds: the clock is at 0
          })
        }
        const limited = yield* getItems(accessToken)
        expect([limited.status, limited.headers["retry-after"], limited.headers["x-ratelimit-reset"]]).toEqual([
          429,
          "10",
          "30"
        ])
        // 15 s later: 1.5 tokens; one is taken, half a token is left (0 remaining), full again in 25 s.
        yield* TestClock.adjust("15 seconds")
        const ok = yield* getItems(accessToken)
        expect(limitHeaders(ok.headers)).toEqual({
          "x-ratelimit-limit": "3",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": "40"
        })
        // The next token is 5 s away.
        const again = yield* getItems(accessToken)
        expect([again.status, again.headers["retry-after"]]).toEqual([429, "5"])
        // Rounding up: 4.5 s away is "5".
        yield* TestClock.adjust("500 millis")
        expect((yield* getItems(accessToken)).headers["retry-after"]).toBe("5")
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 6, windowSeconds: 60, algorithm: "token-bucket", burst: 3 },
        rateLimitHeaders: "x-ratelimit"
      }))))

    it.effect("the capacity defaults to the limit, and the legacy headers count down from it", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const remaining = []
        for (let i = 0; i < 4; i++) {
          const { headers, status } = yield* getItems(accessToken)
          remaining.push([
            status,
            headers["ratelimit-limit"],
            headers["ratelimit-remaining"],
            headers["ratelimit-reset"]
          ])
          expect(headers["ratelimit-policy"]).toBeUndefined()
        }
        // 3 per 3 s: a token a second.
        expect(remaining).toEqual([
          [200, "3", "2", "1"],
          [200, "3", "1", "2"],
          [200, "3", "0", "3"],
          [429, "3", "0", "3"]
        ])
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 3, windowSeconds: 3, algorithm: "token-bucket" },
        rateLimitHeaders: "legacy"
      }))))
  })

  describe("bare 429s", () => {
    it.effect("quotaResponse: bare answers like nginx limit_req: no Retry-After, no headers, an HTML page", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const ok = yield* getItems(accessToken)
        expect(ok.status).toBe(200)
        expect(ok.headers["ratelimit-remaining"]).toBe("0")
        const limited = yield* getItems(accessToken)
        expect(limited.status).toBe(429)
        expect(limited.text).toBe(bare429)
        expect(limited.headers["content-type"]).toBe("text/html")
        expect(limitHeaders(limited.headers)).toEqual({})
        // A client classifies it as RateLimited with nothing to wait for.
        const response = yield* send(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        const error = yield* Effect.flip(Classify.response(response))
        expect(error._tag).toBe("RateLimited")
        expect(error._tag === "RateLimited" && error.retryAfter).toBeUndefined()
        // Writes are limited by the same quota, and counted by route.
        const create = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(withToken(accessToken), HttpClientRequest.bodyUnsafeJson(item(1)))
        )
        expect(create.status).toBe(429)
        yield* TestClock.adjust("1 second")
        expect((yield* getItems(accessToken)).status).toBe(200)
        const counted = yield* stats
        expect(counted.rateLimited).toBe(3)
        expect(counted.requests["GET /v1/items"]).toEqual({ "200": 2, "429": 2 })
        expect(counted.requests["POST /v1/items"]).toEqual({ "429": 1 })
        expect(counted.itemsCreated).toBe(0)
        // No Retry-After was given, so no request was early.
        expect(counted.earlyRetries).toEqual({})
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 1, windowSeconds: 1 },
        rateLimitHeaders: true,
        quotaResponse: "bare"
      }))))

    it.effect("a token bucket can answer bare too", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const statuses = []
        for (let i = 0; i < 3; i++) statuses.push((yield* getItems(accessToken)).status)
        expect(statuses).toEqual([200, 200, 429])
        yield* TestClock.adjust("100 millis")
        expect((yield* getItems(accessToken)).status).toBe(200)
        expect((yield* stats).earlyRetries).toEqual({})
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 10, windowSeconds: 1, algorithm: "token-bucket", burst: 2 },
        quotaResponse: "bare"
      }))))
  })

  describe("per-client quotas", () => {
    it.effect("a client's own quota overrides the global one; null exempts it", () =>
      Effect.gen(function*() {
        const run = (accessToken: string, n: number) =>
          Effect.forEach(Array.from({ length: n }), () => getItems(accessToken))
        const own = yield* run(yield* token(demo), 3)
        expect(own.map((r) => r.status)).toEqual([200, 429, 429])
        expect(own[0]!.headers["ratelimit-limit"]).toBe("1")
        expect(json(own[1]!.text).details).toEqual([{ quota: "requests", limit: 1, windowSeconds: 60 }])
        expect(own[1]!.headers["retry-after"]).toBe("60")

        const exempt = yield* run(yield* token(readOnly), 5)
        expect(exempt.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
        expect(exempt[0]!.headers["ratelimit-limit"]).toBeUndefined()

        const global = yield* run(yield* token(client3), 3)
        expect(global.map((r) => r.status)).toEqual([200, 200, 429])
        expect(global[0]!.headers["ratelimit-limit"]).toBe("2")
        expect(global[2]!.headers["retry-after"]).toBe("10")

        const counted = yield* stats
        expect(counted.requests["GET /v1/items"]).toEqual({ "200": 8, "429": 3 })
        expect(counted.earlyRetries).toEqual({ [demo.clientId]: 1 })
      }).pipe(Effect.provide(sandboxLayer({
        quota: { limit: 2, windowSeconds: 10 },
        rateLimitHeaders: "legacy",
        clients: [
          { ...demo, roles: [...demo.roles], quota: { limit: 1, windowSeconds: 60 } },
          { ...readOnly, roles: [...readOnly.roles], quota: null },
          client3
        ]
      }))))

    it.effect("a client's own quota keeps its algorithm whatever preset is switched to", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const demoToken = yield* token(demo)
        const otherToken = yield* token(client3)
        yield* sandbox.usePreset("quota-bare")
        const statuses = []
        for (let i = 0; i < 3; i++) statuses.push((yield* getItems(demoToken)).status)
        expect(statuses).toEqual([200, 200, 429])
        // The demo client keeps its own quota; how a rejection is answered follows the preset: bare.
        const limited = yield* getItems(demoToken)
        expect(limited.text).toBe(bare429)
        // The other client now has the preset's quota: a bucket of 10.
        const others = []
        for (let i = 0; i < 11; i++) others.push((yield* getItems(otherToken)).status)
        expect(others.filter((s) => s === 200).length).toBe(10)
        expect(others[10]).toBe(429)
      }).pipe(Effect.provide(sandboxLayer({
        clients: [
          { ...demo, roles: [...demo.roles], quota: { limit: 2, windowSeconds: 1, algorithm: "token-bucket" } },
          client3
        ]
      }))))
  })

  describe("quota presets", () => {
    it.effect("quota-headers: a 10 s quota shifted by 3.370 s, advertised in every header style", () =>
      Effect.gen(function*() {
        expect(Preset.names).toContain("quota-headers")
        const accessToken = yield* token()
        const ok = yield* getItems(accessToken)
        expect(limitHeaders(ok.headers)).toEqual({
          "ratelimit": `"default";r=99;t=4`,
          "ratelimit-limit": "100",
          "ratelimit-policy": `"default";q=100;w=10`,
          "ratelimit-remaining": "99",
          "ratelimit-reset": "4",
          "x-ratelimit-limit": "100",
          "x-ratelimit-remaining": "99",
          "x-ratelimit-reset": "4"
        })
      }).pipe(Effect.provide(sandboxLayer({ preset: "quota-headers" }))))

    it.effect("quota-bare: a token bucket of 10 at 20 per second behind an nginx that sends bare 429s", () =>
      Effect.gen(function*() {
        expect(Preset.names).toContain("quota-bare")
        const accessToken = yield* token()
        const responses = yield* Effect.forEach(Array.from({ length: 11 }), () => getItems(accessToken))
        expect(responses.map((r) => r.status)).toEqual([...Array(10).fill(200), 429])
        expect(responses[10]!.text).toBe(bare429)
        expect(limitHeaders(responses[0]!.headers)).toEqual({})
        yield* TestClock.adjust("50 millis")
        expect((yield* getItems(accessToken)).status).toBe(200)
        expect((yield* getItems(accessToken)).status).toBe(429)
      }).pipe(Effect.provide(sandboxLayer({ preset: "quota-bare" }))))
  })
})
