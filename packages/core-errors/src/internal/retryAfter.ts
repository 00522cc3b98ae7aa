import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** RFC 9110 §10.2.3: a delta-seconds larger than 2^31 is treated as 2^31. */
const MAX_DELTA_SECONDS = 2_147_483_648

/** @internal */
export const defaultCap: Duration.Duration = Duration.hours(24)

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11
}

const SHORT_DAY = "(?:mon|tue|wed|thu|fri|sat|sun)"
const LONG_DAY = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
const MONTH = "(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})"

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${SHORT_DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, "i")
// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, "i")
// obsolete asctime: Sun Nov  6 08:49:37 1994 (day is space-padded)
const ASCTIME = new RegExp(`^${SHORT_DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, "i")

const DELTA_SECONDS = /^\d+$/

/**
 * Builds an epoch-millis instant from calendar fields, or `undefined` when the fields do not name
 * a real instant (30 February, 25:00:00, ...). `Date.UTC` silently rolls those over, so the result
 * is checked against the input.
 */
const utcMillis = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number
): number | undefined => {
  // RFC 9110 allows a leap second (60) in the grammar; treat it as the last second of the minute.
  const sec = second === 60 ? 59 : second
  if (hour > 23 || minute > 59 || sec > 59 || day < 1 || day > 31) return undefined
  const date = new Date(Date.UTC(year, month, day, hour, minute, sec))
  // Date.UTC maps years 0..99 to 1900..1999; set the full year explicitly.
  date.setUTCFullYear(year, month, day)
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month || date.getUTCDate() !== day) {
    return undefined
  }
  return date.getTime()
}

/**
 * RFC 9110 §5.6.7: a two-digit year that appears to be more than 50 years in the future is the most
 * recent past year with the same last two digits. So the year is the latest one with those digits
 * that is at most 50 years ahead of now.
 */
const rfc850Year = (twoDigits: number, nowMillis: number): number => {
  const currentYear = new Date(nowMillis).getUTCFullYear()
  const century = Math.floor(currentYear / 100) * 100
  let year = century + twoDigits
  if (year > currentYear + 50) year -= 100
  else if (year + 100 <= currentYear + 50) year += 100
  return year
}

/** @internal */
export const parseHttpDate = (input: string, nowMillis: number): number | undefined => {
  let match = IMF_FIXDATE.exec(input)
  if (match !== null) {
    const [, day, month, year, hh, mm, ss] = match
    return utcMillis(Number(year), MONTHS[month!.toLowerCase()]!, Number(day), Number(hh), Number(mm), Number(ss))
  }
  match = RFC_850.exec(input)
  if (match !== null) {
    const [, day, month, year, hh, mm, ss] = match
    return utcMillis(
      rfc850Year(Number(year), nowMillis),
      MONTHS[month!.toLowerCase()]!,
      Number(day),
      Number(hh),
      Number(mm),
      Number(ss)
    )
  }
  match = ASCTIME.exec(input)
  if (match !== null) {
    const [, month, day, hh, mm, ss, year] = match
    return utcMillis(
      Number(year),
      MONTHS[month!.toLowerCase()]!,
      Number(day!.trim()),
      Number(hh),
      Number(mm),
      Number(ss)
    )
  }
  return undefined
}

/** @internal */
export const toMillis = (now: number | Date): number => typeof now === "number" ? now : now.getTime()

/** @internal */
export const parse = (
  value: string,
  now: number | Date,
  cap: Duration.DurationInput = defaultCap
): Option.Option<Duration.Duration> => {
  // Header values may carry optional whitespace around them (RFC 9110 §5.5).
  const input = value.trim()
  if (input.length === 0 || input.length > 64) return Option.none()
  const capMillis = Duration.toMillis(Duration.decode(cap))
  if (DELTA_SECONDS.test(input)) {
    // Long digit strings overflow to Infinity or lose precision; RFC 9110 clamps them to 2^31.
    const seconds = input.length > 10 ? MAX_DELTA_SECONDS : Math.min(Number(input), MAX_DELTA_SECONDS)
    return Option.some(Duration.millis(Math.min(seconds * 1000, capMillis)))
  }
  const nowMillis = toMillis(now)
  if (!Number.isFinite(nowMillis)) return Option.none()
  const at = parseHttpDate(input, nowMillis)
  if (at === undefined) return Option.none()
  // A date in the past means "retry now".
  const delta = Math.max(0, at - nowMillis)
  return Option.some(Duration.millis(Math.min(delta, capMillis)))
}
