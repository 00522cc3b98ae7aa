/**
 * The resource the sandbox stores: an item of a catalog.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import * as internal from "./internal/items.js"

/**
 * An item as the API returns it: `{ id, sku, name, price, tags }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Item: typeof internal.ItemSchema = internal.ItemSchema

/**
 * @since 0.1.0
 * @category models
 */
export type Item = Schema.Schema.Type<typeof internal.ItemSchema>

/**
 * The body of `POST /v1/items` and `PUT /v1/items/:id`: `sku` (1–64 characters), `name` (1–200),
 * `price` (a number >= 0) and optional `tags` (at most 20 strings of 1–32 characters). The server assigns
 * the `id`. A body that does not validate gets 400 with one `details` entry per bad field, such as
 * `{ "field": "price", "issue": "must be a number >= 0" }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemInput: typeof internal.ItemInputSchema = internal.ItemInputSchema

/**
 * @since 0.1.0
 * @category models
 */
export type ItemInput = Schema.Schema.Encoded<typeof internal.ItemInputSchema>

/**
 * A page of `GET /v1/items`: `items` and the `nextCursor` to pass as `?cursor=` (`null` on the last page).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ItemPage: typeof internal.ItemPageSchema = internal.ItemPageSchema

/**
 * @since 0.1.0
 * @category models
 */
export type ItemPage = Schema.Schema.Type<typeof internal.ItemPageSchema>
