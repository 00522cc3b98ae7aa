/** Pure state machine of one key's breaker. Times are epoch ms of Effect's `Clock`. */

/** @internal */
export interface Settings {
  readonly failureRatio: number
  readonly minimumThroughput: number
  readonly windowMillis: number
  readonly buckets: number
  readonly breakMillis: number
  readonly maxBreakMillis: number
  readonly breakMultiplier: number
  readonly halfOpenProbes: number
  readonly maxRetryAfterMillis: number
}

interface Bucket {
  readonly start: number
  readonly successes: number
  readonly failures: number
}

/** @internal */
export type State =
  | { readonly _tag: "Closed"; readonly buckets: ReadonlyArray<Bucket>; readonly breaks: number }
  | { readonly _tag: "Open"; readonly until: number; readonly breaks: number; readonly openedAt: number }
  | { readonly _tag: "HalfOpen"; readonly probes: number; readonly breaks: number }

/** @internal */
export const initial: State = { _tag: "Closed", buckets: [], breaks: 0 }

/** @internal */
export type Permit = "normal" | "probe"

/** @internal */
export type Admission =
  | { readonly _tag: "Allowed"; readonly permit: Permit }
  | { readonly _tag: "Rejected"; readonly state: "open" | "half-open"; readonly retryAt: number }

/** @internal */
export type Outcome = "success" | "failure" | "ignored"

/** @internal */
export type Transition = "opened" | "half-opened" | "closed" | "reopened"

const bucketMillis = (s: Settings) => s.windowMillis / s.buckets

const live = (s: Settings, buckets: ReadonlyArray<Bucket>, now: number) =>
  buckets.filter((b) => b.start > now - s.windowMillis)

const breakFor = (s: Settings, breaks: number, retryAfterMillis: number | undefined) => {
  const base = Math.min(s.maxBreakMillis, s.breakMillis * Math.pow(s.breakMultiplier, breaks))
  // A 503's Retry-After may extend the break, within the caps.
  const asked = retryAfterMillis === undefined ? 0 : Math.min(retryAfterMillis, s.maxRetryAfterMillis)
  return Math.min(s.maxBreakMillis, Math.max(base, asked))
}

/** @internal */
export const admit = (s: Settings, state: State, now: number): readonly [Admission, State, Transition | undefined] => {
  switch (state._tag) {
    case "Closed":
      return [{ _tag: "Allowed", permit: "normal" }, state, undefined]
    case "Open":
      if (now < state.until) return [{ _tag: "Rejected", state: "open", retryAt: state.until }, state, undefined]
      return [
        { _tag: "Allowed", permit: "probe" },
        { _tag: "HalfOpen", probes: 1, breaks: state.breaks },
        "half-opened"
      ]
    case "HalfOpen":
      if (state.probes < s.halfOpenProbes) {
        return [{ _tag: "Allowed", permit: "probe" }, { ...state, probes: state.probes + 1 }, undefined]
      }
      // A probe is deciding; callers may come back shortly.
      return [
        { _tag: "Rejected", state: "half-open", retryAt: now + Math.min(1000, s.breakMillis) },
        state,
        undefined
      ]
  }
}

/** @internal */
export const record = (
  s: Settings,
  state: State,
  permit: Permit,
  outcome: Outcome,
  now: number,
  retryAfterMillis?: number
): readonly [State, Transition | undefined] => {
  if (permit === "probe") {
    if (state._tag !== "HalfOpen") return [state, undefined]
    if (outcome === "ignored") return [{ ...state, probes: Math.max(0, state.probes - 1) }, undefined]
    if (outcome === "success") return [{ _tag: "Closed", buckets: [], breaks: 0 }, "closed"]
    const breaks = state.breaks + 1
    return [
      { _tag: "Open", until: now + breakFor(s, state.breaks, retryAfterMillis), breaks, openedAt: now },
      "reopened"
    ]
  }
  // A late result of a call admitted while closed: it only counts while the breaker is still closed.
  if (state._tag !== "Closed" || outcome === "ignored") return [state, undefined]
  const start = Math.floor(now / bucketMillis(s)) * bucketMillis(s)
  const buckets = live(s, state.buckets, now)
  const last = buckets.at(-1)
  const updated = last !== undefined && last.start === start
    ? [
      ...buckets.slice(0, -1),
      {
        start,
        successes: last.successes + (outcome === "success" ? 1 : 0),
        failures: last.failures + (outcome === "failure" ? 1 : 0)
      }
    ]
    : [...buckets, { start, successes: outcome === "success" ? 1 : 0, failures: outcome === "failure" ? 1 : 0 }]
  let successes = 0
  let failures = 0
  for (const b of updated) {
    successes += b.successes
    failures += b.failures
  }
  const total = successes + failures
  if (outcome === "failure" && total >= s.minimumThroughput && failures / total >= s.failureRatio) {
    return [{
      _tag: "Open",
      until: now + breakFor(s, state.breaks, retryAfterMillis),
      breaks: state.breaks + 1,
      openedAt: now
    }, "opened"]
  }
  return [{ _tag: "Closed", buckets: updated, breaks: state.breaks }, undefined]
}

/** @internal */
export const window = (s: Settings, state: State, now: number) => {
  if (state._tag !== "Closed") return { successes: 0, failures: 0 }
  let successes = 0
  let failures = 0
  for (const b of live(s, state.buckets, now)) {
    successes += b.successes
    failures += b.failures
  }
  return { successes, failures }
}
