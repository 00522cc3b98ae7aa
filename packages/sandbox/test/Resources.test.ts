import { Item, Sandbox } from "@bulwark/sandbox"
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, Stream, TestClock } from "effect"
import { demo, ErrorBody, exchange, item, json, readOnly, stats, token, transports, withToken } from "./utils.js"

const errorBody = (text: string) => Schema.decodeUnknownSync(ErrorBody)(json(text))

const create = (accessToken: string, body: unknown, headers: Record<string, string> = {}) =>
  exchange(
    HttpClientRequest.post("/v1/items").pipe(
      withToken(accessToken),
      HttpClientRequest.setHeaders(headers),
      HttpClientRequest.bodyUnsafeJson(body)
    )
  )

describe.each(transports)("over $name", ({ sandboxLayer }) => {
  describe("bearer tokens", () => {
    it.effect("a missing token is 401 with a Bearer challenge and the error body", () =>
      Effect.gen(function*() {
        const { headers, status, text } = yield* exchange(HttpClientRequest.get("/v1/items"))
        expect(status).toBe(401)
        expect(headers["www-authenticate"]).toBe(`Bearer realm="bulwark-sandbox"`)
        expect(errorBody(text)).toMatchObject({ code: 16, details: [] })
        expect(headers["x-request-id"]).toMatch(/^req_/)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("an unknown, malformed, expired or revoked token is 401 invalid_token", () =>
      Effect.gen(function*() {
        const unknown = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken("sbx_nope")))
        expect(unknown.status).toBe(401)
        expect(unknown.headers["www-authenticate"]).toContain(`error="invalid_token"`)
        expect(errorBody(unknown.text).message).toContain("unknown")

        const malformed = yield* exchange(
          HttpClientRequest.get("/v1/items").pipe(HttpClientRequest.setHeader("authorization", "Bearer a b"))
        )
        expect(malformed.status).toBe(401)

        const accessToken = yield* token()
        const ok = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        expect(ok.status).toBe(200)
        yield* TestClock.adjust("59 seconds")
        expect((yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))).status).toBe(200)
        yield* TestClock.adjust("1 second")
        const expired = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        expect(expired.status).toBe(401)
        expect(expired.headers["www-authenticate"]).toContain(`error="invalid_token"`)
        expect(errorBody(expired.text).message).toContain("expired")

        const fresh = yield* token()
        const sandbox = yield* Sandbox.Sandbox
        expect(yield* sandbox.revokeTokens()).toBe(1)
        const revoked = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(fresh)))
        expect(revoked.status).toBe(401)
        expect(errorBody(revoked.text).message).toContain("revoked")
      }).pipe(Effect.provide(sandboxLayer({ tokens: { lifetimeSeconds: 60 } }))))

    it.effect("revokes tokens over HTTP too", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const other = yield* token(readOnly)
        const revoked = yield* exchange(HttpClientRequest.post(`/__sandbox/revoke-tokens?client_id=${demo.clientId}`))
        expect(json(revoked.text)).toEqual({ revoked: 1 })
        expect((yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))).status).toBe(401)
        expect((yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(other)))).status).toBe(200)
      }).pipe(Effect.provide(sandboxLayer())))
  })

  describe("roles", () => {
    it.effect("a client without items:write gets 403 naming the missing role", () =>
      Effect.gen(function*() {
        const accessToken = yield* token(readOnly)
        expect((yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))).status).toBe(200)
        const { headers, status, text } = yield* create(accessToken, item(1))
        expect(status).toBe(403)
        const body = errorBody(text)
        expect(body.code).toBe(7)
        expect(body.message).toContain("lacks the role items:write")
        expect(body.message).toContain("grant the role")
        expect(body.details).toEqual([{ missingRole: "items:write" }])
        expect(headers["www-authenticate"]).toContain(`error="insufficient_scope"`)
        expect((yield* stats).itemsStored).toBe(0)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("a token requested without a scope says to request it", () =>
      Effect.gen(function*() {
        const accessToken = yield* token(demo, "items:read")
        const { status, text } = yield* create(accessToken, item(1))
        expect(status).toBe(403)
        expect(errorBody(text).message).toContain("request a token with scope items:write")
      }).pipe(Effect.provide(sandboxLayer())))
  })

  describe("items", () => {
    it.effect("creates, reads, updates, lists and deletes", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const created = yield* create(accessToken, { sku: "A-1", name: "Anvil", price: 12.5 })
        expect(created.status).toBe(201)
        const stored = Schema.decodeUnknownSync(Item.Item)(json(created.text))
        expect(stored).toEqual({ id: stored.id, sku: "A-1", name: "Anvil", price: 12.5, tags: [] })
        expect(created.headers["location"]).toBe(`/v1/items/${stored.id}`)

        const read = yield* exchange(HttpClientRequest.get(`/v1/items/${stored.id}`).pipe(withToken(accessToken)))
        expect([read.status, json(read.text)]).toEqual([200, stored])

        const updated = yield* exchange(
          HttpClientRequest.put(`/v1/items/${stored.id}`).pipe(
            withToken(accessToken),
            HttpClientRequest.bodyUnsafeJson({ ...stored, price: 13, tags: ["tools"] })
          )
        )
        expect([updated.status, json(updated.text)]).toEqual([200, { ...stored, price: 13, tags: ["tools"] }])

        const list = yield* exchange(HttpClientRequest.get("/v1/items").pipe(withToken(accessToken)))
        expect(Schema.decodeUnknownSync(Item.ItemPage)(json(list.text)).items).toHaveLength(1)

        const deleted = yield* exchange(HttpClientRequest.del(`/v1/items/${stored.id}`).pipe(withToken(accessToken)))
        expect(deleted.status).toBe(204)
        const gone = yield* exchange(HttpClientRequest.get(`/v1/items/${stored.id}`).pipe(withToken(accessToken)))
        expect([gone.status, errorBody(gone.text).code]).toEqual([404, 5])
        const again = yield* exchange(HttpClientRequest.del(`/v1/items/${stored.id}`).pipe(withToken(accessToken)))
        expect(again.status).toBe(404)

        const counted = yield* stats
        expect(counted).toMatchObject({ itemsCreated: 1, itemsUpdated: 1, itemsDeleted: 1, itemsStored: 0 })
        expect(counted.requests["POST /v1/items"]).toEqual({ "201": 1 })
        expect(counted.requests["DELETE /v1/items/:id"]).toEqual({ "204": 1, "404": 1 })
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("answers 400 with details naming each bad field", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const bad = yield* create(accessToken, { sku: "", price: -1, tags: ["ok", 3], id: "mine" })
        expect(bad.status).toBe(400)
        const body = errorBody(bad.text)
        expect(body.code).toBe(3)
        expect(body.details).toEqual([
          { field: "id", issue: "is assigned by the server: leave it out" },
          { field: "sku", issue: "must be a string of 1 to 64 characters" },
          { field: "name", issue: "is required" },
          { field: "price", issue: "must be a number >= 0" },
          { field: "tags[1]", issue: "must be a string of 1 to 32 characters" }
        ])
        expect(body.message).toContain("price must be a number >= 0")

        const notObject = yield* create(accessToken, [1, 2])
        expect(errorBody(notObject.text).details).toEqual([{ field: "body", issue: "must be a JSON object" }])

        const created = yield* create(accessToken, item(1))
        const id = json(created.text).id as string
        const wrongId = yield* exchange(
          HttpClientRequest.put(`/v1/items/${id}`).pipe(
            withToken(accessToken),
            HttpClientRequest.bodyUnsafeJson({ ...item(1), id: "itm_99999999" })
          )
        )
        expect(wrongId.status).toBe(400)
        expect(errorBody(wrongId.text).details).toEqual([{
          field: "id",
          issue: `must equal the id in the path (${id})`
        }])
        expect((yield* stats).itemsStored).toBe(1)
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect(
      "lists a catalog of 5000 items in pages of 500, filters by sku and rejects bad paging",
      () =>
        Effect.gen(function*() {
          const sandbox = yield* Sandbox.Sandbox
          const accessToken = yield* token()
          yield* Effect.forEach(
            Array.from({ length: 5000 }, (_, i) => i),
            (i) => create(accessToken, item(i)),
            { concurrency: 16, discard: true }
          )
          expect((yield* sandbox.stats).itemsStored).toBe(5000)
          const seen = new Set<string>()
          let cursor: string | null = null
          let pages = 0
          do {
            const url: string = `/v1/items?limit=500${cursor === null ? "" : `&cursor=${cursor}`}`
            const page = yield* exchange(HttpClientRequest.get(url).pipe(withToken(accessToken)))
            const decoded = Schema.decodeUnknownSync(Item.ItemPage)(json(page.text))
            for (const entry of decoded.items) seen.add(entry.sku)
            cursor = decoded.nextCursor
            pages++
          } while (cursor !== null)
          expect([seen.size, pages]).toEqual([5000, 10])

          const bySku = yield* exchange(HttpClientRequest.get("/v1/items?sku=SKU-4242").pipe(withToken(accessToken)))
          expect(json(bySku.text).items.map((i: { sku: string }) => i.sku)).toEqual(["SKU-4242"])

          const bad = yield* exchange(
            HttpClientRequest.get("/v1/items?limit=501&cursor=zz!").pipe(withToken(accessToken))
          )
          expect(bad.status).toBe(400)
          expect(errorBody(bad.text).details).toEqual([
            { field: "limit", issue: "must be an integer between 1 and 500" },
            { field: "cursor", issue: "is not a cursor returned by this API" }
          ])
        }).pipe(Effect.provide(sandboxLayer())),
      30_000
    )
  })

  const a = { clientId: "a", clientSecret: "a-secret", roles: ["items:read", "items:write"] }
  const b = { clientId: "b", clientSecret: "b-secret", roles: ["items:read", "items:write"] }

  describe("Idempotency-Key", () => {
    it.effect("replays the first response to a repeat and creates nothing", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const first = yield* create(accessToken, item(1), { "idempotency-key": "k-1" })
        expect(first.status).toBe(201)
        // Same body with other key order and whitespace.
        const repeat = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(
            withToken(accessToken),
            HttpClientRequest.setHeader("idempotency-key", "k-1"),
            HttpClientRequest.bodyText(
              ` { "tags": ["demo"], "price": 1, "name": "Item 1", "sku": "SKU-1" } `,
              "application/json"
            )
          )
        )
        expect(repeat.status).toBe(201)
        expect(repeat.text).toBe(first.text)
        expect(repeat.headers["location"]).toBe(first.headers["location"])
        expect(repeat.headers["idempotent-replayed"]).toBe("true")
        expect(first.headers["idempotent-replayed"]).toBeUndefined()

        const counted = yield* stats
        expect(counted).toMatchObject({ itemsStored: 1, itemsCreated: 1, duplicateCreationsPrevented: 1 })
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("answers 422 to a key reused with a different body", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        expect((yield* create(accessToken, item(1), { "idempotency-key": "k-1" })).status).toBe(201)
        const conflict = yield* create(accessToken, item(2), { "idempotency-key": "k-1" })
        expect(conflict.status).toBe(422)
        expect(errorBody(conflict.text)).toMatchObject({
          code: 9,
          details: [{ field: "Idempotency-Key", issue: "was used with a different body" }]
        })
        expect(yield* stats).toMatchObject({ itemsStored: 1, idempotencyConflicts: 1 })
      }).pipe(Effect.provide(sandboxLayer())))

    it.effect("scopes keys per client, expires them, and rejects malformed keys", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const accessToken = yield* token(a)
        const other = yield* token(b)
        expect((yield* create(accessToken, item(1), { "idempotency-key": "k" })).status).toBe(201)
        // The same key from another client is another key.
        const fromOther = yield* create(other, item(1), { "idempotency-key": "k" })
        expect([fromOther.status, fromOther.headers["idempotent-replayed"]]).toEqual([201, undefined])
        yield* TestClock.adjust("10 seconds")
        const replayed = yield* create(accessToken, item(1), { "idempotency-key": "k" })
        expect(replayed.headers["idempotent-replayed"]).toBe("true")
        yield* TestClock.adjust("50 seconds")
        const expired = yield* create(accessToken, item(1), { "idempotency-key": "k" })
        expect(expired.headers["idempotent-replayed"]).toBeUndefined()
        expect((yield* sandbox.stats).itemsStored).toBe(3)

        const bad = yield* create(accessToken, item(1), { "idempotency-key": "x".repeat(256) })
        expect(bad.status).toBe(400)
        expect(errorBody(bad.text).details).toEqual([
          { field: "Idempotency-Key", issue: "must be 1 to 255 printable ASCII characters" }
        ])
      }).pipe(
        Effect.provide(sandboxLayer({
          idempotencyKeyTtlSeconds: 60,
          tokens: { lifetimeSeconds: 3600 },
          clients: [a, b]
        }))
      ))
  })

  describe("bad input", () => {
    it.effect("malformed JSON, a wrong content type and a body over the limit get the error body", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const malformed = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(
            withToken(accessToken),
            HttpClientRequest.bodyText(`{"sku": "A",`, "application/json")
          )
        )
        expect(malformed.status).toBe(400)
        expect(errorBody(malformed.text).details[0]).toMatchObject({ field: "body" })
        expect((errorBody(malformed.text).details[0] as { issue: string }).issue).toMatch(/^is not valid JSON/)

        const empty = yield* exchange(HttpClientRequest.post("/v1/items").pipe(withToken(accessToken)))
        expect(errorBody(empty.text).details).toEqual([{ field: "body", issue: "is required" }])

        const xml = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(
            withToken(accessToken),
            HttpClientRequest.bodyText("<item/>", "application/xml")
          )
        )
        expect([xml.status, errorBody(xml.text).code]).toEqual([415, 3])

        const huge = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(
            withToken(accessToken),
            HttpClientRequest.bodyText(
              JSON.stringify({ sku: "A", name: "x".repeat(2048), price: 1 }),
              "application/json"
            )
          )
        )
        expect(huge.status).toBe(413)
        expect(errorBody(huge.text).details).toEqual([{ field: "body", issue: "must be at most 1024 bytes" }])
        // The connection is still usable afterwards.
        expect((yield* create(accessToken, item(1))).status).toBe(201)
      }).pipe(Effect.provide(sandboxLayer({ maxBodyBytes: 1024 }))))

    it.effect("a chunked body over the limit is cut off with 413", () =>
      Effect.gen(function*() {
        const accessToken = yield* token()
        const chunk = new TextEncoder().encode("x".repeat(700))
        const { status, text } = yield* exchange(
          HttpClientRequest.post("/v1/items").pipe(
            withToken(accessToken),
            HttpClientRequest.bodyStream(Stream.make(chunk, chunk), { contentType: "application/json" })
          )
        )
        expect(status).toBe(413)
        expect(errorBody(text).code).toBe(3)
      }).pipe(Effect.provide(sandboxLayer({ maxBodyBytes: 1024 }))))

    it.effect("unknown routes get 404 and wrong methods 405 with Allow", () =>
      Effect.gen(function*() {
        const unknown = yield* exchange(HttpClientRequest.get("/v2/things"))
        expect([unknown.status, errorBody(unknown.text).code]).toEqual([404, 5])
        const trailing = yield* exchange(HttpClientRequest.get("/v1/items/"))
        expect(trailing.status).toBe(404)
        const patch = yield* exchange(HttpClientRequest.patch("/v1/items/itm_00000001"))
        expect(patch.status).toBe(405)
        expect(patch.headers["allow"]).toBe("GET, HEAD, PUT, DELETE")
        expect(errorBody(patch.text).code).toBe(12)
        const head = yield* exchange(HttpClientRequest.head("/v1/items"))
        expect([head.status, head.text]).toEqual([401, ""])
        const counted = yield* stats
        expect(counted.requests["(unmatched)"]).toEqual({ "404": 2 })
        expect(counted.requests["PATCH /v1/items/:id"]).toEqual({ "405": 1 })
      }).pipe(Effect.provide(sandboxLayer())))
  })
})
