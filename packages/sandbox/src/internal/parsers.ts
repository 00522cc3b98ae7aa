/**
 * The small parsers of the token and resource endpoints: `application/x-www-form-urlencoded` bodies,
 * HTTP Basic credentials (RFC 7617 with the RFC 6749 §2.3.1 form-encoding of client id and secret) and
 * bearer tokens (RFC 6750 §2.1). None of them throws.
 */

/** @internal */
export type Form = ReadonlyMap<string, ReadonlyArray<string>>

const decodeFormComponent = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

/**
 * Parses a form body. `undefined` when a name or value is not valid percent-encoding.
 *
 * @internal
 */
export const parseForm = (body: string): Form | undefined => {
  const form = new Map<string, Array<string>>()
  if (body === "") return form
  for (const pair of body.split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    const name = decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq))
    const value = decodeFormComponent(eq === -1 ? "" : pair.slice(eq + 1))
    if (name === undefined || value === undefined) return undefined
    const values = form.get(name)
    if (values === undefined) form.set(name, [value])
    else values.push(value)
  }
  return form
}

/** @internal */
export interface BasicCredentials {
  /** The credentials as the RFC 6749 §2.3.1 form-decoding of each part gives them (`undefined` if invalid). */
  readonly decoded: { readonly clientId: string; readonly clientSecret: string } | undefined
  /** The credentials as sent (RFC 7617, no form-encoding). */
  readonly raw: { readonly clientId: string; readonly clientSecret: string }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Parses an `Authorization` header value. `undefined` when it is not the Basic scheme; `"malformed"` when it
 * is Basic but its credentials are not `base64(id:secret)`.
 *
 * @internal
 */
export const parseBasic = (header: string): BasicCredentials | "malformed" | undefined => {
  const match = /^\s*basic(?:\s+(.*?))?\s*$/i.exec(header)
  if (match === null) return undefined
  const token = match[1] ?? ""
  if (token === "" || token.length % 4 !== 0 || !BASE64.test(token)) return "malformed"
  let text: string
  try {
    text = utf8.decode(Buffer.from(token, "base64"))
  } catch {
    return "malformed"
  }
  const colon = text.indexOf(":")
  if (colon === -1) return "malformed"
  const raw = { clientId: text.slice(0, colon), clientSecret: text.slice(colon + 1) }
  const clientId = decodeFormComponent(raw.clientId)
  const clientSecret = decodeFormComponent(raw.clientSecret)
  return {
    raw,
    decoded: clientId === undefined || clientSecret === undefined ? undefined : { clientId, clientSecret }
  }
}

/**
 * Reads a bearer token from an `Authorization` header value: `undefined` when there is none or the scheme is
 * not Bearer, `"malformed"` when the token is not RFC 6750 `b64token` syntax.
 *
 * @internal
 */
export const parseBearer = (header: string | undefined): string | "malformed" | undefined => {
  if (header === undefined) return undefined
  const match = /^\s*bearer(?:\s+(.*?))?\s*$/i.exec(header)
  if (match === null) return undefined
  const token = match[1] ?? ""
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? token : "malformed"
}

/**
 * Recursively sorted JSON, so two bodies that differ only in key order or whitespace have the same
 * fingerprint.
 *
 * @internal
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const keys = Object.keys(value).sort()
  return `{${
    keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")
  }}`
}
