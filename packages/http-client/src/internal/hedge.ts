/**
 * Hedged reads, the Effect shell around the decisions of `hedging.ts`: send the first attempt; each time `delay`
 * passes with no attempt answered, ask whether a hedge may go (`mayHedge`: hedges left, time left, the retry
 * budget's share) and send one more; take the first success and cancel the rest. When every attempt in flight has
 * failed, the group fails at once with the latest failure (the retry stage above decides what comes next).
 */
import type { RetryBudget } from "@bulwark/retry-schedules"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { type CallState, currentCallState } from "./callState.js"
import * as Hedging from "./hedging.js"
import { spanWithoutValue } from "./spans.js"
import { type Client, plugin, type Stage } from "./stage.js"

/** @internal */
export interface RaceOptions<A, E, R> {
  /** Sends attempt `index` (0: the first, 1…: hedges). */
  readonly attempt: (index: number) => Effect.Effect<A, E, R>
  /** How long to wait for an answer before each hedge, in milliseconds. */
  readonly delayMillis: number
  readonly maxHedges: number
  /** Asked when a delay passes with no answer; `true` takes the hedge's share of the budget. */
  readonly mayHedge: (hedgesSent: number) => Effect.Effect<boolean, never, R>
  /**
   * The latency of the winner, and the time each cancelled attempt had run (a lower bound of its latency),
   * for the route's percentile.
   */
  readonly onLatency?: ((millis: number) => void) | undefined
  /** Called with the index of each attempt that was cancelled because another one won. */
  readonly onCancelled?: ((index: number) => void) | undefined
}

interface Running {
  fiber: Fiber.RuntimeFiber<void> | undefined
  readonly startedAt: number
  readonly index: number
  /** Answered, or cancelled. */
  finished: boolean
}

/** @internal */
export const race = <A, E, R>(options: RaceOptions<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const running: Array<Running> = []
    let inFlight = 0
    // The losers (and, when the caller gives up, every attempt) are cancelled in the background: the winner's
    // answer does not wait for their connections to close.
    const cancelRest = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.forEach(running, (entry) => {
        if (entry.finished || entry.fiber === undefined) return Effect.void
        entry.finished = true
        options.onLatency?.(now - entry.startedAt)
        options.onCancelled?.(entry.index)
        return Fiber.interruptFork(entry.fiber)
      }, { discard: true }))
    return Effect.gen(function*() {
      const done = yield* Deferred.make<A, E>()
      const start = (index: number) =>
        Effect.flatMap(Clock.currentTimeMillis, (startedAt) => {
          const entry: Running = { fiber: undefined, startedAt, index, finished: false }
          running.push(entry)
          inFlight += 1
          return options.attempt(index).pipe(
            Effect.exit,
            Effect.flatMap((exit) =>
              Effect.flatMap(Clock.currentTimeMillis, (now) => {
                if (entry.finished) return Effect.void
                entry.finished = true
                inFlight -= 1
                if (Exit.isSuccess(exit)) {
                  options.onLatency?.(now - startedAt)
                  return Deferred.done(done, exit)
                }
                // Every attempt in flight has failed: the group fails now, with the latest failure.
                return inFlight === 0 ? Deferred.done(done, exit) : Effect.void
              })
            ),
            Effect.asVoid,
            Effect.forkDaemon,
            Effect.map((fiber) => void (entry.fiber = fiber))
          )
        })
      yield* start(0)
      const delay = Duration.millis(Math.max(0, options.delayMillis))
      for (let hedges = 0; hedges < options.maxHedges; hedges++) {
        const answered = yield* Effect.timeoutOption(Deferred.await(done).pipe(Effect.exit), delay)
        if (Option.isSome(answered) || !(yield* options.mayHedge(hedges))) break
        yield* start(hedges + 1)
      }
      return yield* Deferred.await(done)
    }).pipe(Effect.onExit(() => cancelRest))
  })

/**
 * The hedge stage. It sits inside the retry stage and outside the traffic controller: to the retries a hedged
 * group is one attempt (its failure is retried, its success records one success for the budget), while every
 * hedge, as any attempt, takes its own slot from the origin's traffic controller, passes the per-attempt plugins
 * (the breaker) and has its own attempt timeout and token. Only calls whose route has `hedging` and whose request
 * is idempotent or keyed are raced; every other call goes straight through.
 *
 * Each hedge runs with its own copy of the call (its own abort controller and token record); the token of the
 * attempt that settled the group is copied back, so a 401 invalidates exactly the token that was sent.
 *
 * @internal
 */
export const hedgeStage = (options: {
  readonly budget: Option.Option<RetryBudget.Service>
  readonly idempotencyHeader: string
}): Stage => {
  const header = options.idempotencyHeader.toLowerCase()
  const budget = options.budget
  return (next) => (request, call) => {
    const route = call.route
    const hedging = route?.hedging
    if (hedging === undefined || !Hedging.eligible(request.method, request.headers[header] !== undefined)) {
      return next(request, call)
    }
    return Effect.clockWith((clock) => {
      let settled: CallState = call
      let wonBy = 0
      const attempt = (index: number) => {
        const own: CallState = index === 0 ? call : { ...call, abort: undefined }
        // Stages composed as separate clients find the call in the FiberRef: a hedge puts its own copy there.
        const send = index === 0 ? next(request, own) : Effect.locally(next(request, own), currentCallState, own)
        const sent = Effect.onExit(send, (exit) =>
          Effect.sync(() => {
            // The first success settles the group; until one comes, the latest failure does.
            if (wonBy !== 0) return
            settled = own
            if (Exit.isSuccess(exit)) wonBy = index + 1
          }))
        if (index === 0) return sent
        return Effect.zipRight(
          Metric.increment(route!.metrics.hedges),
          spanWithoutValue(sent, "bulwark.http.hedge", () => ({
            captureStackTrace: false,
            kind: "client",
            attributes: { "bulwark.route": route!.label, "bulwark.hedge": index }
          }))
        )
      }
      return race({
        attempt,
        delayMillis: Hedging.delayMillis(hedging.settings.delay, hedging.window),
        maxHedges: hedging.settings.maxHedges,
        mayHedge: (hedgesSent) => {
          const deadline = call.deadline?.at
          const timeLeft = deadline === undefined || deadline > clock.unsafeCurrentTimeMillis()
          if (!Hedging.mayHedge({ eligible: true, hedgesSent, maxHedges: hedging.settings.maxHedges, timeLeft })) {
            return Effect.succeed(false)
          }
          // A hedge is extra load, like a retry: it takes a retry's share of the budget, and none is sent without.
          return Option.isSome(budget) ? budget.value.tryAcquire("hedge") : Effect.succeed(true)
        },
        onLatency: (millis) => Hedging.record(hedging.window, millis)
      }).pipe(
        Effect.ensuring(Effect.suspend(() => {
          if (settled !== call) {
            call.tokenUsed = settled.tokenUsed
            if (call.startedAt === undefined) call.startedAt = settled.startedAt
          }
          return wonBy > 1 ? Metric.increment(route!.metrics.hedgeWins) : Effect.void
        }))
      )
    })
  }
}

/** The hedge stage as a plugin for pipelines composed by hand (below `Plugins.routes` and the retry stage). */
export const hedge = (options: {
  readonly budget: Option.Option<RetryBudget.Service>
  readonly idempotencyHeader: string
}) =>
<E, R>(self: Client<E, R>): Client<E, R> => plugin(hedgeStage(options), self)
