import { ApiError, Classify, RetryAfter } from "@bulwark/core-errors"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import { demo, exchange, json, readOnly, send, stats, token, transports, withToken } from "./utils.js"

const getItems = (accessToken: string) => exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))

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
})
