import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scheduler from "effect/Scheduler"

interface Timer {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

/**
 * A `Clock` whose time moves only when the driver moves it, to the next timer. Timers live in a binary heap
 * ordered by (time, creation order), so ties wake in the order they were set: the run is deterministic.
 * An interrupted sleep marks its timer cancelled; cancelled timers are dropped when they reach the top,
 * which keeps `sleep` and its cancellation O(log n) with no search.
 */
class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private readonly heap: Array<Timer> = []
  private seq = 0
  /** Timers set and not yet fired or cancelled. */
  pending = 0

  constructor(public now: number) {}

  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const millis = Duration.toMillis(duration)
    // Like TestClock: a sleep of zero (or less) does not wait for the clock to move.
    if (!(millis > 0)) return Effect.void
    // Whole milliseconds, rounded up, like a timer: the clock never shows a fraction and a sleep never ends early.
    const delay = millis === Infinity ? Number.MAX_SAFE_INTEGER - this.now : Math.ceil(millis)
    return Effect.async<void>((resume) => {
      const timer = this.push(this.now + delay, () => resume(Effect.void))
      return Effect.sync(() => {
        if (!timer.cancelled) {
          timer.cancelled = true
          this.pending--
        }
      })
    })
  }

  /**
   * Effect's `ClockScheduler`: runs `task` when the clock reaches now + `duration`; the returned function
   * cancels it (`true` if it had not run). The clock is its own scheduler, so Bulwark's http-client arms its
   * timeouts on it instead of racing a sleeping fiber, as it does with `setTimeout` on the live clock.
   */
  unsafeSchedule(task: () => void, duration: Duration.Duration): () => boolean {
    const millis = Duration.toMillis(duration)
    if (!(millis < Infinity)) return () => false
    const timer = this.push(this.now + Math.max(0, Math.ceil(millis)), task)
    return () => {
      if (timer.cancelled) return false
      timer.cancelled = true
      this.pending--
      return true
    }
  }

  scheduler(): Effect.Effect<Clock.ClockScheduler> {
    return Effect.succeed(this)
  }

  private push(at: number, wake: () => void): Timer {
    const timer: Timer = { at, seq: this.seq++, wake, cancelled: false }
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(timer, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = timer
    this.pending++
    return timer
  }

  private pop(): Timer | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      const n = heap.length
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const right = left + 1
        const child = right < n && before(heap[right]!, heap[left]!) ? right : left
        if (!before(heap[child]!, last)) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    return top
  }

  /** Moves the clock to the next live timer and wakes it; `false` when no timer is left. */
  advance(): boolean {
    for (;;) {
      const timer = this.pop()
      if (timer === undefined) return false
      if (timer.cancelled) continue
      timer.cancelled = true
      this.pending--
      if (timer.at > this.now) this.now = timer.at
      timer.wake()
      return true
    }
  }
}

const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/**
 * A scheduler that only queues: the driver runs the queue, in order, until it is empty. With it, "every
 * fiber is waiting" is simply "the queue is empty", the moment virtual time may move.
 */
class QueueScheduler implements Scheduler.Scheduler {
  private queue: Array<Scheduler.Task> = []

  scheduleTask(task: Scheduler.Task): void {
    this.queue.push(task)
  }

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    // Effect's default: let another fiber run after 2048 operations, so one busy fiber cannot starve the rest.
    return fiber.currentOpCount > 2048 ? 0 : false
  }

  /** Runs queued tasks (and those they queue) until none is left or about `budget` ran; returns how many ran. */
  run(budget: number): number {
    let ran = 0
    while (this.queue.length > 0 && ran < budget) {
      const batch = this.queue
      this.queue = []
      for (let i = 0; i < batch.length; i++) batch[i]!()
      ran += batch.length
    }
    return ran
  }

  get idle(): boolean {
    return this.queue.length === 0
  }
}

/** @internal */
export class Deadlock extends Error {
  constructor(readonly at: number) {
    super(
      `The simulated program is stuck at ${new Date(at).toISOString()}: every fiber waits, and no timer is set ` +
        "that could wake one (an Effect.never, or a wait on something outside the simulation)"
    )
    this.name = "Deadlock"
  }
}

/** @internal */
export interface RunOptions {
  /** The virtual instant the run starts at, in epoch milliseconds. */
  readonly startAt: number
  /** How many scheduler tasks run between two yields to the real event loop (keeps a long run from blocking it). */
  readonly slice?: number | undefined
}

/**
 * Runs `effect` in virtual time: its own clock (starting at `startAt`) and a queue scheduler, both inherited
 * by every fiber it forks. Whenever every fiber is waiting, the clock jumps to the next timer. The real event
 * loop gets a turn every `slice` tasks, so a long simulation neither blocks it nor depends on it.
 *
 * @internal
 */
export const run = <A, E>(effect: Effect.Effect<A, E>, options: RunOptions): Effect.Effect<A, E | Deadlock> =>
  Effect.async<A, E | Deadlock>((resume) => {
    const clock = new VirtualClock(Math.floor(options.startAt))
    const scheduler = new QueueScheduler()
    const slice = options.slice ?? 50_000
    const fiber = Effect.runFork(Effect.withClock(effect, clock), { scheduler })
    let stopped = false
    let handle: NodeJS.Immediate | undefined

    const step = (): void => {
      handle = undefined
      if (stopped) return
      let ran = 0
      for (;;) {
        ran += scheduler.run(slice - ran) + 1
        if (ran >= slice) {
          handle = setImmediate(step)
          return
        }
        if (!scheduler.idle) continue
        const exit = fiber.unsafePoll()
        if (exit !== null) {
          stopped = true
          return resume(exit)
        }
        if (!clock.advance()) {
          stopped = true
          // Nothing can ever wake a fiber: stop it rather than leave it suspended forever.
          fiber.unsafeInterruptAsFork(FiberId.none)
          scheduler.run(Number.MAX_SAFE_INTEGER)
          return resume(Exit.fail(new Deadlock(clock.now)))
        }
      }
    }
    step()
    return Effect.sync(() => {
      if (stopped) return
      stopped = true
      if (handle !== undefined) clearImmediate(handle)
      // Let the simulated program run its finalizers, in virtual time, before giving up on it.
      fiber.unsafeInterruptAsFork(FiberId.none)
      for (let i = 0; i < 1_000 && fiber.unsafePoll() === null; i++) {
        scheduler.run(Number.MAX_SAFE_INTEGER)
        if (fiber.unsafePoll() === null && !clock.advance()) break
      }
    })
  })
