import { Sandbox } from "@bulwark/sandbox"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { demo, exchange, json, OAuthError, readOnly, stats, tokenRequest, TokenResponse, transports } from "./utils.js"

const post = (body: string, headers: Record<string, string> = {}) =>
  HttpClientRequest.post("/oauth/token").pipe(
    HttpClientRequest.setHeaders(headers),
    HttpClientRequest.bodyText(body, "application/x-www-form-urlencoded")
  )

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`

const oauthError = (text: string) => Schema.decodeUnknownSync(OAuthError)(json(text))

describe.each(transports)("over $name", ({ name, sandboxLayer }) => {
  describe("POST /oauth/token", () => {
    it.effect("issues a bearer token to a client authenticated with HTTP Basic", () =>
      Effect.gen(function*() {
        const { headers, status, text } = yield* exchange(tokenRequest())
        expect(status).toBe(200)
        const body = Schema.decodeUnknownSync(TokenResponse)(json(text))
        expect(body.token_type).toBe("Bearer")
        expect(body.expires_in).toBe(3600)
        expect(body.scope).toBe("items:read items:write")
        expect(body.access_token).toMatch(/^sbx_[0-9a-f]{48}$/)
        expect(headers["cache-control"]).toBe("no-store")
        expect(headers["x-request-id"]).toMatch(/^req_/)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("accepts client credentials in the form body", () =>
      Effect.gen(function*() {
        const { status, text } = yield* exchange(post(
          `grant_type=client_credentials&client_id=${demo.clientId}&client_secret=${demo.clientSecret}`
        ))
        expect(status).toBe(200)
        expect(json(text).token_type).toBe("Bearer")
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("narrows the token to a requested scope and rejects a scope the client lacks", () =>
      Effect.gen(function*() {
        const narrowed = yield* exchange(tokenRequest(demo, { grant_type: "client_credentials", scope: "items:read" }))
        expect(json(narrowed.text).scope).toBe("items:read")
        const refused = yield* exchange(
          tokenRequest(readOnly, { grant_type: "client_credentials", scope: "items:read items:write" })
        )
        expect(refused.status).toBe(400)
        expect(oauthError(refused.text).error).toBe("invalid_scope")
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("answers 401 invalid_client with a Basic challenge to wrong credentials", () =>
      Effect.gen(function*() {
        const wrongSecret = yield* exchange(tokenRequest({ clientId: demo.clientId, clientSecret: "nope" }))
        expect(wrongSecret.status).toBe(401)
        expect(oauthError(wrongSecret.text).error).toBe("invalid_client")
        expect(wrongSecret.response.headers["www-authenticate"]).toMatch(/^Basic realm="bulwark-sandbox"/)
        expect(wrongSecret.text).not.toContain("nope")

        const unknown = yield* exchange(tokenRequest({ clientId: "who", clientSecret: "x" }))
        expect(unknown.status).toBe(401)

        const wrongBodySecret = yield* exchange(
          post(`grant_type=client_credentials&client_id=${demo.clientId}&client_secret=nope`)
        )
        expect(wrongBodySecret.status).toBe(401)
        expect(oauthError(wrongBodySecret.text).error).toBe("invalid_client")

        const none = yield* exchange(post("grant_type=client_credentials"))
        expect(none.status).toBe(401)
        expect(none.response.headers["www-authenticate"]).toContain("Basic")

        const malformed = yield* exchange(post("grant_type=client_credentials", { authorization: "Basic !!!" }))
        expect(malformed.status).toBe(401)
        expect(oauthError(malformed.text).error_description).toContain("not valid HTTP Basic")

        const bearer = yield* exchange(post("grant_type=client_credentials", { authorization: "Bearer abc" }))
        expect(bearer.status).toBe(401)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("answers 400 to a missing or unsupported grant type and to malformed requests", () =>
      Effect.gen(function*() {
        const auth = { authorization: basic(demo.clientId, demo.clientSecret) }
        const missing = yield* exchange(post("", auth))
        expect([missing.status, oauthError(missing.text).error]).toEqual([400, "invalid_request"])
        expect(oauthError(missing.text).error_description).toContain("grant_type")

        const password = yield* exchange(post("grant_type=password&username=a&password=b", auth))
        expect([password.status, oauthError(password.text).error]).toEqual([400, "unsupported_grant_type"])

        const repeated = yield* exchange(post("grant_type=client_credentials&grant_type=client_credentials", auth))
        expect([repeated.status, oauthError(repeated.text).error]).toEqual([400, "invalid_request"])

        const badEncoding = yield* exchange(post("grant_type=%E0%A4%A", auth))
        expect([badEncoding.status, oauthError(badEncoding.text).error]).toEqual([400, "invalid_request"])

        const asJson = yield* exchange(
          HttpClientRequest.post("/oauth/token").pipe(
            HttpClientRequest.setHeaders(auth),
            HttpClientRequest.bodyUnsafeJson({ grant_type: "client_credentials" })
          )
        )
        expect([asJson.status, oauthError(asJson.text).error]).toEqual([400, "invalid_request"])

        const both = yield* exchange(
          post(`grant_type=client_credentials&client_id=${demo.clientId}&client_secret=${demo.clientSecret}`, auth)
        )
        expect([both.status, oauthError(both.text).error]).toEqual([400, "invalid_request"])

        const get = yield* exchange(HttpClientRequest.get("/oauth/token"))
        expect(get.status).toBe(405)
        expect(get.response.headers["allow"]).toBe("POST")
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("limits token requests per client and answers 429 with Retry-After", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) expect((yield* exchange(tokenRequest())).status).toBe(200)
        const limited = yield* exchange(tokenRequest())
        expect(limited.status).toBe(429)
        expect(oauthError(limited.text).error).toBe("slow_down")
        expect(oauthError(limited.text).error_description).toContain("Reuse the access token")
        expect(limited.response.headers["retry-after"]).toBe("60")
        // Another client has its own limit.
        expect((yield* exchange(tokenRequest(readOnly))).status).toBe(200)
        // Coming back early is counted; after Retry-After the client may fetch again.
        expect((yield* exchange(tokenRequest())).status).toBe(429)
        yield* TestClock.adjust("60 seconds")
        expect((yield* exchange(tokenRequest())).status).toBe(200)
        const counted = yield* stats
        expect(counted.tokensIssued).toBe(5)
        expect(counted.tokenRequestsRejected).toBe(2)
        expect(counted.rateLimited).toBe(2)
        expect(counted.earlyRetries).toEqual({ [demo.clientId]: 1 })
      }).pipe(Effect.provide(sandboxLayer({ tokens: { requestLimit: { limit: 3, windowSeconds: 60 } } }))))

    it.effect("issues reproducible tokens for a seed", () =>
      Effect.gen(function*() {
        const first = yield* exchange(tokenRequest()).pipe(Effect.provide(sandboxLayer({ seed: 42 })))
        const second = yield* exchange(tokenRequest()).pipe(Effect.provide(sandboxLayer({ seed: 42 })))
        const other = yield* exchange(tokenRequest()).pipe(Effect.provide(sandboxLayer({ seed: 43 })))
        expect(json(first.text).access_token).toBe(json(second.text).access_token)
        expect(json(first.text).access_token).not.toBe(json(other.text).access_token)
      }))

    it.effect("exposes the URLs and clients of the running sandbox", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        expect(sandbox.url).toMatch(name === "TCP" ? /^http:\/\/127\.0\.0\.1:\d+$/ : /^http:\/\/sandbox\.test$/)
        expect(sandbox.tokenUrl).toBe(`${sandbox.url}/oauth/token`)
        expect(sandbox.clients.map((c) => c.clientId)).toEqual([demo.clientId, readOnly.clientId])
        expect(String(sandbox.clients[0]!.clientSecret)).not.toContain(demo.clientSecret)
      }).pipe(Effect.provide(sandboxLayer())))
  })
})
