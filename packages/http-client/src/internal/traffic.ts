/**
 * The per-origin traffic controller's decisions: plain functions over a plain state and a clock reading,
 * so they are cheap on the hot path, exact in virtual time, and portable. The Effect shell (queue, timer,
 * metrics) is `trafficControl.ts`.
 *
 * What it owns: every "not now" an origin says. `Retry-After` (429 or 503) is a floor nothing is sent
 * before; rate-limit headers set the pace that spends the advertised quota without reaching 0; without
 * headers the pace is learned from 429s (a sample per 429 episode, a bounded decrease, a slow increase while
 * demand is limited by the pace); a 503 with `Retry-After` puts the origin in "outage" mode, where one probe
 * at a time finds its end and the rest wait; after any pause, calls are released one interval apart.
 *
 * @internal
 */
import type { Quota } from "../RateLimitHeaders.js"

/** @internal */
export interface Settings {
  /** The share of a learned or advertised rate that is used (the rest absorbs jitter in the estimates). */
  readonly headroom: number
  /** The share of an advertised quota that is never spent, so `remaining` does not reach 0 by accident. */
  readonly reserve: number
  /** A configured ceiling: never faster than this many requests per millisecond (0: none). */
  readonly maxRate: number
  /** Pause after a bare 429 (no `Retry-After`, no headers) while nothing is known of the rate. */
  readonly bareCooldownMillis: number
  /**
   * The slowest pace learning may settle on (requests per ms): a handful of 429s at low traffic must not
   * starve an origin. Slower quotas are honoured through their `Retry-After`, which is a floor anyway.
   */
  readonly minRate: number
  /** The step back from a learned pace that was refused. */
  readonly backoff: number
  /** Growth of a learned rate per twenty clean windows while calls queue behind it, once converged. */
  readonly increase: number
  /** The first probe's growth after a sample or a refusal; it doubles every clean window until a refusal. */
  readonly probeStep: number
  /**
   * The search for the rate stops once the refused pace is within this factor of the proven one: each probe
   * over the edge costs a whole `Retry-After` of silence, more than a few percent of pace gains back soon.
   */
  readonly convergedWithin: number
  /** Backoff of outage probes that fail without saying when to come back. */
  readonly probeBackoffBaseMillis: number
  readonly probeBackoffCapMillis: number
  /** After an outage, the pace starts at this interval and halves every second of success. */
  readonly recoveryIntervalMillis: number
}

/** @internal */
export const defaultSettings: Settings = {
  headroom: 0.98,
  reserve: 0.015,
  maxRate: 0,
  minRate: 1 / 1000,
  bareCooldownMillis: 500,
  increase: 1.01,
  probeStep: 0.1,
  convergedWithin: 1.1,
  backoff: 0.9,
  probeBackoffBaseMillis: 1000,
  probeBackoffCapMillis: 30_000,
  recoveryIntervalMillis: 50
}

/** @internal */
export interface Origin {
  /** Nothing is sent before this instant (epoch ms): the latest `Retry-After` or reset. */
  notBefore: number
  /** Milliseconds between sends; 0 sends as fast as calls come. */
  interval: number
  /** The pace a recovery ramps back to (the learned or configured interval). */
  targetInterval: number
  /** GCRA theoretical arrival time: the next send at the pace is due at `tat - (burst - 1) * interval`. */
  tat: number
  /** Sends allowed back to back at the pace (1 right after a pause: no herd). */
  burst: number
  /** Bumped by every pause; an answer to a request sent in an older epoch does not teach anything new. */
  epoch: number
  /** Requests sent and not yet answered. */
  inflight: number
  /** The learned sustainable rate (requests per ms), 0 while unknown. */
  estimate: number
  /** Start of the current learning episode (the end of the latest pause), and its accepted requests. */
  episodeStart: number
  episodeAccepts: number
  /** The learned length of a quota window (ms between two 429 episodes), 0 while unknown. */
  window: number
  /** Samples of the rate taken from unpaced episodes. */
  samples: number
  lastIncreaseAt: number
  /** Requests accepted since `lastIncreaseAt`: what a pace achieved, which is less than the pace when the client is the limit. */
  periodAccepts: number
  /** The fastest learned pace (requests per ms) that ran a whole window, calls queued, without a 429; 0: none. */
  proven: number
  /** The slowest learned pace that was refused; `Infinity` while none was. */
  refused: number
  /** The next probe's growth (0.05: ×1.05); it doubles after every clean window until a refusal. */
  step: number
  /** Windows between two creeps once converged: 20, doubled by every creep that was refused. */
  creepWindows: number
  /** Calls waited behind the pace since the last increase: the pace, not demand, is the limit. */
  demandLimited: boolean
  /** The pace comes from the API's rate-limit headers. */
  advertised: boolean
  /**
   * The reset of the window in which the headers were first seen: until then, what the window has left is
   * spread to its reset (requests sent before the pace was known spent part of it).
   */
  firstWindowEnd: number
  /** A 503 (or 429) said when to come back and the origin is in outage mode: one probe at a time. */
  outage: boolean
  probing: boolean
  /** When the probe out went (a probe unanswered for `probeTimeoutMillis`, e.g. its replica died, is given up). */
  probeSentAt: number
  probeFailures: number
  /** Recovering from an outage: the interval halves every second until it reaches `targetInterval`. */
  recovering: boolean
  lastRampAt: number
}

/** @internal */
export const makeOrigin = (settings: Settings): Origin => {
  const floor = settings.maxRate > 0 ? 1 / settings.maxRate : 0
  return {
    notBefore: 0,
    interval: floor,
    targetInterval: floor,
    tat: 0,
    burst: 1,
    epoch: 0,
    inflight: 0,
    estimate: 0,
    episodeStart: -1,
    episodeAccepts: 0,
    window: 0,
    samples: 0,
    lastIncreaseAt: 0,
    periodAccepts: 0,
    proven: 0,
    refused: Infinity,
    step: settings.probeStep,
    creepWindows: 20,
    demandLimited: false,
    advertised: false,
    firstWindowEnd: 0,
    outage: false,
    probing: false,
    probeSentAt: 0,
    probeFailures: 0,
    recovering: false,
    lastRampAt: 0
  }
}

/**
 * A probe unanswered for this long no longer holds the origin: in a fleet sharing the state, the replica that
 * sent it may have died. (In one process every probe is answered: an interrupted attempt reports "not-sent".)
 */
const probeTimeoutMillis = 30_000

/**
 * Pauses the origin until `until` (never shortening a pause): nothing goes before it, and after it the first
 * request goes at its end and the rest one interval apart (no herd).
 */
export const pausedUntil = (origin: Origin, until: number): void => {
  origin.notBefore = Math.max(origin.notBefore, until)
  origin.burst = 1
  origin.tat = Math.max(origin.tat, origin.notBefore)
}

/** When the next request may be sent: `Infinity` while an outage probe is out. */
export const eligibleAt = (origin: Origin, now: number): number => {
  if (origin.outage) {
    const probeOut = origin.probing && now - origin.probeSentAt < probeTimeoutMillis
    return probeOut ? Infinity : Math.max(now, origin.notBefore)
  }
  const paced = origin.interval > 0 ? origin.tat - (origin.burst - 1) * origin.interval : 0
  return Math.max(now, origin.notBefore, paced)
}

/** A ticket: what the controller needs to know when the answer comes back. */
export interface Ticket {
  readonly epoch: number
  readonly probe: boolean
  readonly sentAt: number
}

/** Takes the slot at `at` (≥ `eligibleAt`). */
export const take = (origin: Origin, at: number): Ticket => {
  origin.inflight++
  // The first learning episode starts with the first request.
  if (origin.episodeStart < 0) origin.episodeStart = at
  const probe = origin.outage
  if (probe) {
    origin.probing = true
    origin.probeSentAt = at
  }
  // A send a little late (a timer fires a millisecond after its slot) keeps the schedule: up to half an
  // interval of lateness is made up by the next slot instead of shifting every later one. Any window of the
  // quota still holds at most one more send than the pace allows, which the reserve absorbs.
  if (origin.interval > 0) origin.tat = Math.max(origin.tat, at - origin.interval / 2) + origin.interval
  return { epoch: origin.epoch, probe, sentAt: at }
}

/**
 * When the `position`-th waiter (0 = head) would be released, were nothing to change: the prediction a
 * call's deadline is checked against. In an outage only the probe's time is known; the rest follow it at the
 * recovery pace.
 */
export const etaOf = (origin: Origin, now: number, position: number, settings: Settings): number => {
  if (!origin.outage && !origin.recovering) return eligibleAt(origin, now) + position * origin.interval
  const first = origin.outage
    ? Math.max(now, origin.notBefore) + (origin.probing ? settings.probeBackoffBaseMillis : 0)
    : eligibleAt(origin, now)
  // After an outage the queue drains on a ramp: the interval starts at `recoveryIntervalMillis` and halves
  // every second, so second k releases 2^k times as many as the first, and position p goes out after
  // log2(p / perSecond + 1) seconds — not p intervals, which would refuse calls that will make it. Never
  // faster than the pace the ramp ends at.
  const interval = origin.outage ? settings.recoveryIntervalMillis : origin.interval
  const perSecond = 1000 / interval
  const ramp = 1000 * Math.log2(position / perSecond + 1)
  return first + Math.max(ramp, position * origin.targetInterval)
}

const setPace = (origin: Origin, interval: number, settings: Settings) => {
  const floor = settings.maxRate > 0 ? 1 / settings.maxRate : 0
  const next = Math.max(interval, floor)
  origin.targetInterval = next
  if (!origin.recovering) origin.interval = next
}

/** What a response says, as far as the controller cares. */
export interface Answer {
  /** 2xx/3xx/4xx other than 429: the origin accepted the request (it was not shed). */
  readonly kind: "accepted" | "rate-limited" | "unavailable" | "failed" | "not-sent"
  /** `Retry-After` in milliseconds, if the response had one. */
  readonly retryAfterMillis?: number | undefined
  /** What the rate-limit headers say, if any. */
  readonly quota?: Quota | undefined
}

/**
 * Applies an answer. Returns whether the pace changed (the shell reports it as a span event and wakes the
 * queue).
 */
export const onAnswer = (origin: Origin, ticket: Ticket, answer: Answer, now: number, settings: Settings): boolean => {
  origin.inflight = Math.max(0, origin.inflight - 1)
  // Whatever the probe's answer, it is back: the next probe may go when the origin allows.
  if (ticket.probe) origin.probing = false
  const before = origin.interval
  const beforeNotBefore = origin.notBefore
  if (answer.retryAfterMillis !== undefined) {
    // A floor from every answer that carries one, whatever its epoch: nothing goes out before it.
    origin.notBefore = Math.max(origin.notBefore, now + answer.retryAfterMillis)
  }
  switch (answer.kind) {
    case "accepted":
      accepted(origin, ticket, answer.quota, now, settings)
      break
    case "rate-limited":
      rateLimited(origin, ticket, answer, now, settings)
      break
    case "unavailable":
      unavailable(origin, ticket, answer, now, settings)
      break
    case "failed":
      if (ticket.probe) probeFailed(origin, now, settings)
      break
    case "not-sent":
      // Nothing reached the origin (a breaker refused, the token could not be fetched): no news.
      break
  }
  if (origin.notBefore > beforeNotBefore) pausedUntil(origin, origin.notBefore)
  return origin.interval !== before || origin.notBefore !== beforeNotBefore
}

const accepted = (origin: Origin, ticket: Ticket, quota: Quota | undefined, now: number, settings: Settings) => {
  if (ticket.probe || origin.outage) {
    // The probe came through: the outage is over. Release the queue at the recovery pace, ramping up.
    origin.outage = false
    origin.probing = false
    origin.probeFailures = 0
    origin.recovering = true
    origin.lastRampAt = now
    origin.interval = Math.max(origin.targetInterval, settings.recoveryIntervalMillis)
    origin.burst = 1
    origin.tat = now
  } else if (origin.recovering && now - origin.lastRampAt >= 1000) {
    origin.lastRampAt = now
    origin.interval = origin.interval / 2
    // Unpaced (a target of 0) ends the ramp at 1 ms rather than halving toward 0 for a quarter of an hour.
    if (origin.interval <= Math.max(origin.targetInterval, 1)) {
      origin.interval = origin.targetInterval
      origin.recovering = false
    }
  }
  if (ticket.epoch === origin.epoch) origin.episodeAccepts++
  origin.periodAccepts++
  if (quota !== undefined) {
    advertisedPace(origin, quota, now, settings)
    return
  }
  // Probing up a learned rate, only while calls queue behind the pace. Each window that passes clean proves
  // the pace; the next probe grows by a step that doubles every clean window (×1.1, ×1.2, ×1.4, ...: a slow
  // first sample, such as a token bucket's, is left behind in a few windows), but never past the middle
  // between what was proven and what was refused. Once the two are within 10% the pace has converged and only
  // creeps up (×1.01 every twenty windows), because an overshoot costs a whole `Retry-After` of silence.
  if (origin.estimate > 0 && !origin.advertised && origin.demandLimited) {
    const window = origin.window > 0 ? origin.window : 1_000
    const converged = () => origin.proven > 0 && origin.refused <= origin.proven * settings.convergedWithin
    // Two windows: a pace proven over one could have straddled two quota windows, each partly.
    const period = converged() ? Math.max(5_000, origin.creepWindows * window) : Math.max(1_000, 2 * window)
    if (now - origin.lastIncreaseAt >= period) {
      // What the window proves is the rate actually accepted: a pace the client itself could not keep up
      // (a busy event loop, slow answers) proves nothing above what it achieved, and is not raised further.
      const achieved = origin.periodAccepts / (now - origin.lastIncreaseAt)
      const paceLimited = achieved >= 0.95 * origin.estimate
      const creep = converged()
      origin.proven = Math.max(origin.proven, Math.min(origin.estimate, achieved))
      if (origin.estimate >= origin.refused) origin.refused = Infinity // the quota grew: what was refused passed
      if (!paceLimited) {
        // Not limited by the pace after all: nothing to learn by raising it.
      } else if (creep) {
        origin.estimate *= settings.increase
      } else if (converged()) {
        // This window proved the pace within 3% of the refused one: stay (creeping from the next period on).
      } else {
        // Far below a refused pace (more than 10%), bisect geometrically: a token bucket's first sample can be a
        // fifth of its rate, and growing from there in small steps would take a minute.
        const next = origin.estimate * (1 + origin.step)
        origin.estimate = origin.refused === Infinity
          ? next
          : origin.refused > 1.1 * origin.estimate
          ? Math.max(next, Math.sqrt(origin.estimate * origin.refused))
          : Math.min(next, (origin.estimate + origin.refused) / 2)
        origin.step = Math.min(1, origin.step * 2)
      }
      origin.lastIncreaseAt = now
      origin.periodAccepts = 0
      origin.demandLimited = false
      setPace(origin, 1 / origin.estimate, settings)
    }
  }
}

/**
 * The pace that spends what is left of an advertised quota evenly until its reset, keeping a small reserve
 * and counting requests still in flight (their answers will lower `remaining` further).
 */
const advertisedPace = (origin: Origin, quota: Quota, now: number, settings: Settings) => {
  if (!origin.advertised) origin.firstWindowEnd = quota.resetAt ?? 0
  origin.advertised = true
  if (quota.limit !== undefined && quota.limit > 0 && quota.windowMillis !== undefined && quota.windowMillis > 0) {
    // The policy is known: pace at its long-run rate less the reserve. Resets are given in whole seconds, so
    // spreading `remaining` until a rounded-up reset would run slower than the quota; at this pace a window
    // never receives more than its quota, and `remaining` reaching 0 at a window's last request is no
    // reason to stop (the next request falls in the next window; a 429 would still set a floor).
    // At most the quota less the reserve, and less half a request: a paced send may be up to half an interval
    // early (see `take`), which a small quota (10 a second) must have room for too.
    let interval = quota.windowMillis / Math.min(quota.limit * (1 - settings.reserve), quota.limit - 0.5)
    if (now < origin.firstWindowEnd && quota.resetAt !== undefined) {
      // Except in the first window, which the requests sent before the pace was known spent unpaced: what it
      // has left (less what is in flight) is spread until its reset, or the origin waits for the reset.
      const left = quota.remaining - origin.inflight
      if (left <= 0) origin.notBefore = Math.max(origin.notBefore, quota.resetAt)
      else interval = Math.max(interval, (quota.resetAt - now) / left)
    }
    setPace(origin, interval, settings)
    return
  }
  // Only a count and a reset: spend what is left evenly until the reset, counting requests in flight.
  const reserve = Math.floor(settings.reserve * quota.remaining)
  const left = quota.remaining - reserve - origin.inflight
  if (quota.resetAt === undefined) return
  if (left <= 0) {
    origin.notBefore = Math.max(origin.notBefore, quota.resetAt)
    return
  }
  setPace(origin, Math.max(1, quota.resetAt - now) / left, settings)
}

const rateLimited = (origin: Origin, ticket: Ticket, answer: Answer, now: number, settings: Settings) => {
  if (answer.quota !== undefined) advertisedPace(origin, answer.quota, now, settings)
  if (ticket.epoch !== origin.epoch) return // a 429 to a request sent before the latest pause: known news
  origin.epoch++
  if (answer.retryAfterMillis !== undefined && answer.retryAfterMillis >= 5_000 && answer.quota === undefined) {
    // A long wait is load shedding rather than a quota window: treat it as an outage (one probe at a time).
    enterOutage(origin)
    return
  }
  // A sample of the sustainable rate: what was accepted since the end of the last pause, over the time to
  // the next reopening. Learned only without headers (they say it exactly).
  let reopen = answer.retryAfterMillis !== undefined ? now + answer.retryAfterMillis : now
  if (!origin.advertised) {
    // Without a Retry-After the pause is the client's own choice, so the sample counts only the time it was
    // sending; with one, the time to the reopening (when the quota refills).
    const span = (answer.retryAfterMillis === undefined ? now : reopen) - origin.episodeStart
    const accepted = origin.episodeAccepts / Math.max(1, now - origin.episodeStart)
    const paced = origin.estimate > 0 && origin.interval > 0 && !origin.recovering
    if (paced) {
      // Paced and still refused: the pace is too fast (a probe went over, or the quota is lower than
      // thought). Go back to the fastest pace that was proven below it; without one, step back from the
      // slower of the pace used and, after a bare 429 (the client's own short pause, so the episode was spent
      // sending at the limit), the rate actually accepted since the last pause ended.
      const pace = 1 / origin.interval
      // (Nothing accepted since the last pause is no measurement: the pace alone steps back.)
      const measured = answer.retryAfterMillis === undefined && accepted > 0 ? accepted : Infinity
      // A creep that was refused: the quota has not grown, so the next creep waits twice as long.
      if (origin.proven > 0 && origin.refused <= origin.proven * settings.convergedWithin && pace > origin.proven) {
        origin.creepWindows = Math.min(320, origin.creepWindows * 2)
      }
      origin.refused = Math.min(origin.refused, pace)
      if (origin.proven >= pace) origin.proven = 0 // what was proven no longer holds: the quota fell
      origin.estimate = origin.proven > 0
        ? Math.min(origin.proven, measured)
        : Math.min(origin.estimate, pace, measured) * settings.backoff
      origin.step = settings.probeStep
    } else if (origin.episodeAccepts >= 3 && span > 0 && origin.episodeStart >= 0) {
      // Unpaced: a sample of the quota's rate. With a Retry-After it is a lower bound (the quota refilled no
      // later than the reopening), so of the first two the larger is kept: the first is often slow (cold
      // connections, a window already partly spent), the second starts right after a window's end. Later
      // ones (after an outage) decrease it by at most 30%.
      origin.samples++
      const boundFromBelow = answer.retryAfterMillis !== undefined && origin.samples <= 2
      // A bound from below needs little headroom: 1%, for the half interval a paced send may be early by.
      const sample = (origin.episodeAccepts / span) * (boundFromBelow ? 0.99 : settings.headroom)
      origin.estimate = boundFromBelow || origin.estimate === 0 ? Math.max(origin.estimate, sample) : Math.max(
        0.7 * origin.estimate,
        sample
      )
      origin.window = span
    } else if (origin.estimate > 0) {
      origin.estimate = 0.7 * origin.estimate
    }
    // After the first sample of a quota that says when it refills, stay unpaced for a second one.
    const sampleAgain = !paced && answer.retryAfterMillis !== undefined && origin.samples === 1
    if (origin.estimate > 0 && !sampleAgain) {
      origin.estimate = Math.max(origin.estimate, settings.minRate)
      setPace(origin, 1 / origin.estimate, settings)
    }
  }
  if (answer.retryAfterMillis === undefined) {
    // A bare 429: pause for two intervals of the new pace (the quota refills meanwhile), or a fixed cool-down
    // while nothing is known of the rate.
    reopen = now + (origin.interval > 0 ? Math.max(2 * origin.interval, 50) : settings.bareCooldownMillis)
  }
  origin.notBefore = Math.max(origin.notBefore, reopen)
  origin.episodeStart = origin.notBefore
  origin.episodeAccepts = 0
  origin.lastIncreaseAt = origin.notBefore
  origin.periodAccepts = 0
  origin.demandLimited = false
}

const enterOutage = (origin: Origin) => {
  origin.outage = true
  origin.probing = false
  origin.recovering = false
}

const unavailable = (origin: Origin, ticket: Ticket, answer: Answer, now: number, settings: Settings) => {
  if (answer.retryAfterMillis === undefined) {
    if (ticket.probe) probeFailed(origin, now, settings)
    return
  }
  // The origin said when to come back: stop every call from retrying on its own; one probe finds the end.
  if (ticket.epoch === origin.epoch || !origin.outage) origin.epoch++
  enterOutage(origin)
}

const probeFailed = (origin: Origin, now: number, settings: Settings) => {
  origin.probeFailures++
  const backoff = Math.min(
    settings.probeBackoffCapMillis,
    settings.probeBackoffBaseMillis * 2 ** Math.min(origin.probeFailures - 1, 16)
  )
  origin.notBefore = Math.max(origin.notBefore, now + backoff)
}

/** A call waited behind the pace: the next clean window may raise a learned rate. */
export const noteQueued = (origin: Origin): void => {
  origin.demandLimited = true
}

/** The current pace, in requests per second (0: unpaced), for the metric. */
export const ratePerSecond = (origin: Origin): number => origin.interval > 0 ? 1000 / origin.interval : 0

/**
 * The state as text, for a store a fleet shares (`TrafficStore`): every field but `inflight`, which counts this
 * process's own requests (a replica that dies must not leave the fleet's count high).
 */
export const serialize = (origin: Origin): string =>
  JSON.stringify(origin, (key, value) => key === "inflight" ? undefined : value === Infinity ? "Infinity" : value)

/**
 * Reads a stored state back over a local one (whose `inflight` it keeps), as of `now`. A stored state is
 * another process's (perhaps another version's, perhaps garbage): every field is checked for its type and its
 * range, and a field it lacks keeps the local value. Anything out of range — a pause or a slot more than a day
 * ahead, a negative or absurd interval, a burst below one — leaves the local state as it is and returns false:
 * the next decision then writes the local state over it, so a bad state heals instead of blocking the origin.
 */
export const deserializeInto = (text: string, local: Origin, now: number): boolean => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return false
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return false
  const record = parsed as Record<string, unknown>
  const next: Record<string, unknown> = {}
  for (const [key, current] of Object.entries(local)) {
    if (key === "inflight" || !(key in record)) continue
    const raw = record[key]
    const value = raw === "Infinity" && key === "refused" ? Infinity : raw
    if (typeof value !== typeof current) return false
    if (typeof value === "number" && !inRange(key, value, now)) return false
    next[key] = value
  }
  Object.assign(local, next)
  return true
}

const DAY = 86_400_000

/** What a stored number may be: finite (only `refused` may be infinite), and within what a decision can set. */
const inRange = (key: string, value: number, now: number): boolean => {
  if (Number.isNaN(value)) return false
  if (key === "refused") return value > 0
  if (!Number.isFinite(value) || value < 0) return key === "episodeStart" && value === -1
  switch (key) {
    case "notBefore":
    case "tat":
    case "firstWindowEnd":
    case "episodeStart":
    case "lastIncreaseAt":
    case "lastRampAt":
    case "probeSentAt":
      return value <= now + DAY
    case "interval":
    case "targetInterval":
    case "window":
      return value <= DAY
    case "burst":
      return value >= 1 && value <= 1_000
    case "estimate":
    case "proven":
      return value <= 1_000 // requests per millisecond
    case "step":
      return value <= 1
    case "creepWindows":
      return value >= 1 && value <= 1_000
    default:
      return true // counters
  }
}
