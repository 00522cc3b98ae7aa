/**
 * Reading the client's quota from the rate-limit headers of a response, for adaptive client-side pacing.
 *
 * Three header families are understood; the first one that yields valid information wins:
 *
 * - `"draft"`: `RateLimit-Policy` and `RateLimit` of draft-ietf-httpapi-ratelimit-headers 10/11 (RFC 9651 Lists),
 *   as `RateLimit-Policy: "default";q=100;w=60` with `RateLimit: "default";r=50;t=30`.
 * - `"legacy"`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta seconds), with the window taken
 *   from an older-draft `RateLimit-Policy: 50;w=1` when it is there.
 * - `"x-ratelimit"`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, and `X-RateLimit-Reset-After` (delta seconds) or
 *   `X-RateLimit-Reset` (delta seconds; epoch seconds above 1e9; epoch milliseconds above 1e12).
 *
 * Rules:
 *
 * - Draft fields follow RFC 9651: a field that is not a valid List gives no information at all; policy and item
 *   names may be Strings or Tokens and are matched by their text; `q` (quota) and `r` (remaining) are required,
 *   `w` (window seconds) and `t` (seconds until replenished) optional; unknown parameters are ignored; a policy
 *   whose `qu` is not `"requests"` is ignored. Of several policies, the most constraining is reported: the
 *   smallest remaining per second until its reset (the smallest remaining when some reset is unknown).
 * - Legacy and X- values must be plain non-negative numbers (`12`, `1.5`); of a list (`100, 100;w=60`, or
 *   duplicates joined with `, `) the first item is read. Anything else in a field means that field is unknown.
 * - Epoch `X-RateLimit-Reset` values are measured against the response's `Date` when it is present and valid, so
 *   a server clock that is off does not move the reset.
 * - Remaining above the limit is inconsistent: the family is ignored. A reset further away than
 *   max(2 × window, 24 hours) is ignored (`resetAt` undefined, the rest kept); a reset in the past is `now`.
 * - A cached response (`Age` above 0) tells nothing about the quota now: the result is `undefined`.
 *
 * `parse` never throws and returns quickly when none of `ratelimit`, `ratelimit-remaining` and
 * `x-ratelimit-remaining` is present.
 *
 * @since 0.2.0
 */
import * as internal from "./internal/rateLimitHeaders.js"

/**
 * What the response says about the client's quota at the moment it was sent.
 *
 * @since 0.2.0
 * @category models
 */
export interface Quota {
  /** Requests left before the quota is exhausted (the most constraining policy). */
  readonly remaining: number
  /** Epoch milliseconds (of the `now` given) at which that policy's quota is replenished; undefined if unknown. */
  readonly resetAt: number | undefined
  /** The policy's quota per window and its window in milliseconds, when advertised. */
  readonly limit: number | undefined
  readonly windowMillis: number | undefined
  /** Which header family it came from. */
  readonly source: "draft" | "legacy" | "x-ratelimit"
}

/**
 * Reads the quota from response headers (lower-case names, as `@effect/platform`'s `Headers` are), relative to
 * `now` (epoch milliseconds of the clock the result is used with). `undefined` means "no usable information".
 *
 * @example
 * ```ts
 * import { RateLimitHeaders } from "@bulwark/http-client"
 *
 * const now = Date.parse("2026-11-25T10:00:00Z")
 *
 * RateLimitHeaders.parse({
 *   "ratelimit-policy": "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400",
 *   "ratelimit": "\"burst\";r=50;t=30, \"daily\";r=20;t=3600"
 * }, now)
 * // { remaining: 20, resetAt: now + 3_600_000, limit: 1000, windowMillis: 86_400_000, source: "draft" }
 *
 * RateLimitHeaders.parse({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "12" }, now)
 * // { remaining: 0, resetAt: now + 12_000, limit: undefined, windowMillis: undefined, source: "x-ratelimit" }
 *
 * RateLimitHeaders.parse({ "x-ratelimit-remaining": "soon" }, now) // undefined
 * ```
 *
 * @since 0.2.0
 * @category parsing
 */
export const parse: (headers: Readonly<Record<string, string | undefined>>, now: number) => Quota | undefined =
  internal.parse
