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
      if (redactor.queryParams.has(key.toLowerCase())) params.set(key, REDACTED)
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

/** @internal */
export const text = (redactor: Redactor, input: string, secrets: ReadonlyArray<string> = []): string => {
  let out = input.replace(URL_IN_TEXT, (match) => url(redactor, match))
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`)
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.replaceAll(secret, REDACTED)
  }
  return out
}
