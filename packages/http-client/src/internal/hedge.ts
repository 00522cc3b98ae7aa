/**
 * Hedged reads, the Effect shell around the decisions of `hedging.ts`: send the first attempt; each time `delay`
 * passes with no attempt answered, ask whether a hedge may go (`mayHedge`: hedges left, time left, the retry
 * budget's share) and send one more; take the first success and cancel the rest. When every attempt in flight has
 * failed, the group fails at once with the latest failure (the retry stage above decides what comes next).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

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
