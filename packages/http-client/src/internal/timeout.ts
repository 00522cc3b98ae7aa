import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

/** The default (live) clock: when it is in use, timers can be plain `setTimeout`s. */
const liveClock = Effect.runSync(Effect.clock)

/**
 * `Effect.timeoutFail`, cheaper on the hot path. With the live clock it forks one fiber for `self`
 * and arms a `setTimeout` that interrupts it, instead of racing two fibers; with any other clock
 * (`TestClock`) it is exactly `Effect.timeoutFail`, so tests control the time.
 */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock: Clock.Clock): Effect.Effect<A, E | E2, R> => {
    if (clock !== liveClock) return Effect.timeoutFail(self, { duration, onTimeout })
    const millis = Duration.toMillis(duration)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) => {
        let fired = false
        const timer = setTimeout(() => {
          fired = true
          fiber.unsafeInterruptAsFork(FiberId.none)
        }, millis)
        // `Fiber.await`, not `join`: the child changes no FiberRef the caller needs back, and skipping
        // the merge is much of the saving.
        return restore(Effect.flatten(Fiber.await(fiber))).pipe(
          Effect.onInterrupt(() => Fiber.interrupt(fiber)),
          Effect.ensuring(Effect.sync(() => clearTimeout(timer))),
          Effect.catchAllCause((cause): Effect.Effect<never, E | E2> =>
            fired && Cause.isInterruptedOnly(cause) ? Effect.fail(onTimeout()) : Effect.failCause(cause)
          )
        )
      })
    )
  })
