import { Sandbox } from "@bulwark/sandbox"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Runtime } from "effect"
import * as fc from "fast-check"
import { exchange, json, sandboxLayer, stats, token, withToken } from "./utils.js"

/** Runs a fast-check async property whose body is an Effect, in the test's runtime. */
const property = <T, E, R>(
  arbitrary: fc.Arbitrary<T>,
  body: (value: T) => Effect.Effect<void, E, R>,
  parameters: fc.Parameters<[T]>
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    yield* Effect.promise(() =>
      fc.assert(fc.asyncProperty(arbitrary, (value) => Runtime.runPromise(runtime)(body(value))), parameters)
    )
  })

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for client ids and secrets in HTTP Basic. */
const formEncode = (s: string) => new URLSearchParams({ s }).toString().slice(2)

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
const credential = fc.string({ unit: "grapheme", minLength: 1, maxLength: 24 })

describe("parsers, by property over loopback HTTP", () => {
  it.effect("any client id and secret authenticate by RFC 6749 Basic and by form body", () =>
    property(
      fc.tuple(credential, credential),
      ([clientId, clientSecret]) =>
        Effect.gen(function*() {
          const sandbox = yield* Sandbox.make({ clients: [{ clientId, clientSecret, roles: ["items:read"] }] })
          const http = yield* HttpClient.HttpClient
          const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, "utf8").toString("base64")
          const viaBasic = yield* http.execute(
            HttpClientRequest.post(sandbox.tokenUrl).pipe(
              HttpClientRequest.setHeader("authorization", `Basic ${basic}`),
              HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
            )
          )
          expect(viaBasic.status).toBe(200)
          const viaForm = yield* http.execute(
            HttpClientRequest.post(sandbox.tokenUrl).pipe(
              HttpClientRequest.bodyUrlParams({
                grant_type: "client_credentials",
                client_id: clientId,
                client_secret: clientSecret
              })
            )
          )
          expect(viaForm.status).toBe(200)
          const wrong = yield* http.execute(
            HttpClientRequest.post(sandbox.tokenUrl).pipe(
              HttpClientRequest.bodyUrlParams({
                grant_type: "client_credentials",
                client_id: clientId,
                client_secret: `${clientSecret}x`
              })
            )
          )
          expect(wrong.status).toBe(401)
          // The secret never comes back in an error.
          expect(yield* wrong.text).not.toContain(clientSecret.length > 3 ? clientSecret : "\u0000")
        }).pipe(Effect.scoped),
      { seed: 20261125, numRuns: 40 }
    ).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.effect("any Authorization header and body get a 200 or a 4xx OAuth error, never a 5xx", () =>
    property(
      fc.tuple(fc.option(printable, { nil: undefined }), fc.string({ maxLength: 200 })),
      ([authorization, body]) =>
        Effect.gen(function*() {
          const request = HttpClientRequest.post("/oauth/token").pipe(
            HttpClientRequest.bodyText(body, "application/x-www-form-urlencoded"),
            authorization === undefined ? (r) => r : HttpClientRequest.setHeader("authorization", authorization)
          )
          const { status, text } = yield* exchange(request)
          if (status === 200) return
          expect(status === 400 || status === 401).toBe(true)
          const error = json(text)
          expect(typeof error.error).toBe("string")
          expect(typeof error.error_description).toBe("string")
        }),
      { seed: 7, numRuns: 150 }
    ).pipe(Effect.provide(sandboxLayer())))

  it.effect("any JSON body to POST /v1/items is created or rejected with field details", () =>
    Effect.gen(function*() {
      const accessToken = yield* token()
      let created = 0
      const itemLike = fc.record({
        sku: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
        name: fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null)),
        price: fc.oneof(fc.double(), fc.integer(), fc.string()),
        tags: fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.integer()), { maxLength: 25 }), fc.string())
      }, { requiredKeys: [] })
      yield* property(
        fc.oneof(itemLike, fc.jsonValue()),
        (body) =>
          Effect.gen(function*() {
            const { status, text } = yield* exchange(
              HttpClientRequest.post("/v1/items").pipe(
                withToken(accessToken),
                HttpClientRequest.bodyText(JSON.stringify(body) ?? "null", "application/json")
              )
            )
            if (status === 201) {
              created++
              return
            }
            expect(status).toBe(400)
            const error = json(text)
            expect(error.code).toBe(3)
            expect(error.details.length).toBeGreaterThan(0)
            for (const detail of error.details) {
              expect(typeof detail.field).toBe("string")
              expect(typeof detail.issue).toBe("string")
            }
          }),
        { seed: 11, numRuns: 200 }
      )
      expect((yield* stats).itemsStored).toBe(created)
      expect(created).toBeGreaterThan(0)
    }).pipe(Effect.provide(sandboxLayer())))

  it.effect("any other Authorization header on a resource gets 401 with the error body, never a 5xx", () =>
    property(
      printable,
      (authorization) =>
        Effect.gen(function*() {
          const { headers, status, text } = yield* exchange(
            HttpClientRequest.get("/v1/items").pipe(HttpClientRequest.setHeader("authorization", authorization))
          )
          expect(status).toBe(401)
          expect(json(text).code).toBe(16)
          expect(headers["www-authenticate"]).toMatch(/^Bearer realm="bulwark-sandbox"/)
        }),
      { seed: 3, numRuns: 150, examples: [["Bearer"], ["Bearer  "], ["bearer sbx_0"], ["Basic a"]] }
    ).pipe(Effect.provide(sandboxLayer())))
})
