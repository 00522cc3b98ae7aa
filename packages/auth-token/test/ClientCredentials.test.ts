import type { TokenError } from "@bulwark/auth-token"
import { TokenProvider, TokenSource } from "@bulwark/auth-token"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"

// A loopback server that answers the token endpoint with whatever a test case needs, and records what
// it received. Real HTTP: the client's encoding and the server's bodies cross a socket.
const SECRET = "s3cr3t:with spaces&symbols"
const TOKEN = "at-0123456789abcdef"
let server: Http.Server
let base: string
const received: Array<{ readonly authorization?: string | undefined; readonly body: string }> = []

const cases: Record<string, { status: number; body: string; headers?: Record<string, string> }> = {
  "/ok": {
    status: 200,
    body: JSON.stringify({ access_token: TOKEN, token_type: "Bearer", expires_in: 300, scope: "items:read" })
  },
  "/string-expiry": {
    status: 200,
    body: JSON.stringify({ access_token: TOKEN, token_type: "bearer", expires_in: "120" })
  },
  "/no-expiry": { status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: "Bearer" }) },
  "/html": { status: 200, body: "<html><body>Login</body></html>", headers: { "content-type": "text/html" } },
  "/missing-token": { status: 200, body: JSON.stringify({ token_type: "Bearer", expires_in: 300 }) },
  "/empty-token": { status: 200, body: JSON.stringify({ access_token: "", expires_in: 300 }) },
  "/negative": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: -5 }) },
  "/absurd": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: 1e12 }) },
  "/sub-second": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: 0.001 }) },
  "/denormal": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: 5e-324 }) },
  "/half-second": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: "0.5" }) },
  "/one-second": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: 1 }) },
  "/nan": { status: 200, body: JSON.stringify({ access_token: TOKEN, expires_in: "soon" }) },
  "/mac": { status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: "mac", expires_in: 60 }) },
  "/error-200": { status: 200, body: JSON.stringify({ error: "invalid_client" }) },
  "/truncated": { status: 200, body: `{"access_token": "${TOKEN}", "expi` },
  "/invalid-client": {
    status: 401,
    body: JSON.stringify({ error: "invalid_client", error_description: `bad secret ${SECRET}` }),
    headers: { "www-authenticate": "Basic realm=\"token\"" }
  },
  "/invalid-scope": { status: 400, body: JSON.stringify({ error: "invalid_scope" }) },
  "/busy": { status: 429, body: "", headers: { "retry-after": "7" } },
  "/down": { status: 503, body: "<html><title>503</title></html>" }
}

beforeAll(async () => {
  server = Http.createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      received.push({ authorization: req.headers.authorization, body })
      const answer = cases[req.url ?? ""] ?? { status: 404, body: "" }
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
      res.end(answer.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise((resolve) => server.close(resolve)))

const source = (path: string, method: "basic" | "body" = "basic") =>
  TokenSource.clientCredentials({
    tokenUrl: `${base}${path}`,
    clientId: "catalog sync",
    clientSecret: Redacted.make(SECRET),
    scope: ["items:read", "items:write"],
    audience: "https://api.example.com",
    method
  })

const fetchFrom = (path: string, method: "basic" | "body" = "basic") =>
  source(path, method).fetch.pipe(Effect.provide(NodeHttpClient.layerUndici))

const expectNoSecrets = (error: TokenError.TokenError) => {
  for (const text of [error.message, String(error), JSON.stringify(error), inspect(error, { depth: 5 })]) {
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain(TOKEN)
  }
}

describe("TokenSource.clientCredentials", () => {
  it.effect("sends RFC 6749 §4.4 requests with Basic (form-encoded) or body client auth", () =>
    Effect.gen(function*() {
      received.length = 0
      const token = yield* fetchFrom("/ok")
      expect(Redacted.value(token.value)).toBe(TOKEN)
      expect(token.scope).toBe("items:read")
      expect(token.expiresAt - token.issuedAt).toBe(300_000)
      const basic = received[0]!
      const decoded = Buffer.from(basic.authorization!.replace("Basic ", ""), "base64").toString()
      expect(decoded).toBe(`catalog+sync:${encodeURIComponent(SECRET).replace(/%20/g, "+")}`)
      expect(new URLSearchParams(basic.body).get("grant_type")).toBe("client_credentials")
      expect(new URLSearchParams(basic.body).get("scope")).toBe("items:read items:write")
      expect(new URLSearchParams(basic.body).get("audience")).toBe("https://api.example.com")
      expect(new URLSearchParams(basic.body).has("client_secret")).toBe(false)

      yield* fetchFrom("/ok", "body")
      const form = new URLSearchParams(received[1]!.body)
      expect(received[1]!.authorization).toBeUndefined()
      expect([form.get("client_id"), form.get("client_secret")]).toEqual(["catalog sync", SECRET])
    }))

  it.effect("is lenient about expires_in as a string or absent", () =>
    Effect.gen(function*() {
      const shortest = yield* fetchFrom("/one-second")
      expect(shortest.expiresAt - shortest.issuedAt).toBe(1000)
      const fromString = yield* fetchFrom("/string-expiry")
      expect(fromString.expiresAt - fromString.issuedAt).toBe(120_000)
      expect(fromString.scope).toBe("items:read items:write")
      const defaulted = yield* fetchFrom("/no-expiry")
      expect(defaulted.expiresAt - defaulted.issuedAt).toBe(Duration.toMillis(Duration.hours(1)))
    }))

  it.effect("bad token responses are typed MalformedResponse errors", () =>
    Effect.gen(function*() {
      const expectations: Record<string, RegExp> = {
        "/html": /not JSON/,
        "/missing-token": /access_token is missing/,
        "/empty-token": /access_token is not valid/,
        "/negative": /positive number/,
        "/absurd": /absurd/,
        "/sub-second": /below the 1 second minimum/,
        "/denormal": /below the 1 second minimum/,
        "/half-second": /below the 1 second minimum/,
        "/nan": /expires_in is not valid/,
        "/mac": /only Bearer/,
        "/error-200": /OAuth error/,
        "/truncated": /not JSON/
      }
      for (const [path, detail] of Object.entries(expectations)) {
        const error = yield* Effect.flip(fetchFrom(path))
        expect(error.reason, path).toBe("MalformedResponse")
        expect(error.retryable).toBe(false)
        expect(error.detail, path).toMatch(detail)
        expectNoSecrets(error)
      }
    }))

  it.effect("maps the endpoint's failures to reasons", () =>
    Effect.gen(function*() {
      const rejected = yield* Effect.flip(fetchFrom("/invalid-client"))
      expect([rejected.reason, rejected.status, rejected.oauthError]).toEqual(["Rejected", 401, "invalid_client"])
      expect(rejected.message).toContain("check the client id and secret")
      expectNoSecrets(rejected)
      expect((yield* Effect.flip(fetchFrom("/invalid-scope"))).oauthError).toBe("invalid_scope")
      const busy = yield* Effect.flip(fetchFrom("/busy"))
      expect([busy.reason, busy.retryAfter]).toEqual(["RateLimited", Duration.seconds(7)])
      expect((yield* Effect.flip(fetchFrom("/down"))).reason).toBe("ServerError")
      const unreachable = yield* Effect.flip(
        TokenSource.clientCredentials({
          tokenUrl: "http://127.0.0.1:1/token",
          clientId: "c",
          clientSecret: Redacted.make(SECRET)
        })
          .fetch.pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      expect([unreachable.reason, unreachable.retryable]).toEqual(["Unreachable", true])
      // A real transport error, as undici reports it: one sentence end, no API-call advice.
      expect(unreachable.message).toContain("http://127.0.0.1:1/token (client c) could not be reached")
      expect(unreachable.message).not.toMatch(/\.\.|idempot|API provider/i)
      expectNoSecrets(unreachable)
    }))

  it.effect("method is the option's name; the deprecated auth still works and method wins over it", () =>
    Effect.gen(function*() {
      const sent = (options: { method?: "basic" | "body"; auth?: "basic" | "body" }) =>
        Effect.gen(function*() {
          received.length = 0
          yield* TokenSource.clientCredentials({
            tokenUrl: `${base}/ok`,
            clientId: "catalog sync",
            clientSecret: Redacted.make(SECRET),
            ...options
          }).fetch.pipe(Effect.provide(NodeHttpClient.layerUndici))
          return received[0]!.authorization === undefined ? "body" : "basic"
        })
      expect(yield* sent({})).toBe("basic")
      expect(yield* sent({ method: "body" })).toBe("body")
      expect(yield* sent({ auth: "body" })).toBe("body")
      expect(yield* sent({ method: "basic", auth: "body" })).toBe("basic")
      expect(yield* sent({ method: "body", auth: "basic" })).toBe("body")
    }))

  it.effect("bad options fail every fetch with InvalidConfig, send nothing and never echo a value", () =>
    Effect.gen(function*() {
      received.length = 0
      const source = TokenSource.clientCredentials({
        tokenUrl: "ftp://auth.example.com/token",
        clientId: "",
        clientSecret: SECRET as unknown as Redacted.Redacted<string>,
        method: "post" as "basic",
        timeout: -5,
        defaultExpiresIn: "500 millis"
      })
      const error = yield* Effect.flip(source.fetch.pipe(Effect.provide(NodeHttpClient.layerUndici)))
      expect([error.reason, error.retryable]).toEqual(["InvalidConfig", false])
      for (const name of ["tokenUrl", "clientId", "clientSecret", "method", "timeout", "defaultExpiresIn"]) {
        expect(error.message).toContain(name)
      }
      for (const value of ["post", "-5", "500 millis"]) expect(error.message).not.toContain(value)
      expectNoSecrets(error)
      expect(received).toHaveLength(0)
    }))

  it.scoped("a provider over a rejecting endpoint fails get with the typed error and does not retry it", () =>
    Effect.gen(function*() {
      received.length = 0
      const tokens = yield* TokenProvider.make(source("/invalid-client"))
      const error = yield* Effect.flip(tokens.get)
      expect(error.reason).toBe("Rejected")
      expect(received).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
