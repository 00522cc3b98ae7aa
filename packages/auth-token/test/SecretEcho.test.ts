import { TokenSource } from "@bulwark/auth-token"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import {
  type Answer,
  fakeTokenEndpoint,
  formBodyEncode,
  formEncode,
  leaks,
  type Received
} from "./fakeTokenEndpoint.js"

// Spaces, "/", "+", "=", "~" and "*" encode differently in a URL, a Basic header and a form body.
const SECRET = "s3cr3t:with spaces&symbols/+=~*"
const CLIENT_ID = "catalog sync"
const TOKEN = "at-echoed-0123456789abcdef"
const TOKEN_URL = "https://auth.example.com/oauth/token?tenant=acme"

const b64 = (text: string) => Buffer.from(text).toString("base64")
const b64url = (text: string) => Buffer.from(text).toString("base64url")
const basicCredentials = `${formEncode(CLIENT_ID)}:${formEncode(SECRET)}`

/** The echoes a hostile or careless token endpoint may send back, computed from what it received. */
const echoes: Record<string, (received: Received) => string> = {
  raw: () => SECRET,
  "URL-encoded": () => encodeURIComponent(SECRET),
  "URL-encoded, lower-case hex": () => encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
  "form-encoded (Basic)": () => formEncode(SECRET),
  "form-encoded (body), as received": (received) =>
    /(?:^|&)client_secret=([^&]*)/.exec(received.body)?.[1] ?? formBodyEncode(SECRET),
  "base64 of the secret": () => b64(SECRET),
  "base64url of the secret": () => b64url(SECRET),
  "base64 of the Basic credentials": () => b64(basicCredentials),
  "the Authorization header, as received": (received) => received.authorization ?? `Basic ${b64(basicCredentials)}`,
  "base64, misaligned inside a longer run": () => b64(`xy${SECRET}z`),
  "base64 of the Basic credentials, misaligned": () => b64(`[${basicCredentials}]`).slice(2),
  "the form body, as received": (received) => received.body
}

/** Where the echo is planted in the answer. */
const placements: Record<string, (echo: string) => Answer> = {
  "error_description of a 401": (echo) => ({
    status: 401,
    body: JSON.stringify({ error: "invalid_client", error_description: `client secret ${echo} is wrong` })
  }),
  "error_description of a 400 with an access_token": (echo) => ({
    status: 400,
    body: JSON.stringify({ error: "invalid_scope", error_description: `got ${echo} and ${TOKEN}`, access_token: TOKEN })
  }),
  "error code of a 400": (echo) => ({ status: 400, body: JSON.stringify({ error: echo }) }),
  "a non-JSON 401 body": (echo) => ({
    status: 401,
    body: `<html><body>bad credentials ${echo}</body></html>`,
    headers: { "content-type": "text/html", "www-authenticate": `Basic realm="${echo}"` }
  }),
  "a non-JSON 500 body": (echo) => ({ status: 500, body: `upstream said: ${echo}`, headers: { "retry-after": "3" } }),
  "a non-JSON 200 body": (echo) => ({ status: 200, body: `secret=${echo}`, headers: { "content-type": "text/plain" } }),
  "the content-type of a non-JSON 200": (echo) => ({
    status: 200,
    body: "not json",
    headers: { "content-type": `text/${echo}` }
  }),
  "a 200 that fails to decode (token_type)": (echo) => ({
    status: 200,
    body: JSON.stringify({ access_token: TOKEN, token_type: echo, expires_in: 60 })
  }),
  "a 200 that fails to decode (expires_in)": (echo) => ({
    status: 200,
    body: JSON.stringify({ access_token: TOKEN, expires_in: echo })
  }),
  "a 200 carrying an OAuth error": (echo) => ({
    status: 200,
    body: JSON.stringify({ error: echo, error_description: echo, access_token: TOKEN })
  }),
  "a 429 error_description": (echo) => ({
    status: 429,
    body: JSON.stringify({ error: "slow_down", error_description: echo }),
    headers: { "retry-after": "5" }
  }),
  "the Location of a redirect": (echo) => ({
    status: 302,
    body: null,
    headers: { location: `https://login.example.com/?s=${echo}&client_secret=${echo}` }
  }),
  "a transport error's cause": (echo) => ({
    transportError: Object.assign(new Error(`connect ECONNREFUSED (sent ${echo})`), { code: "ECONNREFUSED" })
  })
}

const fetchWith = (method: "basic" | "body", answer: (received: Received) => Answer) =>
  TokenSource.clientCredentials({
    tokenUrl: TOKEN_URL,
    clientId: CLIENT_ID,
    clientSecret: Redacted.make(SECRET),
    scope: "items:read",
    method
  }).fetch.pipe(Effect.provideService(HttpClient.HttpClient, fakeTokenEndpoint(answer)))

describe("a token endpoint that echoes the client secret", () => {
  for (const method of ["basic", "body"] as const) {
    it.effect(`never leaks it into a TokenError, in any form it travelled in (method: ${method})`, () =>
      Effect.gen(function*() {
        let cases = 0
        for (const [echoName, echo] of Object.entries(echoes)) {
          for (const [placementName, place] of Object.entries(placements)) {
            const error = yield* Effect.flip(fetchWith(method, (received) => place(echo(received))))
            const found = leaks(error, [SECRET, basicCredentials, TOKEN])
            expect(found, `${echoName} in ${placementName}: ${error.message}`).toEqual([])
            expect(error.message).not.toMatch(/\.\./)
            cases++
          }
        }
        expect(cases).toBe(Object.keys(echoes).length * Object.keys(placements).length)
      }))
  }

  it.effect("keeps what is useful: the OAuth error code, a scrubbed description, the status", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fetchWith("body", (received) =>
        placements["error_description of a 401"]!(
          echoes["form-encoded (body), as received"]!(received)
        )))
      expect([error.reason, error.status, error.oauthError]).toEqual(["Rejected", 401, "invalid_client"])
      expect(error.detail).toBe("client secret <redacted> is wrong")
      expect(error.message).toContain("https://auth.example.com/oauth/token?tenant=acme (client catalog sync)")
    }))

  it.effect("drops an OAuth error code outside RFC 6749's charset instead of quoting it", () =>
    Effect.gen(function*() {
      for (const code of ["bad\"quote", "back\\slash", "line\nbreak", "x".repeat(65), "ünïcode"]) {
        const error = yield* Effect.flip(
          fetchWith("basic", () => ({ status: 400, body: JSON.stringify({ error: code }) }))
        )
        expect(error.oauthError, JSON.stringify(code)).toBeUndefined()
      }
      const kept = yield* Effect.flip(fetchWith("basic", () => ({ status: 400, body: `{"error":"invalid_grant"}` })))
      expect(kept.oauthError).toBe("invalid_grant")
    }))

  it.effect("redacts secrets in the token URL from the source name", () =>
    Effect.gen(function*() {
      const source = TokenSource.clientCredentials({
        tokenUrl: `https://auth.example.com/token?client_secret=${encodeURIComponent(SECRET)}&tenant=t`,
        clientId: CLIENT_ID,
        clientSecret: Redacted.make(SECRET)
      })
      expect(source.name).toBe("https://auth.example.com/token?client_secret=<redacted>&tenant=t (client catalog sync)")
      const error = yield* Effect.flip(
        source.fetch.pipe(
          Effect.provideService(HttpClient.HttpClient, fakeTokenEndpoint(() => ({ status: 503, body: "" })))
        )
      )
      expect(leaks(error, [SECRET])).toEqual([])
    }))
})
