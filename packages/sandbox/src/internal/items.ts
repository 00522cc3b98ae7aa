import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const overriding = (message: string) => ({ message: () => ({ message, override: true }) })

const Sku = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations(
  overriding("must be a string of 1 to 64 characters")
)
const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations(
  overriding("must be a string of 1 to 200 characters")
)
const Price = Schema.Number.pipe(Schema.finite(), Schema.greaterThanOrEqualTo(0)).annotations(
  overriding("must be a number >= 0")
)
const Tag = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(32)).annotations(
  overriding("must be a string of 1 to 32 characters")
)
const Tags = Schema.Array(Tag).annotations({ message: () => "must be an array of strings" }).pipe(
  Schema.maxItems(20, { message: () => "must have at most 20 tags" })
)

/** @internal */
export const ItemInputSchema = Schema.Struct({
  sku: Sku,
  name: Name,
  price: Price,
  tags: Schema.optionalWith(Tags, { exact: true })
}).annotations({ identifier: "ItemInput" })

/** @internal */
export type ItemInput = Schema.Schema.Type<typeof ItemInputSchema>

/** @internal */
export const ItemSchema = Schema.Struct({
  id: Schema.String,
  sku: Schema.String,
  name: Schema.String,
  price: Schema.Number,
  tags: Schema.Array(Schema.String)
}).annotations({ identifier: "Item" })

/** @internal */
export type Item = Schema.Schema.Type<typeof ItemSchema>

/** @internal */
export const ItemPageSchema = Schema.Struct({
  items: Schema.Array(ItemSchema),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "ItemPage" })

/** @internal */
export interface FieldIssue {
  readonly field: string
  readonly issue: string
}

/** @internal */
export const fieldPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

const decodeInput = Schema.decodeUnknownEither(ItemInputSchema, { errors: "all" })

/**
 * Validates an item body; `id` is never accepted from the client except, on PUT, equal to the path's id.
 *
 * @internal
 */
export const validate = (
  body: unknown,
  pathId: string | undefined
): Either.Either<ItemInput, ReadonlyArray<FieldIssue>> => {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return Either.left([{ field: "body", issue: "must be a JSON object" }])
  }
  const issues: Array<FieldIssue> = []
  if ("id" in body) {
    const id = (body as { readonly id: unknown }).id
    if (pathId === undefined) issues.push({ field: "id", issue: "is assigned by the server: leave it out" })
    else if (id !== pathId) issues.push({ field: "id", issue: `must equal the id in the path (${pathId})` })
  }
  const decoded = decodeInput(body)
  if (Either.isLeft(decoded)) {
    for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
      issues.push({
        field: fieldPath(issue.path) || "body",
        issue: issue._tag === "Missing" ? "is required" : issue.message
      })
    }
  }
  if (issues.length > 0) return Either.left(issues)
  return decoded as Either.Either<ItemInput, never>
}
