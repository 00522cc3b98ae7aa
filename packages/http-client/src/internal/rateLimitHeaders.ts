import { RetryAfter } from "@bulwark/core-errors"
import type * as api from "../RateLimitHeaders.js"

/** @internal */
export type Quota = api.Quota

// ---------------------------------------------------------------------------------------------------------------------
// RFC 9651 (Structured Field Values) List parsing, reduced to what the rate-limit fields need: every member is
// validated in full (so a malformed field is rejected as a whole), but only an item's bare value and the parameters
// q, w, qu, r and t are kept. Parsing works on char codes over the original string and allocates one object per item.
// ---------------------------------------------------------------------------------------------------------------------

const KIND_INTEGER = 0
const KIND_DECIMAL = 1
const KIND_STRING = 2
const KIND_TOKEN = 3
const KIND_OTHER = 4 // byte sequence, boolean, date, display string, inner list

/** A parsed parameter or bare value: its kind and, for integers/decimals/strings/tokens, its value. */
interface Bare {
  kind: number
  num: number
  str: string
}

/** One list member. Parameters: `undefined` when absent; `null` when present with an unusable value. */
interface Member {
  readonly kind: number
  readonly num: number
  readonly str: string
  q: number | null | undefined
  w: number | null | undefined
  r: number | null | undefined
  t: number | null | undefined
  qu: string | null | undefined
}

const SP = 0x20
const HTAB = 0x09
const DQUOTE = 0x22
const BACKSLASH = 0x5c

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isLcAlpha = (c: number) => c >= 0x61 && c <= 0x7a
const isAlpha = (c: number) => isLcAlpha(c) || (c >= 0x41 && c <= 0x5a)

/** RFC 9110 tchar. */
const isTchar = (c: number) =>
  isAlpha(c) || isDigit(c) ||
  c === 0x21 || // !
  (c >= 0x23 && c <= 0x27) || // # $ % & '
  c === 0x2a || // *
  c === 0x2b || // +
  c === 0x2d || // -
  c === 0x2e || // .
  c === 0x5e || // ^
  c === 0x5f || // _
  c === 0x60 || // `
  c === 0x7c || // |
  c === 0x7e // ~

const isBase64 = (c: number) => isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2f || c === 0x3d
const isLcHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66)

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** A cursor over one field value; `fail` is set by the first syntax error and stops everything. */
class Cursor {
  pos = 0
  fail = false
  constructor(readonly s: string) {}
  get end(): boolean {
    return this.pos >= this.s.length
  }
  peek(): number {
    // NaN past the end: every comparison with it is false.
    return this.s.charCodeAt(this.pos)
  }
}

const parseNumber = (cur: Cursor, out: Bare): void => {
  const s = cur.s
  let negative = false
  if (s.charCodeAt(cur.pos) === 0x2d) {
    negative = true
    cur.pos++
  }
  if (!isDigit(s.charCodeAt(cur.pos))) {
    cur.fail = true
    return
  }
  const digitsStart = cur.pos
  let dot = -1
  while (cur.pos < s.length) {
    const c = s.charCodeAt(cur.pos)
    if (isDigit(c)) {
      cur.pos++
    } else if (c === 0x2e && dot === -1) {
      if (cur.pos - digitsStart > 12) {
        cur.fail = true
        return
      }
      dot = cur.pos
      cur.pos++
    } else {
      break
    }
    const length = cur.pos - digitsStart
    if (dot === -1 ? length > 15 : length > 16) {
      cur.fail = true
      return
    }
  }
  if (dot !== -1) {
    const fraction = cur.pos - dot - 1
    if (fraction < 1 || fraction > 3) {
      cur.fail = true
      return
    }
    out.kind = KIND_DECIMAL
  } else {
    out.kind = KIND_INTEGER
  }
  const value = Number(s.slice(digitsStart, cur.pos))
  out.num = negative ? -value : value
  out.str = ""
}

const parseString = (cur: Cursor, out: Bare): void => {
  const s = cur.s
  cur.pos++ // opening DQUOTE
  const start = cur.pos
  let escaped = false
  while (cur.pos < s.length) {
    const c = s.charCodeAt(cur.pos++)
    if (c === BACKSLASH) {
      const next = s.charCodeAt(cur.pos++)
      if (next !== DQUOTE && next !== BACKSLASH) {
        cur.fail = true
        return
      }
      escaped = true
    } else if (c === DQUOTE) {
      const raw = s.slice(start, cur.pos - 1)
      out.kind = KIND_STRING
      out.str = escaped ? raw.replace(/\\(["\\])/g, "$1") : raw
      return
    } else if (c < 0x20 || c > 0x7e) {
      cur.fail = true
      return
    }
  }
  cur.fail = true // no closing DQUOTE
}

const parseToken = (cur: Cursor, out: Bare): void => {
  const s = cur.s
  const start = cur.pos++
  while (cur.pos < s.length) {
    const c = s.charCodeAt(cur.pos)
    if (isTchar(c) || c === 0x3a || c === 0x2f) cur.pos++
    else break
  }
  out.kind = KIND_TOKEN
  out.str = s.slice(start, cur.pos)
}

const parseByteSequence = (cur: Cursor, out: Bare): void => {
  const s = cur.s
  cur.pos++
  while (cur.pos < s.length) {
    const c = s.charCodeAt(cur.pos++)
    if (c === 0x3a) {
      out.kind = KIND_OTHER
      return
    }
    if (!isBase64(c)) break
  }
  cur.fail = true
}

const parseBoolean = (cur: Cursor, out: Bare): void => {
  const c = cur.s.charCodeAt(cur.pos + 1)
  if (c !== 0x30 && c !== 0x31) {
    cur.fail = true
    return
  }
  cur.pos += 2
  out.kind = KIND_OTHER
}

const parseDate = (cur: Cursor, out: Bare): void => {
  cur.pos++
  parseNumber(cur, out)
  if (!cur.fail && out.kind !== KIND_INTEGER) cur.fail = true
  out.kind = KIND_OTHER
}

const parseDisplayString = (cur: Cursor, out: Bare): void => {
  const s = cur.s
  if (s.charCodeAt(cur.pos + 1) !== DQUOTE) {
    cur.fail = true
    return
  }
  cur.pos += 2
  const bytes: Array<number> = []
  while (cur.pos < s.length) {
    const c = s.charCodeAt(cur.pos++)
    if (c < 0x20 || c > 0x7e) break
    if (c === 0x25) {
      const h = s.charCodeAt(cur.pos)
      const l = s.charCodeAt(cur.pos + 1)
      if (!isLcHex(h) || !isLcHex(l)) break
      bytes.push(parseInt(s.slice(cur.pos, cur.pos + 2), 16))
      cur.pos += 2
    } else if (c === DQUOTE) {
      try {
        utf8.decode(new Uint8Array(bytes))
      } catch {
        break
      }
      out.kind = KIND_OTHER
      return
    } else {
      bytes.push(c)
    }
  }
  cur.fail = true
}

const parseBareItem = (cur: Cursor, out: Bare): void => {
  const c = cur.peek()
  if (c === 0x2d || isDigit(c)) parseNumber(cur, out)
  else if (c === DQUOTE) parseString(cur, out)
  else if (c === 0x2a || isAlpha(c)) parseToken(cur, out)
  else if (c === 0x3a) parseByteSequence(cur, out)
  else if (c === 0x3f) parseBoolean(cur, out)
  else if (c === 0x40) parseDate(cur, out)
  else if (c === 0x25) parseDisplayString(cur, out)
  else cur.fail = true
}

/** Parses parameters, recording the rate-limit ones on `member` (or nowhere when it is `undefined`). */
const parseParameters = (cur: Cursor, member: Member | undefined, scratch: Bare): void => {
  const s = cur.s
  while (!cur.fail && s.charCodeAt(cur.pos) === 0x3b) {
    cur.pos++
    while (s.charCodeAt(cur.pos) === SP) cur.pos++
    // key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
    const keyStart = cur.pos
    const first = s.charCodeAt(cur.pos)
    if (!isLcAlpha(first) && first !== 0x2a) {
      cur.fail = true
      return
    }
    cur.pos++
    for (;;) {
      const c = s.charCodeAt(cur.pos)
      if (isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a) cur.pos++
      else break
    }
    const keyLength = cur.pos - keyStart
    let hasValue = false
    if (s.charCodeAt(cur.pos) === 0x3d) {
      cur.pos++
      parseBareItem(cur, scratch)
      if (cur.fail) return
      hasValue = true
    }
    if (member === undefined || keyLength > 2) continue
    // Later duplicates overwrite earlier ones (RFC 9651 §4.2.3.2).
    const k0 = s.charCodeAt(keyStart)
    const k1 = keyLength === 2 ? s.charCodeAt(keyStart + 1) : -1
    const integer = hasValue && scratch.kind === KIND_INTEGER ? scratch.num : null
    if (keyLength === 1) {
      if (k0 === 0x71) member.q = integer // q
      else if (k0 === 0x77) member.w = integer // w
      else if (k0 === 0x72) member.r = integer // r
      else if (k0 === 0x74) member.t = integer // t
    } else if (k0 === 0x71 && k1 === 0x75) {
      // qu: a String by the draft; a Token is accepted too.
      member.qu = hasValue && (scratch.kind === KIND_STRING || scratch.kind === KIND_TOKEN) ? scratch.str : null
    }
  }
}

const newMember = (bare: Bare): Member => ({
  kind: bare.kind,
  num: bare.num,
  str: bare.str,
  q: undefined,
  w: undefined,
  r: undefined,
  t: undefined,
  qu: undefined
})

const parseInnerList = (cur: Cursor, scratch: Bare): void => {
  const s = cur.s
  cur.pos++
  while (cur.pos < s.length) {
    while (s.charCodeAt(cur.pos) === SP) cur.pos++
    if (s.charCodeAt(cur.pos) === 0x29) {
      cur.pos++
      parseParameters(cur, undefined, scratch)
      return
    }
    parseBareItem(cur, scratch)
    if (cur.fail) return
    parseParameters(cur, undefined, scratch)
    if (cur.fail) return
    const c = s.charCodeAt(cur.pos)
    if (c !== SP && c !== 0x29) {
      cur.fail = true
      return
    }
  }
  cur.fail = true
}

const isOws = (c: number) => c === SP || c === HTAB

/**
 * Parses a field value as an RFC 9651 List. Returns `undefined` when it is not one: the whole field is then
 * ignored. Leading and trailing whitespace (SP or HTAB) around the value is tolerated.
 *
 * @internal
 */
export const parseList = (value: string): Array<Member> | undefined => {
  let end = value.length
  while (end > 0 && isOws(value.charCodeAt(end - 1))) end--
  const cur = new Cursor(end === value.length ? value : value.slice(0, end))
  const s = cur.s
  while (isOws(s.charCodeAt(cur.pos))) cur.pos++
  const members: Array<Member> = []
  const scratch: Bare = { kind: KIND_OTHER, num: 0, str: "" }
  while (!cur.end) {
    if (s.charCodeAt(cur.pos) === 0x28) {
      parseInnerList(cur, scratch)
      if (cur.fail) return undefined
      members.push(newMember({ kind: KIND_OTHER, num: 0, str: "" }))
    } else {
      parseBareItem(cur, scratch)
      if (cur.fail) return undefined
      const member = newMember(scratch)
      parseParameters(cur, member, scratch)
      if (cur.fail) return undefined
      members.push(member)
    }
    while (isOws(s.charCodeAt(cur.pos))) cur.pos++
    if (cur.end) return members
    if (s.charCodeAt(cur.pos) !== 0x2c) return undefined
    cur.pos++
    while (isOws(s.charCodeAt(cur.pos))) cur.pos++
    if (cur.end) return undefined // trailing comma
  }
  return members
}

// ---------------------------------------------------------------------------------------------------------------------
// Plain numbers of the legacy and X- families
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Reads `^\s*\d+(\.\d+)?\s*$` from the first comma-separated item of a value (ignoring that item's `;` parameters),
 * or returns `-1`. A string that is not a string (a caller bypassing the types) is garbage too.
 *
 * @internal
 */
export const parseNonNegative = (value: unknown): number => {
  if (typeof value !== "string") return -1
  const s = value
  let pos = 0
  while (isOws(s.charCodeAt(pos))) pos++
  const start = pos
  while (isDigit(s.charCodeAt(pos))) pos++
  if (pos === start) return -1
  if (s.charCodeAt(pos) === 0x2e) {
    pos++
    const fraction = pos
    while (isDigit(s.charCodeAt(pos))) pos++
    if (pos === fraction) return -1
  }
  const stop = pos
  while (isOws(s.charCodeAt(pos))) pos++
  if (pos < s.length) {
    const c = s.charCodeAt(pos)
    if (c !== 0x2c && c !== 0x3b) return -1
  }
  const n = Number(s.slice(start, stop))
  return Number.isFinite(n) ? n : -1
}

// ---------------------------------------------------------------------------------------------------------------------
// The three families
// ---------------------------------------------------------------------------------------------------------------------

const DAY_MILLIS = 86_400_000
/** Above this an `X-RateLimit-Reset` is epoch milliseconds. */
const EPOCH_MILLIS_THRESHOLD = 1e12
/** Above this (and not above the previous) an `X-RateLimit-Reset` is epoch seconds. */
const EPOCH_SECONDS_THRESHOLD = 1e9

/**
 * Turns a delay (ms, may be negative) into an instant, or `undefined` when it is further away than
 * max(2 × window, 24 h) or `now` is not a usable instant. Never before `now`.
 */
const resetAtFrom = (now: number, delayMillis: number, windowMillis: number | undefined): number | undefined => {
  if (!Number.isFinite(now) || !Number.isFinite(delayMillis)) return undefined
  const delay = delayMillis > 0 ? delayMillis : 0
  const horizon = windowMillis !== undefined && 2 * windowMillis > DAY_MILLIS ? 2 * windowMillis : DAY_MILLIS
  return delay > horizon ? undefined : now + delay
}

const positiveOrUndefined = (n: number | null | undefined): number | undefined =>
  n !== undefined && n !== null && n > 0 ? n : undefined

const quota = (
  remaining: number,
  resetAt: number | undefined,
  limit: number | undefined,
  windowMillis: number | undefined,
  source: api.Quota["source"]
): api.Quota => ({ remaining, resetAt, limit, windowMillis, source })

/** A policy of `RateLimit-Policy` usable for matching. */
interface Policy {
  readonly name: string
  /** False when `qu` names another unit than requests (or is unusable): the policy's items are ignored. */
  readonly requests: boolean
  readonly limit: number | undefined
  readonly windowMillis: number | undefined
}

const isName = (m: Member) => m.kind === KIND_STRING || m.kind === KIND_TOKEN

const readPolicies = (value: unknown): Array<Policy> | undefined => {
  if (typeof value !== "string") return undefined
  const members = parseList(value)
  if (members === undefined) return undefined
  const policies: Array<Policy> = []
  for (const m of members) {
    if (!isName(m)) continue
    const requests = m.qu === undefined || m.qu === "requests"
    // q is required: without a valid one the policy advertises nothing (but its unit still counts).
    const valid = m.q !== undefined && m.q !== null && m.q >= 0
    policies.push({
      name: m.str,
      requests,
      limit: valid ? positiveOrUndefined(m.q) : undefined,
      windowMillis: valid && m.w !== undefined && m.w !== null && m.w > 0 ? m.w * 1000 : undefined
    })
  }
  return policies
}

/** IETF draft 10/11: `RateLimit-Policy` + `RateLimit`. */
const fromDraft = (headers: Readonly<Record<string, unknown>>, now: number): api.Quota | undefined => {
  const field = headers["ratelimit"]
  if (typeof field !== "string") return undefined
  const items = parseList(field)
  if (items === undefined) return undefined
  const policies = readPolicies(headers["ratelimit-policy"])
  let best: api.Quota | undefined
  let bestRate = 0
  let bestDelay = -1
  let allTimed = true
  // Two passes are avoided by remembering, for the "smallest remaining" fallback, the candidate found so far.
  let byRemaining: api.Quota | undefined
  let byRemainingDelay = -1
  for (const item of items) {
    if (!isName(item)) continue
    const r = item.r
    if (r === undefined || r === null || r < 0) continue
    let policy: Policy | undefined
    if (policies !== undefined) {
      for (const p of policies) {
        if (p.name === item.str) {
          policy = p
          break
        }
      }
    }
    if (policy !== undefined && !policy.requests) continue
    const limit = policy?.limit
    if (limit !== undefined && r > limit) return undefined // inconsistent: trust nothing from this family
    const windowMillis = policy?.windowMillis
    const t = item.t
    const resetAt = t !== undefined && t !== null && t >= 0 ? resetAtFrom(now, t * 1000, windowMillis) : undefined
    const candidate = quota(r, resetAt, limit, windowMillis, "draft")
    const delay = resetAt === undefined ? -1 : resetAt - now
    if (resetAt === undefined) allTimed = false
    else {
      // Requests per second until the quota is replenished; headers have one-second resolution.
      const rate = r / Math.max(delay, 1000)
      if (
        best === undefined || rate < bestRate ||
        (rate === bestRate && (r < best.remaining || (r === best.remaining && delay > bestDelay)))
      ) {
        best = candidate
        bestRate = rate
        bestDelay = delay
      }
    }
    if (
      byRemaining === undefined || r < byRemaining.remaining ||
      (r === byRemaining.remaining && delay > byRemainingDelay)
    ) {
      byRemaining = candidate
      byRemainingDelay = delay
    }
  }
  return allTimed ? best : byRemaining
}

/** `RateLimit-Limit` / `-Remaining` / `-Reset`, with an optional old-draft `RateLimit-Policy: 50;w=1`. */
const fromLegacy = (headers: Readonly<Record<string, unknown>>, now: number): api.Quota | undefined => {
  const remaining = parseNonNegative(headers["ratelimit-remaining"])
  if (remaining < 0) return undefined
  const rawLimit = parseNonNegative(headers["ratelimit-limit"])
  let limit = rawLimit < 0 ? undefined : Math.floor(rawLimit)
  let windowMillis: number | undefined
  const policy = headers["ratelimit-policy"]
  if (typeof policy === "string") {
    const members = parseList(policy)
    if (members !== undefined) {
      for (const m of members) {
        if (m.kind !== KIND_INTEGER || m.num < 0 || m.w === undefined || m.w === null || m.w <= 0) continue
        if (limit === undefined || m.num === limit) {
          limit ??= m.num
          windowMillis = m.w * 1000
          break
        }
      }
    }
  }
  const floored = Math.floor(remaining)
  if (limit !== undefined && floored > limit) return undefined
  const reset = parseNonNegative(headers["ratelimit-reset"])
  const resetAt = reset < 0 ? undefined : resetAtFrom(now, reset * 1000, windowMillis)
  return quota(floored, resetAt, positiveOrUndefined(limit), windowMillis, "legacy")
}

/** `X-RateLimit-Limit` / `-Remaining` / `-Reset` / `-Reset-After`. */
const fromX = (headers: Readonly<Record<string, unknown>>, now: number): api.Quota | undefined => {
  const remaining = parseNonNegative(headers["x-ratelimit-remaining"])
  if (remaining < 0) return undefined
  const rawLimit = parseNonNegative(headers["x-ratelimit-limit"])
  const limit = rawLimit < 0 ? undefined : Math.floor(rawLimit)
  const floored = Math.floor(remaining)
  if (limit !== undefined && floored > limit) return undefined
  let resetAt: number | undefined
  const after = parseNonNegative(headers["x-ratelimit-reset-after"])
  if (after >= 0) {
    resetAt = resetAtFrom(now, after * 1000, undefined)
  } else {
    const v = parseNonNegative(headers["x-ratelimit-reset"])
    if (v > EPOCH_SECONDS_THRESHOLD) {
      const at = v > EPOCH_MILLIS_THRESHOLD ? v : v * 1000
      // The server's clock may differ from ours: measure the reset against the response's own Date.
      const date = headers["date"]
      const sent = typeof date === "string" && Number.isFinite(now)
        ? RetryAfter.parseHttpDate(date, now)
        : undefined
      resetAt = resetAtFrom(now, at - (sent ?? now), undefined)
    } else if (v >= 0) {
      resetAt = resetAtFrom(now, v * 1000, undefined)
    }
  }
  return quota(floored, resetAt, positiveOrUndefined(limit), undefined, "x-ratelimit")
}

/** RFC 9111 §5.1: the first member of `Age`, when it is a non-negative integer; invalid values are ignored. */
const isCached = (age: unknown): boolean => {
  if (typeof age !== "string") return false
  let pos = 0
  while (isOws(age.charCodeAt(pos))) pos++
  const start = pos
  let positive = false
  for (;;) {
    const c = age.charCodeAt(pos)
    if (!isDigit(c)) break
    if (c !== 0x30) positive = true
    pos++
  }
  if (pos === start) return false
  while (isOws(age.charCodeAt(pos))) pos++
  return positive && (pos === age.length || age.charCodeAt(pos) === 0x2c)
}

/** @internal */
export const parse = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): api.Quota | undefined => {
  if (typeof headers !== "object" || headers === null) return undefined
  const h = headers as Readonly<Record<string, unknown>>
  // Fast path: every family needs its "remaining" header.
  if (
    h["ratelimit"] === undefined && h["ratelimit-remaining"] === undefined && h["x-ratelimit-remaining"] === undefined
  ) {
    return undefined
  }
  if (isCached(h["age"])) return undefined
  return fromDraft(h, now) ?? fromLegacy(h, now) ?? fromX(h, now)
}
