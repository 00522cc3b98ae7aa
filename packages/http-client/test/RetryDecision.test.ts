import { AccessToken } from "@bulwark/auth-token"
import { ApiError } from "@bulwark/core-errors"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { decide } from "../src/internal/retry.js"

// The retry stage's decision is a plain function of the call, the error and the time: every branch here, no
// clock, no transport.

const at = { method: "GET", url: "https://api.example.com/v1/items" }
const token = Effect.runSync(AccessToken.make({ value: "t", expiresIn: "1 hour" }))
const fresh = { refreshed: false, tokenUsed: token, rateLimitWaits: 0 }
const context = {
  now: 1_000,
  deadlineAt: 31_000,
  idempotent: true,
  canRefresh: true,
  retries: true,
  trafficControlled: undefined
}
const traffic = { maxRateLimitRetries: 2, maxRetryAfterMillis: 60_000 }

describe("retry decide", () => {
  it("401: refresh once, with a provider and a token sent; never on insufficient scope", () => {
    const unauthorized = new ApiError.Unauthorized({ ...at, status: 401 })
    expect(decide(fresh, unauthorized, context)._tag).toBe("refresh")
    expect(decide({ ...fresh, refreshed: true }, unauthorized, context)._tag).toBe("fail")
    expect(decide({ ...fresh, tokenUsed: undefined }, unauthorized, context)._tag).toBe("fail")
    expect(decide(fresh, unauthorized, { ...context, canRefresh: false })._tag).toBe("fail")
    // Even with retries off, the single replay after a 401 stays.
    expect(decide(fresh, unauthorized, { ...context, retries: false })._tag).toBe("refresh")
    const scope = new ApiError.Unauthorized({
      ...at,
      status: 401,
      challenge: "Bearer error=\"insufficient_scope\""
    })
    expect(decide(fresh, scope, context)._tag).toBe("fail")
  })

  it("transient errors back off; permanent ones, retries off, or a non-idempotent processed request fail", () => {
    const server = new ApiError.ServerError({ ...at, status: 503 })
    expect(decide(fresh, server, context)._tag).toBe("backoff")
    expect(decide(fresh, server, { ...context, retries: false })._tag).toBe("fail")
    expect(decide(fresh, server, { ...context, idempotent: false })._tag).toBe("fail")
    expect(decide(fresh, new ApiError.BadRequest({ ...at, status: 400 }), context)._tag).toBe("fail")
    // Nothing was sent: even a POST without a key may go again.
    const unsent = new ApiError.NetworkError({ ...at, reason: "Transport", sent: false })
    expect(decide(fresh, unsent, { ...context, idempotent: false })._tag).toBe("backoff")
  })

  it("a 429 whose Retry-After outlasts the deadline gives up at once, saying when", () => {
    const late = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(40) })
    expect(decide(fresh, late, context)).toEqual({ _tag: "give-up-until", retryAt: 41_000 })
    const soon = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(2) })
    expect(decide(fresh, soon, context)._tag).toBe("backoff")
  })

  it("under a traffic controller a 'not now' requeues, bounded by the count, the cap and the deadline", () => {
    const withTraffic = { ...context, trafficControlled: traffic }
    const soon = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(2), retryAt: 3_000 })
    expect(decide(fresh, soon, withTraffic)._tag).toBe("requeue")
    expect(decide({ ...fresh, rateLimitWaits: 2 }, soon, withTraffic)._tag).toBe("fail")
    const capped = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(61) })
    expect(decide(fresh, capped, withTraffic)._tag).toBe("fail")
    const pastDeadline = new ApiError.RateLimited({ ...at, status: 429, retryAfter: Duration.seconds(40) })
    expect(decide(fresh, pastDeadline, withTraffic)).toEqual({ _tag: "give-up-until", retryAt: 41_000 })
    // A 503 with Retry-After past the deadline is not a 429: it fails as it is.
    const shedding = new ApiError.ServerError({ ...at, status: 503, retryAfter: Duration.seconds(40) })
    expect(decide(fresh, shedding, withTraffic)._tag).toBe("fail")
  })
})
