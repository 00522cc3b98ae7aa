import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

/** The default (live) clock: when it is in use, timers can be plain `setTimeout`s. */
const liveClock = Effect.runSync(Effect.clock)

/** Arms `task` to run after `millis`; the returned function disarms it. */
type Schedule = (task: () => void, millis: number) => () => void

const liveSchedule: Schedule = (task, millis) => {
  // Beyond 2^31 - 1 ms setTimeout fires at once; such a timeout never fires in practice.
  if (millis > 2_147_483_647) return () => {}
  const timer = setTimeout(task, millis)
  return () => clearTimeout(timer)
}

/**
 * A clock that can run a callback at a time of its own, the way `setTimeout` does for the live clock
 * (`@bulwark/simulation`'s virtual clock does): its timers are as cheap as the live ones.
 */
interface CallbackClock extends Clock.Clock {
  readonly unsafeSchedule: Schedule
}

const scheduleOf = (clock: Clock.Clock): Schedule | undefined =>
  clock === liveClock
    ? liveSchedule
    : typeof (clock as Partial<CallbackClock>).unsafeSchedule === "function"
    ? (task, millis) => (clock as CallbackClock).unsafeSchedule(task, millis)
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
    const schedule = scheduleOf(clock)
    if (schedule === undefined) return Effect.timeoutFail(self, { duration, onTimeout })
    const millis = Duration.toMillis(duration)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) => {
        let fired = false
        const cancel = schedule(() => {
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
