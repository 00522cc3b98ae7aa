import { TokenError, TokenSource } from "@bulwark/auth-token"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import { type Answer, fakeTokenEndpoint, leaks } from "./fakeTokenEndpoint.js"

const SECRET = "m3ss4ge-s3cret/+="
const TOKEN_URL = "https://auth.example.com/oauth/token?tenant=acme&client_secret=in-the-url"
const REDACTED_URL = "https://auth.example.com/oauth/token?tenant=acme&client_secret=<redacted>"

const fetchWith = (answer: Answer) =>
  TokenSource.clientCredentials({
    tokenUrl: TOKEN_URL,
    clientId: "catalog-sync",
    clientSecret: Redacted.make(SECRET)
  }).fetch.pipe(Effect.provideService(HttpClient.HttpClient, fakeTokenEndpoint(() => answer)), Effect.flip)

/** One error of each reason, as the client-credentials source (or a custom source) produces it. */
const oneOfEach: Record<TokenError.TokenErrorReason, Effect.Effect<TokenError.TokenError, unknown>> = {
  Unreachable: fetchWith({
    transportError: Object.assign(new Error(`connect ECONNREFUSED 10.0.0.1:443.`), { code: "ECONNREFUSED" })
  }),
  Timeout: fetchWith({ status: 408, body: "" }),
  ServerError: fetchWith({ status: 503, body: "<html><title>503</title></html>", headers: { "retry-after": "12" } }),
  RateLimited: fetchWith({
    status: 429,
    body: JSON.stringify({ error: "slow_down", error_description: "Too many requests..." }),
    headers: { "retry-after": "30" }
  }),
  Rejected: fetchWith({
    status: 401,
    body: JSON.stringify({ error: "invalid_client", error_description: `Client authentication failed.` })
  }),
  MalformedResponse: fetchWith({ status: 200, body: JSON.stringify({ access_token: "t", expires_in: 0.001 }) }),
  SourceFailed: TokenSource.fromEffect(Effect.fail(new Error("the vault is sealed.")), { name: "vault" }).fetch.pipe(
    Effect.flip
  ),
  InvalidConfig: TokenSource.clientCredentials({
    tokenUrl: "not a url",
    clientId: "catalog-sync",
    clientSecret: Redacted.make(SECRET)
  }).fetch.pipe(Effect.provideService(HttpClient.HttpClient, fakeTokenEndpoint(() => ({ status: 500 }))), Effect.flip)
}

/** Advice that belongs to API calls, not to token requests. */
const apiCallAdvice = [/idempot/i, /Idempotency-Key/, /API provider/, /base URL/, /the server may have applied/i]

describe("TokenError messages", () => {
  it.effect("every reason says what happened at the token endpoint and what to do, in clean sentences", () =>
    Effect.gen(function*() {
      for (const [reason, make] of Object.entries(oneOfEach)) {
        const error = yield* make
        const message = error.message
        expect(error.reason, message).toBe(reason)
        expect(message, reason).not.toMatch(/\.\./)
        expect(message, reason).not.toMatch(/[.:;,]\s*[.:;,]/)
        expect(message, reason).toMatch(/^No access token\b/)
        expect(message, reason).toMatch(/[^.]\.$/)
        for (const advice of apiCallAdvice) expect(message, reason).not.toMatch(advice)
        expect(leaks(error, [SECRET, "in-the-url"]), reason).toEqual([])
        if (reason !== "SourceFailed" && reason !== "InvalidConfig") expect(message, reason).toContain(REDACTED_URL)
        // What to do: retried, or what to check or fix.
        expect(message, reason).toMatch(error.retryable ? /is retried/ : /Nothing (is retried|was sent)/)
      }
    }))

  it.effect("the messages read as intended", () =>
    Effect.gen(function*() {
      const source = `the token endpoint ${REDACTED_URL} (client catalog-sync)`
      expect((yield* oneOfEach.Unreachable).message).toBe(
        `No access token: ${source} could not be reached: the connection failed (connect ECONNREFUSED 10.0.0.1:443). The token request is retried with backoff; if this persists, check the token URL, DNS, proxy settings and that the identity provider is up.`
      )
      expect((yield* oneOfEach.RateLimited).message).toBe(
        `No access token: ${source} refused the token request as too frequent with HTTP 429 and OAuth error "slow_down": Too many requests. The token request is retried after its Retry-After (30 s); tokens are reused until they expire, so frequent 429s mean many processes fetch their own tokens: share one through a TokenStore.`
      )
      expect((yield* oneOfEach.Rejected).message).toBe(
        `No access token: ${source} rejected the token request with HTTP 401 and OAuth error "invalid_client": Client authentication failed. Nothing is retried: check the client id and secret, the client authentication method (basic or body), the scope and the audience.`
      )
      expect((yield* oneOfEach.SourceFailed).message).toBe(
        `No access token: the token source "vault" failed: the vault is sealed. Nothing is retried: see the error's cause for what the source reported.`
      )
    }))

  it("a TokenError built by hand renders the same way, and InvalidConfig is a reason", () => {
    const error = new TokenError.TokenError({
      source: "https://auth.example.com/token (client c)",
      reason: "ServerError",
      status: 502,
      detail: "upstream failed.",
      retryAfter: Duration.seconds(2)
    })
    expect(error.message).toBe(
      "No access token: the token endpoint https://auth.example.com/token (client c) failed with HTTP 502: upstream failed. The token request is retried after its Retry-After (2 s); if this persists, report it to the identity provider."
    )
    expect(TokenError.TokenErrorReason.literals).toContain("InvalidConfig")
    expect(TokenError.isRetryableReason("InvalidConfig")).toBe(false)
  })
})
