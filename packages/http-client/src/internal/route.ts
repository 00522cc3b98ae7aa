/**
 * Route patterns of a policy's rules (`GET /reports/**`) and the matching of a request against them: pure
 * functions over strings, compiled once per client, run once per call.
 *
 * Grammar: `[METHODS ]PATH`. `METHODS` is `*` (any method, the same as leaving it out) or methods separated by
 * commas (`GET,HEAD`), case-insensitive. `PATH` starts with `/`; its segments are compared as written
 * (case-sensitive, percent-encoded as sent); a segment `*` stands for exactly one segment and a final `**` for
 * any number of them, none included. Empty segments do not count, so trailing and doubled slashes match either
 * way; the query string and the fragment of a request are ignored.
 */

/** A compiled pattern. */
export interface Pattern {
  /** The pattern as written, trimmed. */
  readonly source: string
  /** Upper-case methods; `undefined`: any method. */
  readonly methods: ReadonlyArray<string> | undefined
  /** Literal segments, or `*` for one segment. */
  readonly segments: ReadonlyArray<string>
  /** Whether the pattern ends in `**`. */
  readonly rest: boolean
}

/** Why a pattern is not one: the problem, never the pattern's text. */
export type PatternError = string

const METHOD = /^[A-Za-z]+$/
const EXAMPLE = "a method and a path such as \"GET /reports/**\" (a path alone matches every method)"

/** Parses a pattern; a string is the problem with it. Never throws. */
export const parse = (input: string): Pattern | PatternError => {
  const source = input.trim()
  if (source === "") return `must be ${EXAMPLE}`
  const space = source.search(/\s/)
  const methodPart = space === -1 ? undefined : source.slice(0, space)
  const path = space === -1 ? source : source.slice(space).trim()
  if (/\s/.test(path)) return `must be ${EXAMPLE}: one method list, one space, one path`
  let methods: Array<string> | undefined
  if (methodPart !== undefined && methodPart !== "*") {
    const names = methodPart.split(",")
    if (!names.every((name) => METHOD.test(name))) {
      return `must start with "*" or methods separated by commas (GET,HEAD), then a space and a path`
    }
    methods = Array.from(new Set(names.map((name) => name.toUpperCase())))
  }
  if (!path.startsWith("/")) return `must be ${EXAMPLE}: the path starts with "/"`
  if (/[?#]/.test(path)) return "must not contain a query string or a fragment: a route matches the path alone"
  const parts = path.split("/").filter((part) => part !== "")
  const segments: Array<string> = []
  let rest = false
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (part === "**") {
      if (i !== parts.length - 1) return "may use \"**\" only as its last segment"
      rest = true
    } else if (part.includes("*") && part !== "*") {
      return "uses a wildcard inside a segment: \"*\" (one segment) and \"**\" (the rest) stand alone between slashes"
    } else {
      segments.push(part)
    }
  }
  return { source, methods, segments, rest }
}

/** Whether `parse` returned a pattern. */
export const isPattern = (parsed: Pattern | PatternError): parsed is Pattern => typeof parsed !== "string"

/** The segments of a path: empty segments (leading, trailing and doubled slashes) left out. */
export const segmentsOf = (path: string): Array<string> => {
  const segments: Array<string> = []
  let start = 0
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (i > start) segments.push(path.slice(start, i))
      start = i + 1
    }
  }
  return segments
}

/** Whether `pattern` matches `method` and the path's `segments`. */
export const matches = (pattern: Pattern, method: string, segments: ReadonlyArray<string>): boolean => {
  if (pattern.methods !== undefined && !pattern.methods.includes(method.toUpperCase())) return false
  const wanted = pattern.segments
  if (pattern.rest ? segments.length < wanted.length : segments.length !== wanted.length) return false
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i]!
    if (segment !== "*" && segment !== segments[i]) return false
  }
  return true
}

/** The path of a URL (absolute or relative), without query string or fragment. Never throws. */
export const pathOf = (url: string): string => {
  let start = 0
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)
  if (scheme !== null) {
    const slash = url.indexOf("/", scheme[0].length)
    const query = url.slice(scheme[0].length).search(/[?#]/)
    if (slash === -1 || (query !== -1 && query + scheme[0].length < slash)) return "/"
    start = slash
  }
  const end = url.slice(start).search(/[?#]/)
  return end === -1 ? url.slice(start) : url.slice(start, start + end)
}

/**
 * Matches requests of one API against an ordered list of patterns, relative to the API's base URL: a rule's
 * `/reports/**` matches `https://api.example.com/v1/reports/7` when the base URL is `https://api.example.com/v1`.
 * A request to another origin matches no rule.
 */
export interface Matcher {
  /** The index of the first pattern that matches, or -1. */
  readonly match: (method: string, url: string) => number
}

/** @internal */
export const matcher = (patterns: ReadonlyArray<Pattern>, baseUrl?: string): Matcher => {
  let origin: string | undefined
  let basePath: ReadonlyArray<string> = []
  // The base URL as the base URL stage writes it in front of a path, without a trailing slash.
  const prefix = baseUrl?.replace(/\/+$/, "")
  if (baseUrl !== undefined) {
    try {
      const parsed = new URL(baseUrl)
      origin = parsed.origin
      basePath = segmentsOf(parsed.pathname)
    } catch {
      // Not a URL: the client's config refuses it long before a request gets here; match paths as they are.
    }
  }
  const relative = (url: string): Array<string> | undefined => {
    // The common case parses no URL: the request URL is the base URL followed by the path.
    if (prefix !== undefined && url.startsWith(prefix)) {
      const next = url.charCodeAt(prefix.length)
      // "/", "?", "#" or the end: the base URL itself, not a longer host or segment (`/v10` under `/v1`).
      const rest = url.slice(prefix.length)
      // Dot segments ("/../") are resolved by the URL parser below, as the transport resolves them.
      if ((Number.isNaN(next) || next === 47 || next === 63 || next === 35) && !rest.includes("/.")) {
        return segmentsOf(pathOf(rest))
      }
    }
    if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return segmentsOf(pathOf(url))
    if (origin === undefined) return segmentsOf(pathOf(url))
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return undefined
    }
    if (parsed.origin !== origin) return undefined
    const segments = segmentsOf(parsed.pathname)
    for (let i = 0; i < basePath.length; i++) {
      if (segments[i] !== basePath[i]) return undefined
    }
    return segments.slice(basePath.length)
  }
  return {
    match: (method, url) => {
      if (patterns.length === 0) return -1
      const segments = relative(url)
      if (segments === undefined) return -1
      for (let i = 0; i < patterns.length; i++) {
        if (matches(patterns[i]!, method, segments)) return i
      }
      return -1
    }
  }
}
