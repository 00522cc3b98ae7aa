import type { AccessToken } from "@bulwark/auth-token"
import type { ApiError } from "@bulwark/core-errors"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as GlobalValue from "effect/GlobalValue"
import type { RouteState } from "./routes.js"

/**
 * What the stages of one logical call share. The retry stage creates it; inner stages (the bearer
 * stage records the token it sent, so a 401 invalidates exactly that token) write to it. It is a
 * mutable object in a FiberRef so that fibers forked by timeouts see the same instance.
 */
export interface CallState {
  /** 1 for the first attempt. */
  attempt: number
  /** The token sent with the latest attempt, if any. */
  tokenUsed: AccessToken.AccessToken | undefined
  /** Whether the token was already refreshed once for this call. */
  refreshed: boolean
  /** Why the latest attempt was made: `initial`, or the reason of the retry. */
  reason: RetryReason
  /** The call's deadline (epoch ms of the Clock) and its budget, when a deadline stage set one. */
  deadline: { readonly at: number; readonly budget: Duration.Duration } | undefined
  /** Per-call overrides of the configured deadline and attempt timeout (`RequestOptions`). */
  deadlineOverride: Duration.Duration | undefined
  attemptTimeoutOverride: Duration.Duration | undefined
  /** When the call's first attempt reached the traffic controller: its place in an origin's queue. */
  startedAt: number | undefined
  /** Attempts made again after the origin said "not now" (429, or 503 with Retry-After). */
  rateLimitWaits: number
  /**
   * The current attempt's own `AbortController`, when its timeout ends it by aborting the request instead of
   * interrupting a fiber; the transport sends the request with its signal.
   */
  abort: AbortController | undefined
  /**
   * The route rule the call matched, once, at the top of the pipeline (`undefined`: none, or no rules): the
   * stages read its overrides here.
   */
  route: RouteState | undefined
}

/** Why an attempt was made. */
export type RetryReason = "initial" | ApiError.RetryReason

/** @internal */
export const currentCallState: FiberRef.FiberRef<CallState | undefined> = GlobalValue.globalValue(
  Symbol.for("@bulwark/http-client/currentCallState"),
  () => FiberRef.unsafeMake<CallState | undefined>(undefined)
)

/** @internal */
export const makeCallState = (): CallState => ({
  attempt: 1,
  tokenUsed: undefined,
  refreshed: false,
  reason: "initial",
  deadline: undefined,
  deadlineOverride: undefined,
  attemptTimeoutOverride: undefined,
  startedAt: undefined,
  rateLimitWaits: 0,
  abort: undefined,
  route: undefined
})

export const withState = <A, E, R>(f: (state: CallState) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentCallState), (existing) => {
    if (existing !== undefined) return f(existing)
    const state = makeCallState()
    return Effect.locally(f(state), currentCallState, state)
  })
