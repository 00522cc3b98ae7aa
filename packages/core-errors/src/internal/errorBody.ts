import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** @internal */
export const defaultSnippetBytes = 4096

/** @internal */
export const defaultMaxBodyBytes = 64 * 1024

const FiniteFromString = Schema.compose(Schema.NumberFromString, Schema.Finite)

/** @internal */
export const ApiErrorBodySchema = Schema.Struct(
  {
    code: Schema.Union(Schema.Finite, FiniteFromString),
    message: Schema.String,
    details: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] }),
    category: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({
  identifier: "ApiErrorBody",
  description: "The partner API's error body: { code, message, details }"
})

/** @internal */
export type ApiErrorBody = Schema.Schema.Type<typeof ApiErrorBodySchema>

/** @internal */
export type CategoryReader = (body: ApiErrorBody) => string | undefined

/** @internal */
export interface DecodedErrorBody {
  readonly body: Option.Option<ApiErrorBody>
  readonly snippet: Option.Option<string>
  readonly truncated: boolean
}

const decodeUnknown = Schema.decodeUnknownEither(ApiErrorBodySchema, { onExcessProperty: "preserve" })
const textDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false })

/** @internal */
export const fromJson = (json: unknown, readCategory?: CategoryReader): Option.Option<ApiErrorBody> => {
  const decoded = decodeUnknown(json)
  if (Either.isLeft(decoded)) return Option.none()
  const body = decoded.right
  if (readCategory === undefined) return Option.some(body)
  let category: string | undefined
  try {
    category = readCategory(body)
  } catch {
    // A faulty category reader must not break classification.
    category = undefined
  }
  return Option.some(category === undefined ? body : { ...body, category })
}

/** @internal */
export const snippetOf = (
  text: string,
  maxBytes: number
): { readonly snippet: string; readonly truncated: boolean } => {
  const encoded = new TextEncoder().encode(text)
  if (encoded.byteLength <= maxBytes) return { snippet: text, truncated: false }
  return { snippet: truncateUtf8(encoded, maxBytes), truncated: true }
}

/** Cuts at a byte limit without leaving half a multi-byte character at the end. */
const truncateUtf8 = (bytes: Uint8Array, maxBytes: number): string => {
  let end = Math.min(maxBytes, bytes.byteLength)
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && end < bytes.byteLength && (bytes[end]! & 0xc0) === 0x80) end--
  return textDecoder.decode(bytes.subarray(0, end))
}

/** @internal */
export const fromBytes = (
  bytes: Uint8Array,
  options?: {
    readonly readCategory?: CategoryReader | undefined
    readonly snippetBytes?: number | undefined
    /** True when `bytes` is only the start of a longer body. */
    readonly incomplete?: boolean | undefined
  }
): DecodedErrorBody => {
  const snippetBytes = Math.max(0, options?.snippetBytes ?? defaultSnippetBytes)
  const incomplete = options?.incomplete === true
  if (bytes.byteLength === 0) return { body: Option.none(), snippet: Option.none(), truncated: incomplete }
  if (!incomplete) {
    const text = textDecoder.decode(bytes)
    const json = parseJson(text)
    if (json !== undefined) {
      const body = fromJson(json, options?.readCategory)
      if (Option.isSome(body)) return { body, snippet: Option.none(), truncated: false }
    }
  }
  const cut = truncateUtf8(bytes, snippetBytes)
  return {
    body: Option.none(),
    snippet: Option.some(cut),
    truncated: incomplete || bytes.byteLength > snippetBytes
  }
}

const parseJson = (text: string): unknown => {
  const trimmed = text.trimStart()
  // Only objects can be error bodies; skip the parser for HTML pages and plain text.
  if (!trimmed.startsWith("{")) return undefined
  try {
    return JSON.parse(trimmed)
  } catch {
    return undefined
  }
}

/** @internal */
export const fromText = (
  text: string,
  options?: { readonly readCategory?: CategoryReader | undefined; readonly snippetBytes?: number | undefined }
): DecodedErrorBody => fromBytes(new TextEncoder().encode(text), options)
