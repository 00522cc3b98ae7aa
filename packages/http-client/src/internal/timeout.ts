/**
 * Timers for the attempt timeout and the deadline. On the live clock (or a clock that schedules its own
 * timers, as `@bulwark/simulation`'s virtual clock does) a timeout is a plain timer, not a racing fiber;
 * under any other clock (`TestClock`) it is exactly `Effect.timeoutFail`, so tests control the time.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

/** The live clock of every runtime that was not given another. */
const liveClock: Clock.Clock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * Effect's `ClockScheduler` shape: `unsafeSchedule` arms `task` to run after `duration` and returns the
 * function that disarms it. A clock that is its own scheduler (`@bulwark/simulation`'s virtual clock) has it.
 */
interface Timers {
  readonly unsafeSchedule: (task: () => void, duration: Duration.Duration) => () => unknown
}

const liveTimers: Timers = {
  unsafeSchedule: (task, duration) => {
    const millis = Duration.toMillis(duration)
    // Beyond 2^31 - 1 ms setTimeout fires at once; such a timeout never fires in practice.
    if (millis > 2_147_483_647) return () => false
    const timer = setTimeout(task, millis)
    return () => clearTimeout(timer)
  }
}

/**
 * The live clock's timers, or `undefined` for any other clock. An attempt is ended by aborting its request only
 * on the live clock: there the transport is a real one (every `@effect/platform` transport sends with the
 * signal of the controller the call owns), while a virtual clock's in-memory transport answers in the caller's
 * fiber and only an interruption ends it.
 */
export const liveTimersOf = (clock: Clock.Clock): Timers | undefined => clock === liveClock ? liveTimers : undefined

/** The timers of `clock`, or `undefined` when only Effect's own timeout is exact with it. */
export const timersOf = (clock: Clock.Clock): Timers | undefined =>
  clock === liveClock
    ? liveTimers
    : typeof (clock as Partial<Timers>).unsafeSchedule === "function"
    ? clock as unknown as Timers
    : undefined

/**
 * `Effect.timeoutFail`, cheaper on the hot path. With timers it forks one fiber for `self` and arms a timer
 * that interrupts it, instead of racing two fibers; with any other clock (`TestClock`) it is exactly
 * `Effect.timeoutFail`.
 */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock: Clock.Clock): Effect.Effect<A, E | E2, R> => {
    const timers = timersOf(clock)
    if (timers === undefined) return Effect.timeoutFail(self, { duration, onTimeout })
    return interruptWhen(self, (fire) => timers.unsafeSchedule(fire, duration), onTimeout)
  })

/**
 * Runs `self` in one fiber that `arm`'s trigger interrupts (`arm` returns what disarms it); an interruption by
 * the trigger becomes `onFired()`. `Fiber.await`, not `join`: the child changes no FiberRef the caller needs
 * back, and skipping the merge is much of the saving over `Effect.timeoutFail`'s two racing fibers.
 */
const interruptWhen = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  arm: (fire: () => void) => () => unknown,
  onFired: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(self)), (fiber) => {
      let fired = false
      const disarm = arm(() => {
        fired = true
        fiber.unsafeInterruptAsFork(FiberId.none)
      })
      return restore(Effect.flatten(Fiber.await(fiber))).pipe(
        Effect.onInterrupt(() => Fiber.interrupt(fiber)),
        Effect.ensuring(Effect.sync(disarm)),
        Effect.catchAllCause((cause): Effect.Effect<never, E | E2> =>
          fired && Cause.isInterruptedOnly(cause) ? Effect.fail(onFired()) : Effect.failCause(cause)
        )
      )
    })
  )

/**
 * A timeout that ends `self` by aborting `controller` (whose signal the transport sends the request with), on
 * the current fiber: no fiber per attempt. Whatever `self` fails with after the timer fired (the transport's
 * abort error) becomes `onTimeout()`; a success that won the race is kept. A failed or interrupted attempt aborts
 * too.
 */
// Reasons given to `abort()`: without one, every abort builds a `DOMException` with a stack trace, and a burst of
// failed attempts paid for one each. Whatever the transport fails with after a timeout becomes the `Timeout`.
const timedOut = new Error("the attempt timed out")
const ended = new Error("the attempt ended")

export const abortAfter = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  timers: Timers,
  duration: Duration.Duration,
  controller: AbortController,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => {
  let fired = false
  const cancel = timers.unsafeSchedule(() => {
    fired = true
    controller.abort(timedOut)
  }, duration)
  return Effect.onExit(
    Effect.catchAllCause(
      self,
      (cause): Effect.Effect<never, E | E2> =>
        fired && !Cause.isInterruptedOnly(cause) ? Effect.fail(onTimeout()) : Effect.failCause(cause)
    ),
    (exit) =>
      Effect.sync(() => {
        cancel()
        // A failed or interrupted attempt leaves nothing of its exchange in use: aborting releases any body it
        // did not read (the platform does not, for a request whose controller the caller owns).
        if (Exit.isFailure(exit)) controller.abort(ended)
      })
  )
}

/**
 * Waits for `self` unless `signal` aborts first (then fails with `Cause.InterruptedException`, which the attempt
 * timeout that aborted turns into its `Timeout`). For the rare waits inside an attempt that are not the
 * request itself (a token being fetched): `self` runs in one fiber the abort interrupts.
 */
export const untilAborted = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  signal: AbortSignal
): Effect.Effect<A, E | Cause.InterruptedException, R> => {
  const aborted = () => new Cause.InterruptedException("the attempt timed out")
  if (signal.aborted) return Effect.fail(aborted())
  return interruptWhen(self, (fire) => {
    signal.addEventListener("abort", fire, { once: true })
    return () => signal.removeEventListener("abort", fire)
  }, aborted)
}
