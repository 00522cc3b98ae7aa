/**
 * The partner API's error body, `{ "code": N, "message": "...", "details": [] }`, decoded leniently:
 *
 * - `code` may be a number or a numeric string (`"3"`);
 * - `details` may be absent (it then decodes as `[]`);
 * - unknown extra fields are kept, so nothing the API sends is lost;
 * - an optional `category` can be derived from the body by an API-specific {@link CategoryReader}
 *   (the default reads none).
 *
 * Anything that is not such a body (a gateway's HTML page, truncated JSON, an empty body) is kept as
 * a bounded text snippet instead: at most 4 KiB, cut on a character boundary.
 *
 * @since 0.1.0
 */
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/errorBody.js"

/**
 * The schema of the error body.
 *
 * @example
 * ```ts
 * import { ApiErrorBody } from "@bulwark/core-errors"
 * import { Schema } from "effect"
 *
 * Schema.decodeUnknownSync(ApiErrorBody.ApiErrorBody)({ code: "3", message: "name is required" })
 * // { code: 3, message: "name is required", details: [] }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApiErrorBody: typeof internal.ApiErrorBodySchema = internal.ApiErrorBodySchema

/**
 * A decoded error body: `code`, `message`, `details`, an optional `category`, and any extra fields
 * the API sent.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiErrorBody = Schema.Schema.Type<typeof internal.ApiErrorBodySchema>

/**
 * Reads an API-specific category out of a decoded body (for instance a prefix of its `message` such
 * as `"QUOTA_EXCEEDED: ..."`). Return `undefined` for none. A reader that throws is treated as
 * returning `undefined`.
 *
 * @example
 * ```ts
 * import type { ApiErrorBody } from "@bulwark/core-errors"
 *
 * const readCategory: ApiErrorBody.CategoryReader = (body) => /^([A-Z_]+):/.exec(body.message)?.[1]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CategoryReader = internal.CategoryReader

/**
 * What could be made of a response body: the decoded error body when it is one, otherwise a bounded
 * snippet of its text; `truncated` says whether the snippet is shorter than the body.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodedErrorBody {
  readonly body: Option.Option<ApiErrorBody>
  readonly snippet: Option.Option<string>
  readonly truncated: boolean
}

/**
 * The largest snippet kept of a body that is not an error body: 4096 bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSnippetBytes: number = internal.defaultSnippetBytes

/**
 * How much of an error response's body is read at most when classifying it: 64 KiB. A larger body
 * is not decoded (an error body is a few hundred bytes); only its snippet is kept.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBodyBytes: number = internal.defaultMaxBodyBytes

/**
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  readonly readCategory?: CategoryReader | undefined
  /** Maximum size of the snippet kept when the body is not an error body. Default: 4096. */
  readonly snippetBytes?: number | undefined
}

/**
 * Decodes raw body bytes. Never throws: invalid UTF-8, truncated JSON or an HTML page yield a snippet.
 *
 * @example
 * ```ts
 * import { ApiErrorBody } from "@bulwark/core-errors"
 *
 * const decoded = ApiErrorBody.fromBytes(new TextEncoder().encode("<html><title>502 Bad Gateway</title></html>"))
 * // decoded.body is None, decoded.snippet is Some("<html><title>502 Bad Gateway</title></html>")
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes = (bytes: Uint8Array, options?: DecodeOptions): DecodedErrorBody =>
  internal.fromBytes(bytes, options)

/**
 * Decodes a body given as text. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromText = (text: string, options?: DecodeOptions): DecodedErrorBody => internal.fromText(text, options)

/**
 * Decodes an already parsed JSON value. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJson = (json: unknown, options?: Pick<DecodeOptions, "readCategory">): Option.Option<ApiErrorBody> =>
  internal.fromJson(json, options?.readCategory)
