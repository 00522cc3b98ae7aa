import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

/** The default (live) clock: when it is in use, timers can be plain `setTimeout`s. */
const liveClock = Effect.runSync(Effect.clock)

/**
 * Timers that run a callback at a time of their own clock: `setTimeout` for the live clock, or a clock's
 * own `unsafeSchedule` (`@bulwark/simulation`'s virtual clock has one). `unsafeSchedule` arms `task` to run
 * after `millis` and returns the function that disarms it.
 */
interface Timers {
  readonly unsafeSchedule: (task: () => void, millis: number) => () => void
}

const liveTimers: Timers = {
  unsafeSchedule: (task, millis) => {
    // Beyond 2^31 - 1 ms setTimeout fires at once; such a timeout never fires in practice.
    if (millis > 2_147_483_647) return () => {}
    const timer = setTimeout(task, millis)
    return () => clearTimeout(timer)
  }
}

const timersOf = (clock: Clock.Clock): Timers | undefined =>
  clock === liveClock
    ? liveTimers
    : typeof (clock as Partial<Timers>).unsafeSchedule === "function"
    ? clock as unknown as Timers
    : undefined

/**
 * `Effect.timeoutFail`, cheaper on the hot path. With the live clock (or a clock with `unsafeSchedule`)
 * it forks one fiber for `self` and arms a timer that interrupts it, instead of racing two fibers; with
 * any other clock (`TestClock`) it is exactly `Effect.timeoutFail`, so tests control the time.
 */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock: Clock.Clock): Effect.Effect<A, E | E2, R> => {
    const timers = timersOf(clock)
    if (timers === undefined) return Effect.timeoutFail(self, { duration, onTimeout })
    const millis = Duration.toMillis(duration)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) => {
        let fired = false
        const cancel = timers.unsafeSchedule(() => {
          fired = true
          fiber.unsafeInterruptAsFork(FiberId.none)
        }, millis)
        // `Fiber.await`, not `join`: the child changes no FiberRef the caller needs back, and skipping
        // the merge is much of the saving.
        return restore(Effect.flatten(Fiber.await(fiber))).pipe(
          Effect.onInterrupt(() => Fiber.interrupt(fiber)),
          Effect.ensuring(Effect.sync(cancel)),
          Effect.catchAllCause((cause): Effect.Effect<never, E | E2> =>
            fired && Cause.isInterruptedOnly(cause) ? Effect.fail(onTimeout()) : Effect.failCause(cause)
          )
        )
      })
    )
  })
