import { Policy } from "@bulwark/http-client"
import { PolicyCheck } from "@bulwark/policy"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"

describe("PolicyCheck", () => {
  it("hands a scenario the policy's client settings, never its base URL or auth; its breaker only when set", () => {
    const policy = Either.getOrThrow(Policy.decodeEither({
      baseUrl: "https://api.partner.example/v1",
      auth: "none",
      retry: { maxRetries: 1 },
      deadline: "5 seconds"
    }))
    expect(PolicyCheck.overridesOf(policy)).toEqual({ client: { retry: { maxRetries: 1 }, deadline: "5 seconds" } })
    const withBreaker = Either.getOrThrow(Policy.decodeEither({ breaker: { failureRatio: 0.5 } }))
    expect(PolicyCheck.overridesOf(withBreaker).circuitBreaker).toEqual({ failureRatio: 0.5 })
    const without = Either.getOrThrow(Policy.decodeEither({ breaker: false }))
    expect(PolicyCheck.overridesOf(without).circuitBreaker).toBe(false)
  })

  it("warns about a rule that can never match", () => {
    const policy = Either.getOrThrow(Policy.decodeEither({
      routes: [{ match: "* /**", name: "all" }, { match: "GET /items", name: "items" }]
    }))
    expect(PolicyCheck.toText(policy)).toContain("! routes.1 (\"items\") never matches: routes.0 (\"all\")")
  })
})
