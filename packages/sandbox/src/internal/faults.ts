import type { Faults } from "./config.js"
import * as Prng from "./prng.js"

/** @internal */
export type FaultKind =
  | "latency"
  | "serverError"
  | "unavailable"
  | "hang"
  | "stall"
  | "resetBefore"
  | "resetAfter"
  | "scalingUp"
  | "outage"
  | "tokenEndpoint"

/** @internal */
export const faultKinds: ReadonlyArray<FaultKind> = [
  "latency",
  "serverError",
  "unavailable",
  "hang",
  "stall",
  "resetBefore",
  "resetAfter",
  "scalingUp",
  "outage",
  "tokenEndpoint"
]

/** @internal */
export type Fault =
  | { readonly _tag: "None" }
  | { readonly _tag: "ServerError"; readonly status: 500 | 502 | 503 | 504; readonly html: boolean }
  | { readonly _tag: "Unavailable"; readonly kind: "unavailable" | "scalingUp" | "outage"; readonly retryAfter: number }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "ResetBefore" }
  | { readonly _tag: "ResetAfter" }

/** @internal */
export interface Decision {
  readonly latencyMs: number
  readonly fault: Fault
}

const none: Fault = { _tag: "None" }
const hang: Fault = { _tag: "Hang" }
const stall: Fault = { _tag: "Stall" }
const resetBefore: Fault = { _tag: "ResetBefore" }
const resetAfter: Fault = { _tag: "ResetAfter" }

/**
 * The window active `elapsedMs` after the faults were set, if any (the first listed wins).
 *
 * @internal
 */
export const activeWindow = (faults: Faults, elapsedMs: number): Faults["windows"][number] | undefined => {
  for (const window of faults.windows) {
    let t = elapsedMs / 1000 - window.startAfterSeconds
    if (t < 0) continue
    if (window.repeatEverySeconds !== undefined) t = t % window.repeatEverySeconds
    if (t < window.durationSeconds) return window
  }
  return undefined
}

/**
 * Decides the faults of the `index`-th resource request. Always draws the same six numbers, so a decision
 * depends only on the seed, the index, the faults and the time since the faults were set.
 *
 * @internal
 */
export const decide = (faults: Faults, seed: number, index: number, elapsedMs: number): Decision => {
  const uniform = Prng.derive(seed, Prng.streams.faults, index)
  const uLatency = uniform()
  const uLatencyAmount = uniform()
  const uWindow = uniform()
  const uFault = uniform()
  const uStatus = uniform()
  const uHtml = uniform()

  const latency = faults.latency
  const latencyMs = uLatency < latency.probability
    ? latency.minMs + Math.floor(uLatencyAmount * (latency.maxMs - latency.minMs + 1))
    : 0

  const window = activeWindow(faults, elapsedMs)
  if (window !== undefined && uWindow < window.probability) {
    return {
      latencyMs,
      fault: {
        _tag: "Unavailable",
        kind: window.kind === "outage" ? "outage" : "scalingUp",
        retryAfter: window.retryAfterSeconds
      }
    }
  }

  let threshold = faults.serverError.probability
  if (uFault < threshold) {
    const statuses = faults.serverError.statuses
    const status = statuses[Math.min(statuses.length - 1, Math.floor(uStatus * statuses.length))]!
    return { latencyMs, fault: { _tag: "ServerError", status, html: uHtml < faults.serverError.htmlRatio } }
  }
  threshold += faults.unavailable.probability
  if (uFault < threshold) {
    return {
      latencyMs,
      fault: { _tag: "Unavailable", kind: "unavailable", retryAfter: faults.unavailable.retryAfterSeconds }
    }
  }
  threshold += faults.hang
  if (uFault < threshold) return { latencyMs, fault: hang }
  threshold += faults.stall
  if (uFault < threshold) return { latencyMs, fault: stall }
  threshold += faults.resetBefore
  if (uFault < threshold) return { latencyMs, fault: resetBefore }
  threshold += faults.resetAfter
  if (uFault < threshold) return { latencyMs, fault: resetAfter }
  return { latencyMs, fault: none }
}

/**
 * Whether the `index`-th token request gets a 503.
 *
 * @internal
 */
export const decideToken = (faults: Faults, seed: number, index: number): boolean =>
  faults.tokenEndpoint.unavailable > 0 &&
  Prng.derive(seed, Prng.streams.tokenFaults, index)() < faults.tokenEndpoint.unavailable

/** @internal */
export const gatewayPage = (status: 500 | 502 | 503 | 504): string => {
  const title = status === 500
    ? "500 Internal Server Error"
    : status === 502
    ? "502 Bad Gateway"
    : status === 503
    ? "503 Service Temporarily Unavailable"
    : "504 Gateway Time-out"
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    `<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
}
