/** @internal */
export const REDACTED = "<redacted>"

/** @internal */
export const defaultHeaderNames: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-amz-security-token"
]

/** @internal */
export const defaultQueryParams: ReadonlyArray<string> = [
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "client_secret",
  "api_key",
  "apikey",
  "key",
  "password",
  "secret",
  "signature",
  "sig"
]

/** @internal */
export interface Redactor {
  readonly headerNames: ReadonlySet<string>
  readonly queryParams: ReadonlySet<string>
}

const lower = (names: Iterable<string>): Array<string> => Array.from(names, (name) => name.toLowerCase())

/** @internal */
export const make = (options?: {
  readonly headers?: Iterable<string> | undefined
  readonly queryParams?: Iterable<string> | undefined
  readonly replaceDefaults?: boolean | undefined
}): Redactor => {
  const keepDefaults = options?.replaceDefaults !== true
  return {
    headerNames: new Set([...(keepDefaults ? defaultHeaderNames : []), ...lower(options?.headers ?? [])]),
    queryParams: new Set([...(keepDefaults ? defaultQueryParams : []), ...lower(options?.queryParams ?? [])])
  }
}

/** @internal */
export const defaultRedactor: Redactor = make()

/** @internal */
export const headers = (
  redactor: Redactor,
  input: Iterable<readonly [string, string]> | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): Record<string, string> => {
  const out: Record<string, string> = {}
  const entries: Iterable<readonly [string, unknown]> = Symbol.iterator in input
    ? (input as Iterable<readonly [string, string]>)
    : Object.entries(input)
  for (const [name, value] of entries) {
    if (value === undefined) continue
    const key = name.toLowerCase()
    out[key] = redactor.headerNames.has(key) ? REDACTED : Array.isArray(value) ? value.join(", ") : String(value)
  }
  return out
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>]+/gi

/** @internal */
export const url = (redactor: Redactor, input: string | URL): string => {
  let parsed: URL
  try {
    parsed = typeof input === "string" ? new URL(input) : new URL(input.href)
  } catch {
    // Not an absolute URL: redact a query string by hand so nothing secret survives.
    return redactRelative(redactor, String(input))
  }
  if (parsed.username !== "") parsed.username = REDACTED
  if (parsed.password !== "") parsed.password = REDACTED
  if (parsed.search !== "") {
    const params = parsed.searchParams
    for (const key of Array.from(params.keys())) {
      // An empty value hides nothing (and may be followed by a placeholder already in the text).
      if (redactor.queryParams.has(key.toLowerCase()) && params.get(key) !== "") params.set(key, REDACTED)
    }
  }
  // Fragments may carry OAuth implicit-flow tokens (#access_token=...).
  if (parsed.hash !== "" && /(?:^#|&)[^=&]*(?:token|secret|key)[^=&]*=/i.test(parsed.hash)) {
    parsed.hash = REDACTED
  }
  return decodeURIComponentSafe(parsed.href)
}

const decodeURIComponentSafe = (href: string): string => href.replaceAll(encodeURIComponent(REDACTED), REDACTED)

const redactRelative = (redactor: Redactor, input: string): string => {
  const queryStart = input.indexOf("?")
  if (queryStart === -1) return input
  const hashStart = input.indexOf("#", queryStart)
  const query = input.slice(queryStart + 1, hashStart === -1 ? undefined : hashStart)
  const redacted = query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=")
      const key = eq === -1 ? pair : pair.slice(0, eq)
      let decoded = key
      try {
        decoded = decodeURIComponent(key)
      } catch {
        // keep the raw key
      }
      return redactor.queryParams.has(decoded.toLowerCase()) ? `${key}=${REDACTED}` : pair
    })
    .join("&")
  return `${input.slice(0, queryStart)}?${redacted}`
}

const utf8 = new TextEncoder()

/** Standard base64 without Node's `Buffer`: this package runs anywhere `btoa` does. */
const base64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

const BASE64_ALPHABETS = [
  { from: /[+/]/g, to: (c: string) => c, trim: /=+$/ },
  { from: /[+/]/g, to: (c: string) => (c === "+" ? "-" : "_"), trim: /=+$/ }
] as const

/**
 * The base64 text of `secret` wherever it sits in a longer base64 string: for each of the three
 * alignments, the characters that depend on the secret's bytes alone (the first and last characters
 * of an embedded run mix in neighbouring bytes, so they are left off). Both the standard and the URL
 * alphabet.
 */
const base64Cores = (secret: string): Array<string> => {
  const bytes = utf8.encode(secret)
  const out: Array<string> = []
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length)
    padded.set(bytes, offset)
    const encoded = base64(padded).replace(/=+$/, "")
    // Characters 0..lead-1 contain bits of the padding; the last group may contain bits of what follows.
    const lead = offset === 0 ? 0 : offset === 1 ? 2 : 3
    const fullGroups = Math.floor(padded.length / 3) * 4
    const core = encoded.slice(lead, fullGroups)
    if (core.length >= 8) {
      for (const alphabet of BASE64_ALPHABETS) out.push(core.replace(alphabet.from, alphabet.to))
    }
  }
  // The secret encoded on its own, padding and all (a header value that is just the secret).
  const whole = base64(bytes)
  out.push(whole, whole.replace(/=+$/, ""), whole.replace(/=+$/, "").replace(/[+/]/g, (c) => (c === "+" ? "-" : "_")))
  return out
}

/** `application/x-www-form-urlencoded` (spaces as `+`), as RFC 6749 §2.3.1 encodes client credentials. */
const formEncode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(
    /%20/g,
    "+"
  )

const formCache = new Map<string, ReadonlyArray<string>>()

/**
 * Every form in which a secret may have travelled and may be echoed back: as it is, percent-encoded (as
 * in a URL or a form body, in upper and lower case hex), and base64 (as in a `Basic` header), at any
 * alignment inside a longer base64 string. Longest first, so a longer form is replaced before a shorter
 * one inside it.
 *
 * @internal
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  const cached = formCache.get(secret)
  if (cached !== undefined) return cached
  const forms = new Set<string>([secret])
  for (const encoded of [encodeURIComponent(secret), formEncode(secret)]) {
    forms.add(encoded)
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()))
  }
  for (const core of base64Cores(secret)) forms.add(core)
  const out = Array.from(forms).filter((form) => form.length >= 4).sort((a, b) => b.length - a.length)
  // Secrets are few per client (its token, client secret, API keys); a bounded cache keeps repeated
  // error paths from re-encoding them.
  if (formCache.size > 256) formCache.clear()
  formCache.set(secret, out)
  return out
}

/** A credential after an auth scheme, unless it is an auth-param list (`Bearer realm="..."`). */
const CREDENTIAL_IN_TEXT = /\b(Bearer|Basic)(\s+)(?![A-Za-z][A-Za-z0-9_-]*\s*=\s*")[A-Za-z0-9\-._~+/]+=*/gi

/** JSON Web Tokens (three base64url parts, the first one a JSON object) anywhere in text. */
const JWT_IN_TEXT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g

/** `name=value`, `name: value` and `"name": "value"` where the name is a secret query parameter's. */
const secretAssignments = (redactor: Redactor): RegExp | undefined => {
  const cached = assignmentCache.get(redactor)
  if (cached !== undefined) return cached
  const names = Array.from(redactor.queryParams).filter((name) => name.length > 0).map(escapeRegExp)
  const pattern = names.length === 0
    ? undefined
    : new RegExp(
      `(["']?\\b(?:${names.join("|")})["']?\\s*[=:]\\s*["']?)([^\\s"'&,;<>]+)`,
      "gi"
    )
  if (pattern !== undefined) assignmentCache.set(redactor, pattern)
  return pattern
}

const assignmentCache = new WeakMap<Redactor, RegExp>()

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** @internal */
export const text = (redactor: Redactor, input: string, secrets: ReadonlyArray<string> = []): string => {
  let out = input
  // Known secrets first, in every encoding they travel in, before the patterns below reshape the text.
  for (const secret of secrets) {
    if (secret.length < 4) continue
    for (const form of secretForms(secret)) {
      if (out.includes(form)) out = out.replaceAll(form, REDACTED)
    }
  }
  out = out.replace(URL_IN_TEXT, (match) => url(redactor, match))
  out = out.replace(CREDENTIAL_IN_TEXT, `$1$2${REDACTED}`)
  out = out.replace(JWT_IN_TEXT, REDACTED)
  const assignments = secretAssignments(redactor)
  if (assignments !== undefined) {
    out = out.replace(
      assignments,
      (match, prefix: string, value: string) => value === REDACTED ? match : `${prefix}${REDACTED}`
    )
  }
  return out
}

/** Auth-params of a `WWW-Authenticate` challenge that describe the error and never carry a credential. */
const PUBLIC_CHALLENGE_PARAMS = new Set([
  "realm",
  "scope",
  "error",
  "error_description",
  "error_uri",
  "resource_metadata",
  "max_age",
  "acr_values",
  "algs",
  "charset"
])

/**
 * Redacts a `WWW-Authenticate` header value: auth-params that are not part of the challenge's public
 * vocabulary (a server that echoes `token="..."`, say) and token68 credentials are replaced; the text of
 * the public ones is redacted as free text. The challenge stays parseable.
 *
 * @internal
 */
export const challenge = (redactor: Redactor, input: string, secrets: ReadonlyArray<string> = []): string => {
  const scrubbed = input.replace(
    /([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s*=\s*)("(?:[^"\\]|\\.)*"|[^\s,"]*)/g,
    (_match, name: string, eq: string, value: string) => {
      if (!PUBLIC_CHALLENGE_PARAMS.has(name.toLowerCase())) return `${name}${eq}"${REDACTED}"`
      return `${name}${eq}${value}`
    }
  )
  // Token68 after a scheme (`Bearer abc==`) and any known secret or JWT in the public params' text.
  return text(redactor, scrubbed, secrets)
}
