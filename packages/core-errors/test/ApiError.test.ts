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

  const everyError: ReadonlyArray<ApiError.ApiError> = [
    new ApiError.BadRequest({ ...at, status: 400 }),
    new ApiError.Unauthorized({ ...at, status: 401 }),
    new ApiError.Forbidden({ ...at, status: 403 }),
    new ApiError.NotFound({ ...at, status: 404 }),
    new ApiError.Conflict({ ...at, status: 409 }),
    new ApiError.RateLimited({ ...at, status: 429 }),
    new ApiError.ClientError({ ...at, status: 418 }),
    new ApiError.ServerError({ ...at, status: 500 }),
    new ApiError.Timeout({ ...at, phase: "headers" }),
    new ApiError.NetworkError({ ...at, reason: "Transport", sent: true }),
    new ApiError.InvalidResponse({ ...at, status: 200, problem: "x" })
  ]

  it("isApiError recognises every error and nothing else", () => {
    for (const error of everyError) {
      expect(ApiError.isApiError(error)).toBe(true)
      expect((error as unknown as Record<symbol, unknown>)[ApiError.TypeId]).toBe(ApiError.TypeId)
    }
    expect(new Set(everyError.map((e) => e._tag)).size).toBe(11)
    expect(ApiError.isApiError(new Error("x"))).toBe(false)
    expect(ApiError.isApiError({ _tag: "ServerError" })).toBe(false)
    expect(ApiError.isApiError(null)).toBe(false)
  })

  it("every error shares one base: its message, its JSON, no stack trace captured, still an Error", () => {
    for (const error of everyError) {
      expect(error).toBeInstanceOf(Error)
      expect(error.message).toContain("GET https://api.example.com/v1/items")
      expect((error.toJSON() as { _tag: string })._tag).toBe(error._tag)
      // No frames: an expected API error is a value, and capturing a stack was much of a 4xx's cost.
      expect(error.stack ?? "").not.toMatch(/\n\s+at /)
    }
    // Stack traces elsewhere are untouched.
    expect(new Error("elsewhere").stack).toMatch(/\n\s+at /)
  })

  it("what an error means is decided in one place: retry reason, not processed, origin failure", () => {
    const meaning = everyError.map((e) => [
      e._tag,
      ApiError.retryReason(e),
      ApiError.certainlyNotProcessed(e),
      ApiError.isOriginFailure(e)
    ])
    expect(meaning).toEqual([
      ["BadRequest", "other", false, false],
      ["Unauthorized", "401-refresh", true, false],
      ["Forbidden", "other", false, false],
      ["NotFound", "other", false, false],
      ["Conflict", "other", false, false],
      ["RateLimited", "429", true, false],
      ["ClientError", "other", false, false],
      ["ServerError", "5xx", false, true],
      ["Timeout", "timeout", false, true],
      ["NetworkError", "network", false, true],
      ["InvalidResponse", "other", false, false]
    ])
    expect(ApiError.certainlyNotProcessed(new ApiError.Timeout({ ...at, phase: "connect" }))).toBe(true)
    expect(ApiError.certainlyNotProcessed(new ApiError.NetworkError({ ...at, reason: "Transport", sent: false })))
      .toBe(true)
    expect(ApiError.isOriginFailure(new ApiError.Timeout({ ...at, phase: "deadline" }))).toBe(false)
    expect(ApiError.isOriginFailure(new ApiError.ServerError({ ...at, status: 503, retryAfter: Duration.seconds(2) })))
      .toBe(false)
    expect(ApiError.isOriginFailure(new ApiError.NetworkError({ ...at, reason: "Encode", sent: false }))).toBe(false)
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
