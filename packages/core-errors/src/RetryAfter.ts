/**
 * Parsing of the `Retry-After` response header (RFC 9110 §10.2.3).
 *
 * The header is either `delta-seconds` (`120`) or an HTTP-date in one of the three forms RFC 9110
 * requires recipients to accept:
 *
 * | form | example |
 * |---|---|
 * | IMF-fixdate | `Sun, 06 Nov 1994 08:49:37 GMT` |
 * | obsolete RFC 850 | `Sunday, 06-Nov-94 08:49:37 GMT` |
 * | obsolete asctime | `Sun Nov  6 08:49:37 1994` |
 *
 * Rules: surrounding whitespace is ignored; month and day names are matched case-insensitively;
 * a date in the past means zero; a `delta-seconds` above 2^31 is treated as 2^31 (as RFC 9110 asks)
 * and every result is capped (default 24 hours) so a misbehaving server cannot park a client for
 * years. Negative numbers, fractions, signs, dates that do not exist (`31 Feb`, `25:00:00`) and
 * anything else unparsable yield `Option.none()`: the header is then ignored, never trusted.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as internal from "./internal/retryAfter.js"

/**
 * The cap applied when none is given: 24 hours.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCap: Duration.Duration = internal.defaultCap

/**
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /** Results above this are clamped to it. Default: {@link defaultCap} (24 hours). */
  readonly cap?: Duration.DurationInput | undefined
}

/**
 * Parses a `Retry-After` value relative to `now` (epoch milliseconds or a `Date`).
 *
 * @example
 * ```ts
 * import { RetryAfter } from "@bulwark/core-errors"
 * import { Duration, Option } from "effect"
 *
 * const now = Date.parse("2026-11-25T10:00:00Z")
 * RetryAfter.parse("120", now) // Option.some(Duration.seconds(120))
 * RetryAfter.parse("Wed, 25 Nov 2026 10:00:30 GMT", now) // Option.some(Duration.seconds(30))
 * RetryAfter.parse("Wed, 25 Nov 2026 09:00:00 GMT", now) // Option.some(Duration.zero): a past date
 * RetryAfter.parse("1.5", now) // Option.none()
 * RetryAfter.parse("999999", now, { cap: "1 hour" }) // Option.some(Duration.hours(1))
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  value: string,
  now: number | Date,
  options?: ParseOptions
): Option.Option<Duration.Duration> => internal.parse(value, now, options?.cap ?? internal.defaultCap)

/**
 * Reads the `retry-after` header from a header record (lower-case keys, as `@effect/platform`'s
 * `Headers` are) and parses it relative to `now`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromHeaders = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number | Date,
  options?: ParseOptions
): Option.Option<Duration.Duration> => {
  const value = headers["retry-after"]
  return value === undefined ? Option.none() : parse(value, now, options)
}

/**
 * Parses a `Retry-After` value relative to the current time of Effect's `Clock`, so `TestClock`
 * controls it in tests.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNow = (
  value: string,
  options?: ParseOptions
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(Clock.currentTimeMillis, (now) => parse(value, now, options))

/**
 * Parses an HTTP-date in any of the three RFC 9110 forms to epoch milliseconds, or `undefined`.
 * Two-digit RFC 850 years are resolved relative to `now` (RFC 9110 §5.6.7).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseHttpDate = (value: string, now: number | Date = Date.now()): number | undefined =>
  internal.parseHttpDate(value.trim(), internal.toMillis(now))
