import type { ApiError } from "@bulwark/core-errors"
import { Classify, Redaction } from "@bulwark/core-errors"
import { HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect } from "effect"
import { inspect } from "node:util"

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig-0123456789"
const COOKIE = "session=cookie-secret-4242"
const CLIENT_SECRET = "client-secret-s3cr3t"
const API_KEY = "api-key-77777777"
const SECRETS = [TOKEN, "cookie-secret-4242", CLIENT_SECRET, API_KEY, "hunter2pass"]

const request = HttpClientRequest.post("https://user:hunter2pass@api.example.com/v1/items").pipe(
  HttpClientRequest.setUrlParams({ access_token: TOKEN, client_secret: CLIENT_SECRET, page: "2" }),
  HttpClientRequest.bearerToken(TOKEN),
  HttpClientRequest.setHeader("cookie", COOKIE),
  HttpClientRequest.setHeader("x-api-key", API_KEY)
)

const everyRendering = (error: ApiError.ApiError): Array<string> => [
  String(error),
  error.message,
  JSON.stringify(error),
  inspect(error, { depth: 10 }),
  Cause.pretty(Cause.fail(error)),
  Cause.pretty(Cause.fail(error), { renderErrorCause: true }),
  error.stack ?? ""
]

const expectNoSecrets = (error: ApiError.ApiError) => {
  for (const rendering of everyRendering(error)) {
    for (const secret of SECRETS) expect(rendering).not.toContain(secret)
  }
}

describe("no secret leaks", () => {
  it.effect("from response errors", () =>
    Effect.gen(function*() {
      for (const status of [400, 401, 403, 429, 500, 503]) {
        // A body that echoes the token back (some gateways do) must not leak it either.
        const response = HttpClientResponse.fromWeb(
          request,
          new Response(`<html>bad token ${TOKEN} at https://api.example.com/?access_token=${TOKEN}</html>`, {
            status,
            headers: { "set-cookie": COOKIE }
          })
        )
        const error = yield* Effect.flip(Classify.response(response))
        expectNoSecrets(error)
        expect(error.url).toBe(
          "https://<redacted>:<redacted>@api.example.com/v1/items?access_token=<redacted>&client_secret=<redacted>&page=2"
        )
      }
    }))

  it.effect("from transport errors whose causes quote the request", () =>
    Effect.gen(function*() {
      const platformError = new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: Object.assign(
          new Error(
            `connect ECONNREFUSED for https://api.example.com/v1/items?access_token=${TOKEN} with Bearer ${TOKEN}`,
            { cause: new Error(`inner ${API_KEY}`) }
          ),
          { code: "ECONNREFUSED" }
        )
      })
      const error = yield* Classify.httpClientError(platformError)
      expect(error._tag).toBe("NetworkError")
      expectNoSecrets(error)
      // The platform error itself would have leaked the token through its URL:
      expect(platformError.message).toContain("hunter2pass")
    }))

  it.effect("from body decoding failures", () =>
    Effect.gen(function*() {
      const response = HttpClientResponse.fromWeb(request, new Response(`{"token": "${TOKEN}"`, { status: 200 }))
      const error = yield* Effect.flip(
        response.json.pipe(Effect.catchAll((e) => Effect.flip(Classify.httpClientError(e))))
      )
      expect(error._tag).toBe("InvalidResponse")
      expectNoSecrets(error)
    }))

  it("helpers redact headers, URLs and text", () => {
    expect(Redaction.headers({ Authorization: `Bearer ${TOKEN}`, Accept: "application/json" })).toEqual({
      authorization: "<redacted>",
      accept: "application/json"
    })
    const custom = Redaction.make({ headers: ["X-Partner-Signature"], queryParams: ["Session"] })
    expect(Redaction.headers({ "x-partner-signature": "s" }, custom)).toEqual({ "x-partner-signature": "<redacted>" })
    expect(Redaction.url("https://a.example/p?session=1&ok=2#frag", custom)).toBe(
      "https://a.example/p?session=<redacted>&ok=2#frag"
    )
    expect(Redaction.url(`/relative?token=${TOKEN}&x=1`)).toBe("/relative?token=<redacted>&x=1")
    expect(Redaction.url(`https://a.example/cb#access_token=${TOKEN}`)).toBe("https://a.example/cb#<redacted>")
    expect(Redaction.text(`Authorization: Bearer ${TOKEN}`)).toBe("Authorization: Bearer <redacted>")
    expect(Redaction.text(`key is ${API_KEY}`, { secrets: [API_KEY] })).toBe("key is <redacted>")
  })
})
