import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"

// Real OAuth2 client-credentials exchanges with the sandbox over loopback.

const sourceFor = (sandbox: Sandbox.Service, method: "basic" | "body" = "basic") =>
  TokenSource.clientCredentials({
    tokenUrl: sandbox.tokenUrl,
    clientId: SandboxConfig.demoClient.clientId,
    clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret),
    scope: "items:read",
    method
  })

const TestLayer = (config: Parameters<typeof Sandbox.layer>[0]) =>
  Layer.merge(Sandbox.layer(config), NodeHttpClient.layerUndici)

describe("TokenProvider against the sandbox", () => {
  it.live("1,000 concurrent gets with no valid token make exactly one token request", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const tokens = yield* TokenProvider.make(sourceFor(sandbox))
      const first = yield* Effect.all(Array.from({ length: 1000 }, () => tokens.get), { concurrency: "unbounded" })
      expect(new Set(first.map((t) => Redacted.value(t.value))).size).toBe(1)
      expect((yield* sandbox.stats).tokensIssued).toBe(1)
      // At expiry (here: the token was rejected and invalidated), again exactly one request.
      yield* tokens.invalidate(first[0]!)
      const second = yield* Effect.all(Array.from({ length: 1000 }, () => tokens.get), { concurrency: "unbounded" })
      expect(new Set(second.map((t) => Redacted.value(t.value))).size).toBe(1)
      expect((yield* sandbox.stats).tokensIssued).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(TestLayer({ seed: 1 }))))

  it.live("both client authentication methods work, and the granted scope is recorded", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      for (const method of ["basic", "body"] as const) {
        const token = yield* sourceFor(sandbox, method).fetch
        expect(token.scope).toBe("items:read")
        expect(token.expiresAt - token.issuedAt).toBe(300_000)
      }
    }).pipe(Effect.provide(TestLayer({ seed: 2, tokens: { lifetimeSeconds: 300 } }))))

  it.live("a token endpoint that limits token requests answers RateLimited with its Retry-After", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const source = sourceFor(sandbox)
      yield* source.fetch
      const error = yield* Effect.flip(source.fetch)
      expect(error.reason).toBe("RateLimited")
      expect(error.oauthError).toBe("slow_down")
      expect(error.retryAfter).toBeDefined()
    }).pipe(Effect.provide(TestLayer({ seed: 3, tokens: { requestLimit: { limit: 1, windowSeconds: 60 } } }))))

  it.live("wrong credentials are Rejected with invalid_client and not retried", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const tokens = yield* TokenProvider.make(
        TokenSource.clientCredentials({
          tokenUrl: sandbox.tokenUrl,
          clientId: SandboxConfig.demoClient.clientId,
          clientSecret: Redacted.make("wrong-secret")
        })
      )
      const error = yield* Effect.flip(tokens.get)
      expect([error.reason, error.status, error.oauthError]).toEqual(["Rejected", 401, "invalid_client"])
      expect((yield* sandbox.stats).tokenRequestsRejected).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(TestLayer({ seed: 4 }))))
})
