import { ApiError } from "@bulwark/core-errors"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"

const at = { method: "GET", url: "https://api.example.com/v1/items" }

describe("ApiError", () => {
  it("retryDecision follows the documented table for non-response errors", () => {
    expect(ApiError.retryDecision(new ApiError.Timeout({ ...at, phase: "headers" }))).toBe("retry")
    expect(ApiError.retryDecision(new ApiError.Timeout({ ...at, phase: "deadline" }))).toBe("fail")
    expect(ApiError.retryDecision(new ApiError.NetworkError({ ...at, reason: "Transport", sent: true }))).toBe("retry")
    expect(ApiError.retryDecision(new ApiError.NetworkError({ ...at, reason: "Encode", sent: false }))).toBe("fail")
    expect(ApiError.retryDecision(new ApiError.InvalidResponse({ ...at, status: 200, problem: "x" }))).toBe("fail")
    expect(ApiError.isRetryable(new ApiError.RateLimited({ ...at, status: 429 }))).toBe(true)
    expect(ApiError.isRetryable(new ApiError.Forbidden({ ...at, status: 403 }))).toBe(false)
  })

  it("isApiError recognises every error and nothing else", () => {
    expect(ApiError.isApiError(new ApiError.ServerError({ ...at, status: 500 }))).toBe(true)
    expect(ApiError.isApiError(new Error("x"))).toBe(false)
    expect(ApiError.isApiError({ _tag: "ServerError" })).toBe(false)
  })

  it("messages name the phase, the limit and the deadline advice", () => {
    const timeout = new ApiError.Timeout({ ...at, phase: "attempt", timeout: Duration.seconds(5) })
    expect(timeout.message).toBe(
      "GET https://api.example.com/v1/items timed out after 5 s (the per-attempt timeout elapsed). It is retried with backoff like a 5xx; if it happens often, check the network path or raise the timeout."
    )
    const explained = new ApiError.Timeout({
      ...at,
      phase: "deadline",
      cause: new Error("the rate limit would wait 40 s")
    })
    expect(explained.message).toContain("(the rate limit would wait 40 s)")
    const limited = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(90), retryAt: 0 })
    expect(limited.message).toContain("before 1970-01-01T00:00:00.000Z")
  })

  it.effect("round-trips through its schema, so errors can cross process boundaries", () =>
    Effect.gen(function*() {
      const error = new ApiError.RateLimited({
        ...at,
        status: 429,
        retryAfter: Duration.seconds(3),
        body: { code: 8, message: "slow down", details: [] },
        requestId: "r-9"
      })
      const encoded = yield* Schema.encode(ApiError.ApiError)(error)
      expect(encoded).toMatchObject({ _tag: "RateLimited", retryAfter: 3000, requestId: "r-9" })
      const decoded = yield* Schema.decodeUnknown(ApiError.ApiError)(JSON.parse(JSON.stringify(encoded)))
      expect(decoded).toBeInstanceOf(ApiError.RateLimited)
      expect(decoded._tag === "RateLimited" && decoded.retryAfter).toEqual(Duration.seconds(3))
    }))
})
