import { ApiError, Classify } from "@bulwark/core-errors"
import { HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"

const request = HttpClientRequest.get("https://api.example.com/v1/items/42")

type BodyInit = ConstructorParameters<typeof Response>[0]

const respond = (status: number, body?: BodyInit | null, headers?: Record<string, string>) =>
  HttpClientResponse.fromWeb(request, new Response(body ?? null, { status, headers: headers ?? {} }))

const json = (value: unknown) => JSON.stringify(value)
const errorBody = json({ code: 3, message: "name is required", details: [{ field: "name" }] })

const classify = (status: number, body?: BodyInit | null, headers?: Record<string, string>) =>
  Effect.flip(Classify.response(respond(status, body, headers)))

describe("Classify.response", () => {
  it.effect("lets statuses below 400 pass", () =>
    Effect.gen(function*() {
      for (const status of [200, 201, 204, 304]) {
        const response = yield* Classify.response(respond(status, status === 204 || status === 304 ? null : "{}"))
        expect(response.status).toBe(status)
      }
    }))

  it.effect("maps every documented status to its error and decision", () =>
    Effect.gen(function*() {
      const table: Array<[number, ApiError.Tag, ApiError.RetryDecision]> = [
        [400, "BadRequest", "fail"],
        [401, "Unauthorized", "refresh-auth"],
        [403, "Forbidden", "fail"],
        [404, "NotFound", "fail"],
        [405, "ClientError", "fail"],
        [408, "ClientError", "retry"],
        [409, "Conflict", "fail"],
        [422, "ClientError", "fail"],
        [429, "RateLimited", "retry-after"],
        [500, "ServerError", "retry"],
        [501, "ServerError", "fail"],
        [502, "ServerError", "retry"],
        [503, "ServerError", "retry"],
        [504, "ServerError", "retry"],
        [505, "ServerError", "fail"]
      ]
      for (const [status, tag, decision] of table) {
        const error = yield* classify(status, errorBody, { "content-type": "application/json" })
        expect(error._tag, `${status}`).toBe(tag)
        expect(ApiError.retryDecision(error), `${status}`).toBe(decision)
        expect("status" in error && error.status).toBe(status)
        expect("body" in error && error.body).toEqual({
          code: 3,
          message: "name is required",
          details: [{ field: "name" }]
        })
        expect(error.url).toBe("https://api.example.com/v1/items/42")
        expect(error.method).toBe("GET")
      }
    }))

  it.effect("messages say what to do", () =>
    Effect.gen(function*() {
      const bad = yield* classify(400, errorBody)
      expect(bad.message).toContain("400 Bad Request")
      expect(bad.message).toContain("name is required")
      expect(bad.message).toContain("not retried")
      expect((yield* classify(401, errorBody)).message).toContain("fetches a new one and retries once")
      expect((yield* classify(403, errorBody)).message).toContain("Grant the service account the role")
      expect((yield* classify(429, "", { "retry-after": "7" })).message).toContain("waits the 7 s")
      expect((yield* classify(503, errorBody)).message).toContain("retried with backoff")
    }))

  it.effect("an insufficient_scope challenge on a 401 is not refreshed", () =>
    Effect.gen(function*() {
      const error = yield* classify(401, errorBody, {
        "www-authenticate": "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"items:write\""
      })
      expect(error._tag).toBe("Unauthorized")
      expect(ApiError.retryDecision(error)).toBe("fail")
      expect(error.message).toContain("lacks a required scope")
    }))

  it.effect("reads Retry-After as seconds and as an HTTP-date, on 429 and 503", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-25T10:00:00Z"))
      const seconds = yield* classify(429, errorBody, { "retry-after": "12" })
      expect(seconds._tag === "RateLimited" && seconds.retryAfter).toEqual(Duration.seconds(12))
      const date = yield* classify(503, errorBody, { "retry-after": "Wed, 25 Nov 2026 10:00:30 GMT" })
      expect(date._tag === "ServerError" && date.retryAfter).toEqual(Duration.seconds(30))
      expect(ApiError.retryDecision(date)).toBe("retry-after")
      const garbage = yield* classify(429, errorBody, { "retry-after": "soon" })
      expect(garbage._tag === "RateLimited" && garbage.retryAfter).toBe(undefined)
    }))

  it.effect("keeps a snippet of HTML gateway pages and names them by title", () =>
    Effect.gen(function*() {
      for (const status of [502, 504]) {
        const page = `<html><head><title>${status} Gateway Error</title></head><body>nginx</body></html>`
        const error = yield* classify(status, page, { "content-type": "text/html" })
        expect(error._tag).toBe("ServerError")
        expect("snippet" in error && error.snippet).toBe(page)
        expect("body" in error && error.body).toBe(undefined)
        expect(error.message).toContain(`an HTML page titled "${status} Gateway Error"`)
      }
    }))

  it.effect("survives empty bodies, truncated JSON and a wrong content-type", () =>
    Effect.gen(function*() {
      const empty = yield* classify(500, null)
      expect("snippet" in empty && empty.snippet).toBe(undefined)
      expect(empty.message).toContain("500 Internal Server Error")
      const truncated = yield* classify(400, "{\"code\": 3, \"message\": \"name is req")
      expect("snippet" in truncated && truncated.snippet).toBe("{\"code\": 3, \"message\": \"name is req")
      const mislabelled = yield* classify(400, errorBody, { "content-type": "text/html" })
      expect("body" in mislabelled && mislabelled.body?.code).toBe(3)
      const htmlAsJson = yield* classify(502, "<html>oops</html>", { "content-type": "application/json" })
      expect("snippet" in htmlAsJson && htmlAsJson.snippet).toBe("<html>oops</html>")
    }))

  it.effect("reads at most 64 KiB of a 10 MiB body and keeps a 4 KiB snippet", () =>
    Effect.gen(function*() {
      let pulled = 0
      const chunk = new Uint8Array(64 * 1024).fill(120)
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 10 * 1024 * 1024) return controller.close()
          pulled += chunk.byteLength
          controller.enqueue(chunk)
        }
      })
      const error = yield* classify(500, stream)
      expect("snippet" in error && error.snippet?.length).toBe(4096)
      expect(pulled).toBeLessThanOrEqual(256 * 1024)
    }))

  it.effect("copies the request id", () =>
    Effect.gen(function*() {
      for (const header of ["x-request-id", "request-id", "x-correlation-id"]) {
        const error = yield* classify(500, errorBody, { [header]: "req-123" })
        expect("requestId" in error && error.requestId).toBe("req-123")
        expect(error.message).toContain("req-123")
      }
    }))

  it.effect("a body that stalls does not stall classification", () =>
    Effect.gen(function*() {
      const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) })
      const fiber = yield* Effect.fork(classify(503, stalled))
      // Let the fiber reach its read (a real promise) before the clock moves.
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))))
      yield* TestClock.adjust("10 seconds")
      const error = yield* fiber.await.pipe(Effect.flatten)
      expect(error._tag).toBe("ServerError")
      expect(String((error.cause as Error).message)).toContain("did not arrive within 10s")
    }))
})

describe("Classify.httpClientError", () => {
  const transport = (cause: unknown, reason: "Transport" | "Encode" | "InvalidUrl" = "Transport") =>
    Classify.httpClientError(new HttpClientError.RequestError({ request, reason, cause }))
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code })

  it.effect("maps undici timeout codes to Timeout phases", () =>
    Effect.gen(function*() {
      for (
        const [code, phase] of [
          ["UND_ERR_CONNECT_TIMEOUT", "connect"],
          ["UND_ERR_HEADERS_TIMEOUT", "headers"],
          ["UND_ERR_BODY_TIMEOUT", "body"]
        ] as const
      ) {
        const error = yield* transport(new TypeError("fetch failed", { cause: coded(code) }))
        expect(error._tag).toBe("Timeout")
        expect(error._tag === "Timeout" && error.phase).toBe(phase)
        expect(ApiError.retryDecision(error)).toBe("retry")
      }
      const aborted = yield* transport(new DOMException("The operation was aborted due to timeout", "TimeoutError"))
      expect(aborted._tag === "Timeout" && aborted.phase).toBe("attempt")
    }))

  it.effect("maps transport failures to NetworkError, knowing when nothing was sent", () =>
    Effect.gen(function*() {
      const refused = yield* transport(coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"))
      expect(refused._tag === "NetworkError" && [refused.code, refused.sent]).toEqual(["ECONNREFUSED", false])
      expect(refused.message).toContain("Nothing was sent")
      const reset = yield* transport(coded("ECONNRESET", "read ECONNRESET"))
      expect(reset._tag === "NetworkError" && [reset.code, reset.sent]).toEqual(["ECONNRESET", true])
      expect(ApiError.retryDecision(reset)).toBe("retry")
      const invalid = yield* transport(new TypeError("Invalid URL"), "InvalidUrl")
      expect(invalid._tag === "NetworkError" && invalid.reason).toBe("InvalidUrl")
      expect(ApiError.retryDecision(invalid)).toBe("fail")
    }))

  it.effect("classifies a StatusCode ResponseError by its response", () =>
    Effect.gen(function*() {
      const response = respond(404, errorBody)
      const error = yield* Classify.httpClientError(
        new HttpClientError.ResponseError({ request, response, reason: "StatusCode" })
      )
      expect(error._tag).toBe("NotFound")
    }))

  it.effect("a 2xx body that does not decode is InvalidResponse", () =>
    Effect.gen(function*() {
      const response = respond(200, "<html>maintenance</html>", { "content-type": "application/json" })
      const error = yield* Effect.flip(
        response.json.pipe(Effect.catchAll((e) => Effect.flip(Classify.httpClientError(e))))
      )
      expect(error._tag).toBe("InvalidResponse")
      expect(ApiError.retryDecision(error)).toBe("fail")
    }))
})
