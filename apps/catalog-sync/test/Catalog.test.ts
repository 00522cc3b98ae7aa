import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Random } from "effect"
import * as fc from "fast-check"
import * as Catalog from "../src/Catalog.js"

const quote = (
  cell: string
) => (/[",\n\r]/.test(cell) || cell !== cell.trim() ? `"${cell.replace(/"/g, "\"\"")}"` : cell)

const toCsv = (items: ReadonlyArray<Catalog.CatalogItem>, newline = "\n") =>
  ["sku,name,price,tags", ...items.map((i) => [i.sku, i.name, String(i.price), i.tags.join(";")].map(quote).join(","))]
    .join(newline)

describe("Catalog", () => {
  it.effect("reads JSON arrays and { items } objects", () =>
    Effect.gen(function*() {
      const items = [{ sku: "A", name: "Lamp", price: 12.5, tags: ["home"] }, { sku: "B", name: "Rug", price: 0 }]
      expect(yield* Catalog.fromJson(JSON.stringify(items))).toEqual([items[0], { ...items[1], tags: [] }])
      expect(yield* Catalog.fromJson(JSON.stringify({ items }))).toHaveLength(2)
    }))

  it.effect("reports every bad row with its number and field", () =>
    Effect.gen(function*() {
      const csv = "sku,name,price,tags\nA,Lamp,12.5,home\n,Nameless,3,\nC,Chair,-1,\nD,Desk,abc,\nA,Again,1,"
      const error = yield* Effect.flip(Catalog.fromCsv(csv, "catalog.csv"))
      expect(error.problems).toEqual([
        expect.stringMatching(/^row 3: sku/),
        expect.stringMatching(/^row 4: price/),
        expect.stringMatching(/^row 5: price/),
        "row 6: sku \"A\" already appears on row 2"
      ])
      expect(error.message).toContain("The catalog catalog.csv cannot be used")
    }))

  it.effect("rejects unusable files with a clear reason", () =>
    Effect.gen(function*() {
      expect((yield* Effect.flip(Catalog.fromJson("{nope"))).problems[0]).toMatch(/not valid JSON/)
      expect((yield* Effect.flip(Catalog.fromJson("{}"))).problems[0]).toMatch(/expected an array/)
      expect((yield* Effect.flip(Catalog.fromJson("[]"))).problems[0]).toBe("it has no items")
      expect((yield* Effect.flip(Catalog.fromCsv("sku,title\nA,x"))).problems[0]).toMatch(
        /lacks the column\(s\) name, price/
      )
      expect((yield* Effect.flip(Catalog.fromCsv("sku,name,price\n\"A,x,1"))).problems[0]).toMatch(/not valid CSV/)
    }))

  it.effect("generates a reproducible catalog from the seed", () =>
    Effect.gen(function*() {
      const a = yield* Catalog.generate(20).pipe(Effect.withRandom(Random.make(7)))
      const b = yield* Catalog.generate(20).pipe(Effect.withRandom(Random.make(7)))
      expect(a).toEqual(b)
      expect(new Set(a.map((i) => i.sku)).size).toBe(20)
    }))

  it("CSV round-trips any valid catalog, quoting included (property)", () => {
    const text = (max: number) =>
      fc.string({ minLength: 1, maxLength: max }).filter((s) => s.trim() === s && s.length > 0 && !s.includes("\u0000"))
    const item = fc.record({
      sku: text(20),
      name: text(40),
      price: fc.integer({ min: 0, max: 10_000_000 }).map((cents) => cents / 100),
      tags: fc.array(text(10).filter((t) => !t.includes(";")), { maxLength: 3 })
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(item, { selector: (i) => i.sku, minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (items, crlf) => {
          const parsed = Effect.runSync(Effect.either(Catalog.fromCsv(toCsv(items, crlf ? "\r\n" : "\n"))))
          expect(Either.getOrThrow(parsed)).toEqual(items)
        }
      ),
      { seed: 4180, numRuns: 300 }
    )
  })

  it("the JSON reader never throws on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (input) => {
        Effect.runSync(Effect.either(Catalog.fromJson(input)))
        Effect.runSync(Effect.either(Catalog.fromCsv(input)))
      }),
      { seed: 11, numRuns: 500 }
    )
  })
})
