/**
 * The catalog to push: loaded from a JSON or CSV file, or generated. Every row is validated with a
 * Schema; a file with bad rows fails with a `CatalogError` that lists each row and field to fix.
 */
import { FileSystem } from "@effect/platform"
import { parse as parseCsv } from "csv-parse/sync"
import { Data, Effect, Either, ParseResult, Random, Schema } from "effect"

/** One item as the partner API accepts it. */
export const CatalogItem = Schema.Struct({
  sku: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  price: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  tags: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(32))), {
    default: () => []
  })
})
export type CatalogItem = typeof CatalogItem.Type

/** A CSV row: every cell is text; `price` is parsed, `tags` are separated by `;`. */
const CsvRow = Schema.Struct({
  sku: Schema.String,
  name: Schema.String,
  price: Schema.NumberFromString,
  tags: Schema.optionalWith(Schema.String, { default: () => "" })
})

export class CatalogError extends Data.TaggedError("CatalogError")<{
  readonly source: string
  readonly problems: ReadonlyArray<string>
}> {
  override get message(): string {
    const shown = this.problems.slice(0, 20).map((p) => `  - ${p}`).join("\n")
    const more = this.problems.length > 20 ? `\n  ... and ${this.problems.length - 20} more` : ""
    return `The catalog ${this.source} cannot be used:\n${shown}${more}`
  }
}

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.join(".") || "row"}: ${issue.message}`)
    .join("; ")

const decodeItem = Schema.decodeUnknownEither(CatalogItem, { errors: "all", onExcessProperty: "ignore" })
const decodeCsvRow = Schema.decodeUnknownEither(CsvRow, { errors: "all", onExcessProperty: "ignore" })

/** Validates rows, collecting every problem (with its row number) instead of stopping at the first. */
const validateRows = (
  source: string,
  rows: ReadonlyArray<unknown>,
  toItem: (row: unknown) => Either.Either<CatalogItem, string>,
  firstRowNumber: number
): Effect.Effect<ReadonlyArray<CatalogItem>, CatalogError> => {
  const items: Array<CatalogItem> = []
  const problems: Array<string> = []
  const seen = new Map<string, number>()
  rows.forEach((row, index) => {
    const rowNumber = index + firstRowNumber
    const result = toItem(row)
    if (Either.isLeft(result)) return void problems.push(`row ${rowNumber}: ${result.left}`)
    const previous = seen.get(result.right.sku)
    if (previous !== undefined) {
      return void problems.push(`row ${rowNumber}: sku "${result.right.sku}" already appears on row ${previous}`)
    }
    seen.set(result.right.sku, rowNumber)
    items.push(result.right)
  })
  if (rows.length === 0) problems.push("it has no items")
  return problems.length > 0 ? Effect.fail(new CatalogError({ source, problems })) : Effect.succeed(items)
}

/** Parses a JSON catalog: an array of items, or `{ "items": [...] }`. */
export const fromJson = (text: string, source = "(json)"): Effect.Effect<ReadonlyArray<CatalogItem>, CatalogError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Effect.fail(new CatalogError({ source, problems: [`it is not valid JSON (${(error as Error).message})`] }))
  }
  const rows = Array.isArray(json) ? json : (json as { items?: unknown })?.items
  if (!Array.isArray(rows)) {
    return Effect.fail(new CatalogError({ source, problems: ["expected an array of items or { \"items\": [...] }"] }))
  }
  return validateRows(source, rows, (row) => Either.mapLeft(decodeItem(row), describeIssues), 1)
}

/** Parses a CSV catalog with a header row `sku,name,price[,tags]` (RFC 4180 quoting; tags separated by `;`). */
export const fromCsv = (text: string, source = "(csv)"): Effect.Effect<ReadonlyArray<CatalogItem>, CatalogError> => {
  let rows: Array<Record<string, string>>
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: false })
  } catch (error) {
    return Effect.fail(new CatalogError({ source, problems: [`it is not valid CSV: ${(error as Error).message}`] }))
  }
  const header = rows[0] === undefined ? [] : Object.keys(rows[0])
  const missing = ["sku", "name", "price"].filter((column) => rows.length > 0 && !header.includes(column))
  if (missing.length > 0) {
    return Effect.fail(new CatalogError({ source, problems: [`the header lacks the column(s) ${missing.join(", ")}`] }))
  }
  return validateRows(
    source,
    rows,
    (row) =>
      Either.flatMap(Either.mapLeft(decodeCsvRow(row), describeIssues), (cells) =>
        Either.mapLeft(
          decodeItem({
            sku: cells.sku,
            name: cells.name,
            price: cells.price,
            tags: cells.tags.split(";").map((tag) => tag.trim()).filter((tag) => tag !== "")
          }),
          describeIssues
        )),
    // Row 1 is the header.
    2
  )
}

/** Loads a catalog file by its extension (`.json` or `.csv`). */
export const fromFile = (
  path: string
): Effect.Effect<ReadonlyArray<CatalogItem>, CatalogError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((error) =>
        new CatalogError({
          source: path,
          problems: [
            error._tag === "SystemError" && error.reason === "NotFound" ? "the file does not exist" : error.message
          ]
        })
      )
    )
    if (path.toLowerCase().endsWith(".csv")) return yield* fromCsv(text, path)
    if (path.toLowerCase().endsWith(".json")) return yield* fromJson(text, path)
    return yield* new CatalogError({ source: path, problems: ["use a .json or .csv file"] })
  })

const ADJECTIVES = ["Red", "Oak", "Steel", "Linen", "Brass", "Glass", "Wool", "Cedar", "Slate", "Amber"]
const NOUNS = ["Lamp", "Chair", "Table", "Shelf", "Rug", "Vase", "Desk", "Stool", "Mirror", "Clock"]
const TAGS = ["home", "office", "outdoor", "sale", "new", "eco"]

/** A generated catalog of `count` items, reproducible from the `Random` seed. */
export const generate = (count: number): Effect.Effect<ReadonlyArray<CatalogItem>> =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
    Effect.gen(function*() {
      const adjective = ADJECTIVES[yield* Random.nextIntBetween(0, ADJECTIVES.length)]!
      const noun = NOUNS[yield* Random.nextIntBetween(0, NOUNS.length)]!
      const cents = yield* Random.nextIntBetween(100, 100_000)
      const tag = TAGS[yield* Random.nextIntBetween(0, TAGS.length)]!
      return {
        sku: `CS-${String(i + 1).padStart(6, "0")}`,
        name: `${adjective} ${noun} ${i + 1}`,
        price: cents / 100,
        tags: [tag]
      }
    }))
