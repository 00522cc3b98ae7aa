import { ApiErrorBody } from "@bulwark/core-errors"
import { describe, expect, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import * as fc from "fast-check"

const encode = (text: string) => new TextEncoder().encode(text)

describe("ApiErrorBody", () => {
  it("decodes the documented body", () => {
    const decoded = ApiErrorBody.fromText(
      JSON.stringify({ code: 3, message: "bad name", details: [{ field: "name" }] })
    )
    expect(decoded.body).toEqual(Option.some({ code: 3, message: "bad name", details: [{ field: "name" }] }))
    expect(decoded.snippet).toEqual(Option.none())
  })

  it("is lenient: numeric-string code, absent details, extra fields kept", () => {
    const body = Schema.decodeUnknownSync(ApiErrorBody.ApiErrorBody)({ code: "7", message: "m", trace: "abc" })
    expect(body).toEqual({ code: 7, message: "m", details: [], trace: "abc" })
  })

  it("rejects bodies that are not error bodies, keeping a snippet", () => {
    for (
      const text of [
        "{\"code\":\"x\",\"message\":\"m\"}",
        "{\"message\":\"m\"}",
        "{\"code\":1}",
        "[1,2]",
        "{\"code\":1,\"mess"
      ]
    ) {
      const decoded = ApiErrorBody.fromText(text)
      expect(decoded.body, text).toEqual(Option.none())
      expect(decoded.snippet, text).toEqual(Option.some(text))
    }
  })

  it("reads a category with a pluggable reader, and survives a throwing one", () => {
    const json = JSON.stringify({ code: 8, message: "QUOTA_EXCEEDED: slow down" })
    const readCategory: ApiErrorBody.CategoryReader = (body) => /^([A-Z_]+):/.exec(body.message)?.[1]
    expect(Option.map(ApiErrorBody.fromText(json, { readCategory }).body, (b) => b.category)).toEqual(
      Option.some("QUOTA_EXCEEDED")
    )
    const throwing: ApiErrorBody.CategoryReader = () => {
      throw new Error("bug")
    }
    expect(Option.isSome(ApiErrorBody.fromText(json, { readCategory: throwing }).body)).toBe(true)
    expect(Option.map(ApiErrorBody.fromText(json).body, (b) => b.category)).toEqual(Option.some(undefined))
  })

  it("bounds the snippet of a large body on a character boundary", () => {
    const page = `<html><title>502 Bad Gateway</title>${"é".repeat(10_000)}</html>`
    const decoded = ApiErrorBody.fromBytes(encode(page))
    expect(decoded.truncated).toBe(true)
    const snippet = Option.getOrThrow(decoded.snippet)
    expect(new TextEncoder().encode(snippet).byteLength).toBeLessThanOrEqual(4096)
    expect(snippet.endsWith("é")).toBe(true)
    expect(snippet).not.toContain("\uFFFD")
  })

  it("an empty body decodes to nothing", () => {
    expect(ApiErrorBody.fromBytes(new Uint8Array(0))).toEqual({
      body: Option.none(),
      snippet: Option.none(),
      truncated: false
    })
  })

  it("never throws on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), fc.nat({ max: 5000 }), (bytes, snippetBytes) => {
        const decoded = ApiErrorBody.fromBytes(bytes, { snippetBytes })
        if (Option.isSome(decoded.snippet)) {
          expect(new TextEncoder().encode(decoded.snippet.value).byteLength).toBeLessThanOrEqual(
            // U+FFFD replacement characters are 3 bytes for each invalid input byte
            snippetBytes * 3
          )
        }
      }),
      { seed: 42, numRuns: 500 }
    )
  })

  it("never throws on arbitrary JSON values (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const decoded = ApiErrorBody.fromText(JSON.stringify(value) ?? "")
        if (Option.isSome(decoded.body)) expect(typeof decoded.body.value.code).toBe("number")
      }),
      { seed: 7, numRuns: 1000 }
    )
  })
})
