import type { ApiError } from "@bulwark/core-errors"
import { Classify, Redaction } from "@bulwark/core-errors"
import { HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect } from "effect"
import * as fc from "fast-check"
import { inspect } from "node:util"

// Canaries with characters that change under URL and base64 encoding.
const TOKEN = "CANARY-t0ken+/=:eyJ9-4242"
const CLIENT_SECRET = "CANARY s3cr3t&=/?+ü"
const API_KEY = "CANARY-api-key-0193"
const SECRETS = [TOKEN, CLIENT_SECRET, API_KEY]

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64")
const formEncode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+")

/** Every form a canary may travel in: what a leak check must look for. */
const formsOf = (secret: string): Array<string> => [
  secret,
  encodeURIComponent(secret),
  formEncode(secret),
  base64(secret),
  base64(secret).replace(/=+$/, ""),
  Buffer.from(secret).toString("base64url")
]

const request = HttpClientRequest.post("https://api.example.com/v1/items").pipe(
  HttpClientRequest.bearerToken(TOKEN),
  HttpClientRequest.setHeader("x-api-key", API_KEY),
  HttpClientRequest.setUrlParams({ client_secret: CLIENT_SECRET, page: "2" })
)

const renderings = (error: ApiError.ApiError): Array<string> => [
  String(error),
  error.message,
  JSON.stringify(error),
  inspect(error, { depth: 10 }),
  Cause.pretty(Cause.fail(error)),
  error.stack ?? ""
]

const leaksIn = (error: ApiError.ApiError): Array<string> => {
  const found: Array<string> = []
  for (const rendering of renderings(error)) {
    for (const secret of SECRETS) {
      for (const form of formsOf(secret)) if (rendering.includes(form)) found.push(form)
    }
  }
  return found
}

const classify = (body: string, status: number, headers: Record<string, string> = {}) =>
  Effect.flip(
    Classify.response(HttpClientResponse.fromWeb(request, new Response(body, { status, headers })))
  )

describe("secrets echoed by the server", () => {
  it.effect("are redacted from the decoded error body's message and details", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({
        code: 401,
        message: `token Bearer ${TOKEN} rejected; you sent client_secret=${formEncode(CLIENT_SECRET)}`,
        details: [{ received: { authorization: `Bearer ${TOKEN}`, key: API_KEY } }, base64(`id:${CLIENT_SECRET}`)]
      })
      const error = yield* classify(body, 400, { "content-type": "application/json" })
      expect(error._tag).toBe("BadRequest")
      expect(leaksIn(error)).toEqual([])
      // The body stays a body: code and structure survive.
      expect(error._tag === "BadRequest" && error.body?.code).toBe(401)
      expect(error.message).toContain("client_secret=<redacted>")
    }))

  it.effect("are redacted from a WWW-Authenticate challenge, which stays parseable", () =>
    Effect.gen(function*() {
      const error = yield* classify("", 401, {
        "www-authenticate":
          `Bearer realm="api", error="insufficient_scope", scope="items:write", token="${TOKEN}", error_description="got ${TOKEN}"`
      })
      expect(error._tag).toBe("Unauthorized")
      expect(leaksIn(error)).toEqual([])
      const challenge = error._tag === "Unauthorized" ? error.challenge ?? "" : ""
      expect(challenge).toContain(`realm="api"`)
      expect(challenge).toContain(`error="insufficient_scope"`)
      expect(challenge).toContain(`token="<redacted>"`)
      // The challenge still means what it said: a missing scope is not retried with a new token.
      expect(error.message).toContain("lacks a required scope")
    }))

  it.effect("are redacted in URL-encoded and base64 forms from HTML snippets and request ids", () =>
    Effect.gen(function*() {
      const html = `<html><title>Error</title>${encodeURIComponent(TOKEN)} ${base64(CLIENT_SECRET)} ${
        base64(`client:${formEncode(CLIENT_SECRET)}`)
      }</html>`
      const error = yield* classify(html, 502, { "x-request-id": `req-${API_KEY}` })
      expect(leaksIn(error)).toEqual([])
    }))

  it("redacts each secret in every form it travels in", () => {
    for (const secret of SECRETS) {
      for (const form of formsOf(secret)) {
        expect(Redaction.text(`a ${form} b`, { secrets: [secret] })).toBe("a <redacted> b")
      }
      // At each alignment inside a longer base64 run (a Basic header carries `id:secret`).
      for (const prefix of ["", "a", "ab", "abc:"]) {
        const encoded = base64(`${prefix}${secret}-suffix`)
        const out = Redaction.text(encoded, { secrets: [secret] })
        expect(out).toContain("<redacted>")
        expect(out.length).toBeLessThan(encoded.length)
      }
    }
    expect(Redaction.text(`"access_token": "abc123def"`)).toBe(`"access_token": "<redacted>"`)
    expect(Redaction.text("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln here")).toBe("jwt <redacted> here")
    // Auth-param lists are not credentials: the scheme's parameters survive.
    expect(Redaction.text(`Bearer realm="api"`)).toBe(`Bearer realm="api"`)
  })
})

describe("redirects", () => {
  it.effect("a 3xx is an InvalidResponse that says it was a redirect and where to", () =>
    Effect.gen(function*() {
      const error = yield* classify("", 302, { location: `https://elsewhere.example/login?token=${TOKEN}` })
      expect(error._tag).toBe("InvalidResponse")
      expect(error._tag === "InvalidResponse" && error.location).toBe(
        "https://elsewhere.example/login?token=<redacted>"
      )
      expect(error.message).toContain("was redirected (302 Found) to https://elsewhere.example/login")
      expect(error.message).not.toContain("contract may have changed")
      expect(leaksIn(error)).toEqual([])
    }))

  it.effect("a relative Location is resolved against the request; 304 passes; redirects: response passes", () =>
    Effect.gen(function*() {
      const error = yield* classify("", 307, { location: "/v2/items" })
      expect(error._tag === "InvalidResponse" && error.location).toBe("https://api.example.com/v2/items")
      const notModified = yield* Classify.response(
        HttpClientResponse.fromWeb(request, new Response(null, { status: 304 }))
      )
      expect(notModified.status).toBe(304)
      const passed = yield* Classify.response(
        HttpClientResponse.fromWeb(request, new Response("", { status: 302, headers: { location: "/x" } })),
        { redirects: "response" }
      )
      expect(passed.status).toBe(302)
    }))
})

describe("429 messages", () => {
  it.effect("advise token reuse only when the API itself answered, and always carry retryAt with Retry-After", () =>
    Effect.gen(function*() {
      const bare = yield* classify("", 429, { "retry-after": "3" })
      expect(bare.message).not.toContain("access tokens")
      expect(bare._tag === "RateLimited" && bare.retryAt).toBe(3000)
      const fromApi = yield* classify(JSON.stringify({ code: 429, message: "quota" }), 429)
      expect(fromApi.message).toContain("reuses access tokens")
      expect(fromApi._tag === "RateLimited" && fromApi.retryAt).toBeUndefined()
    }))
})

// A fuzzer in the spirit of the outside tests: arbitrary bodies and headers, with the canaries planted in
// arbitrary places and forms, through classification. FUZZ_RUNS raises the count (`npm run fuzz`).
const runs = Number(process.env.FUZZ_RUNS ?? 500)

const plantedSecret = fc.constantFrom(...SECRETS).chain((secret) =>
  fc.constantFrom(...formsOf(secret), `Bearer ${secret}`, `client_secret=${formEncode(secret)}`)
)
const textWithSecret = fc.tuple(fc.string({ maxLength: 40 }), plantedSecret, fc.string({ maxLength: 40 })).map((
  [a, s, b]
) => `${a}${s}${b}`)
const jsonBody = fc.record({
  code: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
  message: fc.oneof(fc.string(), textWithSecret),
  details: fc.array(
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), textWithSecret, fc.dictionary(fc.string(), textWithSecret)),
    {
      maxLength: 4
    }
  )
}).map((body) => JSON.stringify(body))
const anyBody = fc.oneof(jsonBody, textWithSecret, fc.string(), fc.constant(""))
const anyHeaders = fc.record({
  "www-authenticate": fc.oneof(
    textWithSecret,
    plantedSecret.map((s) => `Bearer realm="x", error="invalid_token", token="${s}"`),
    fc.string()
  ),
  "retry-after": fc.oneof(fc.string({ maxLength: 30 }), fc.integer({ min: -5, max: 100000 }).map(String)),
  "x-request-id": fc.oneof(fc.string({ maxLength: 30 }), textWithSecret),
  location: fc.oneof(fc.webUrl(), textWithSecret)
}, { requiredKeys: [] })

describe("canary fuzz", () => {
  it.effect(`no canary survives classification in any form (${runs} seeded runs)`, () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(anyBody, anyHeaders, fc.integer({ min: 300, max: 599 }), async (body, headers, status) => {
          const safeHeaders: Record<string, string> = {}
          for (const [name, value] of Object.entries(headers)) {
            // Headers cannot carry control characters or non-Latin-1: a server could not send them either.
            if (/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) safeHeaders[name] = value
          }
          const response = HttpClientResponse.fromWeb(
            request,
            new Response(status === 304 ? null : body, { status, headers: safeHeaders })
          )
          const exit = await Effect.runPromiseExit(Classify.response(response))
          if (exit._tag === "Success") return status < 400
          const error = Cause.squash(exit.cause) as ApiError.ApiError
          const leaks = leaksIn(error)
          if (leaks.length > 0) throw new Error(`leaked ${leaks.length} form(s) in ${error._tag}`)
          return true
        }),
        { seed: 20261130, numRuns: runs }
      )
    ), runs * 25 + 30_000)
})
