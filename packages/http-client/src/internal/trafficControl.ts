/**
 * The Effect shell of the per-origin traffic controller (`traffic.ts` holds the decisions): one state and
 * one FIFO queue per origin, ordered by the call's start (a call that waits again after a 429 keeps its
 * place), released by one pump fiber per busy origin. The hot path — nothing queued, the origin open and
 * unpaced or on time — takes its slot synchronously: no fiber, no `Deferred`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Service as RateLimitGateService } from "../RateLimitGate.js"
import type { Service as TrafficStoreService } from "../TrafficStore.js"
import * as traffic from "./traffic.js"

/** Why a call was refused without being sent, and when it may come back. */
export interface Refusal {
  readonly _tag: "Refusal"
  readonly reason: "cooldown" | "deadline" | "queue-full"
  readonly retryAt: number
}

interface Waiter {
  readonly priority: number
  readonly deadline: number | undefined
  readonly deferred: Deferred.Deferred<traffic.Ticket, Refusal>
  readonly enqueuedAt: number
}

interface Box {
  readonly origin: string
  readonly state: traffic.Origin
  readonly queue: Array<Waiter>
  pumping: boolean
  wake: Deferred.Deferred<void> | undefined
  readonly rate: Metric.Metric.Gauge<number>
  readonly queueLength: Metric.Metric.Gauge<number>
  /** With a store: plain acceptances not yet written to it (see `answer`), and when they last were. */
  readonly accepted: Array<{ readonly ticket: traffic.Ticket; readonly at: number }>
  flushedAt: number
}

/** @internal */
export const metrics = {
  rate: Metric.gauge("bulwark_http_traffic_rate", {
    description: "The pace of requests to an origin (per second, learned or advertised); 0 while unpaced"
  }),
  queueLength: Metric.gauge("bulwark_http_traffic_queue_length", {
    description: "Calls waiting in an origin's queue"
  }),
  waits: Metric.counter("bulwark_http_rate_limit_gate_waits_total", {
    description: "Attempts that waited for their origin (a Retry-After, a reset, the pace or an outage)",
    incremental: true
  }),
  waitMillis: Metric.counter("bulwark_http_rate_limit_gate_wait_millis_total", {
    description: "Total time attempts waited for their origin, in milliseconds",
    incremental: true
  }),
  failFasts: Metric.counter("bulwark_http_rate_limit_gate_fail_fasts_total", {
    description: "Attempts refused without being sent: the origin would not open within the call's deadline",
    incremental: true
  }),
  rateLimited: Metric.counter("bulwark_http_traffic_rate_limited_total", {
    description: "429 answers received",
    incremental: true
  }),
  storeFallbacks: Metric.counter("bulwark_http_traffic_store_fallbacks_total", {
    description: "Decisions taken on this process's own copy of an origin's state because the shared store failed",
    incremental: true
  })
}

/** With a shared store, a waiting process looks at the stored state at least this often. */
const storePollMillis = 100

/** With a shared store, plain acceptances are written at least this often (or with the next decision). */
const acceptedFlushMillis = 50

const acceptedAnswer: traffic.Answer = { kind: "accepted" }

/** @internal */
export interface Options {
  readonly settings: traffic.Settings
  /** A pause longer than this refuses calls at once (the API's `Retry-After` is too long to wait out). */
  readonly maxRetryAfterMillis: number
  /** Calls waiting per origin; one more is refused. */
  readonly maxQueue: number
  /** A shared floor (`@bulwark/redis`' fleet gate): read before each attempt, written on every pause. */
  readonly shared?: RateLimitGateService | undefined
  /**
   * A shared state (`TrafficStore`): every decision is taken on the stored state of the origin, so the
   * clients sharing it pace as one. Supersedes `shared`.
   */
  readonly store?: TrafficStoreService | undefined
}

/** @internal */
export interface Controller {
  readonly acquire: (
    origin: string,
    priority: number,
    deadline: number | undefined
  ) => Effect.Effect<traffic.Ticket, Refusal>
  readonly answer: (origin: string, ticket: traffic.Ticket, answer: traffic.Answer) => Effect.Effect<boolean>
  /** The state of an origin, for tests and reports. */
  readonly inspect: (origin: string) => traffic.Origin | undefined
}

/** @internal */
export const make = (options: Options): Effect.Effect<Controller, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const boxes = new Map<string, Box>()
    const settings = options.settings

    const boxOf = (origin: string): Box => {
      let box = boxes.get(origin)
      if (box === undefined) {
        box = {
          origin,
          state: traffic.makeOrigin(settings),
          queue: [],
          pumping: false,
          wake: undefined,
          rate: Metric.tagged(metrics.rate, "origin", origin),
          queueLength: Metric.tagged(metrics.queueLength, "origin", origin),
          accepted: [],
          flushedAt: 0
        }
        boxes.set(origin, box)
      }
      return box
    }

    const refusal = (reason: Refusal["reason"], retryAt: number): Refusal => ({ _tag: "Refusal", reason, retryAt })

    const refuseUnreachable = (box: Box, now: number) => {
      // Waiters whose turn would come after their deadline are told at once, with the time of their turn.
      let position = 0
      for (let i = 0; i < box.queue.length;) {
        const waiter = box.queue[i]!
        const eta = traffic.etaOf(box.state, now, position, settings)
        if (waiter.deadline !== undefined && eta > waiter.deadline) {
          box.queue.splice(i, 1)
          Deferred.unsafeDone(waiter.deferred, Exit.fail(refusal("deadline", eta)))
          continue
        }
        position++
        i++
      }
    }

    const store = options.store

    /**
     * Takes a decision over the origin's state: in memory, on the process's own state; with a store, on the
     * stored state (written back when the decision changed it), or — when the store fails — on this process's
     * copy of it, the last it saw. `decide` may run more than once (after a concurrent write): it only reads
     * the queue and changes the state it is given.
     */
    const decide = <A>(box: Box, decision: (state: traffic.Origin) => A): Effect.Effect<A> => {
      if (store === undefined) return Effect.sync(() => decision(box.state))
      return Effect.clockWith((clock) => {
        // The acceptances not yet written go first, so the decision counts them (taken when the decision
        // runs, and put back if it is interrupted before it is written).
        const batch = box.accepted.splice(0)
        const withBatch = (state: traffic.Origin) => {
          state.inflight += batch.length
          for (const { at, ticket } of batch) traffic.onAnswer(state, ticket, acceptedAnswer, at, settings)
          return decision(state)
        }
        const now = clock.unsafeCurrentTimeMillis()
        let decided: traffic.Origin | undefined
        let inflightBefore = 0
        return store.modify(box.origin, (stored) => {
          const state = { ...box.state }
          inflightBefore = state.inflight
          if (stored !== undefined && traffic.deserializeInto(stored, state, now)) {
            // A pause this process set while the store was failing still holds: a floor is never lowered.
            if (box.state.notBefore > state.notBefore) traffic.pausedUntil(state, box.state.notBefore)
            state.epoch = Math.max(state.epoch, box.state.epoch)
          }
          const result = withBatch(state)
          decided = state
          const next = traffic.serialize(state)
          return [result, next === stored ? stored : next] as const
        }).pipe(
          Effect.tap(() => {
            if (decided === undefined) return
            // This process's requests in flight changed meanwhile (answers counted on its own state): the
            // decision's change is added to them rather than its copy written over them.
            const inflight = box.state.inflight + (decided.inflight - inflightBefore)
            Object.assign(box.state, decided)
            box.state.inflight = Math.max(0, inflight)
          }),
          Effect.catchAll(() =>
            Effect.zipRight(Metric.increment(metrics.storeFallbacks), Effect.sync(() => withBatch(box.state)))
          ),
          Effect.onInterrupt(() => Effect.sync(() => box.accepted.unshift(...batch)))
        )
      })
    }

    const release = (box: Box, now: number) => (state: traffic.Origin): traffic.Ticket | number => {
      const at = traffic.eligibleAt(state, now)
      return at <= now ? traffic.take(state, now) : at
    }

    const pump = (box: Box): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (box.queue.length > 0) {
          const now = yield* Clock.currentTimeMillis
          refuseUnreachable(box, now)
          if (box.queue.length === 0) break
          const next = yield* decide(box, release(box, now))
          if (typeof next !== "number") {
            const waiter = box.queue.shift()
            if (waiter === undefined) {
              // The waiter left (interrupted) while the store answered: the slot goes unused.
              yield* decide(box, (state) => traffic.onAnswer(state, next, { kind: "not-sent" }, now, settings))
              break
            }
            Deferred.unsafeDone(waiter.deferred, Exit.succeed(next))
            yield* Metric.incrementBy(metrics.waitMillis, now - waiter.enqueuedAt)
            yield* Metric.set(box.queueLength, box.queue.length)
            continue
          }
          // Sleep until the next slot, the earliest deadline in the queue, or an answer that changes things.
          // With a store, other processes' answers change the state too and do not wake this one: it looks
          // again at least every `storePollMillis`.
          let until = next === Infinity ? now + 60_000 : next
          if (store !== undefined) until = Math.min(until, now + storePollMillis)
          for (const waiter of box.queue) {
            if (waiter.deadline !== undefined && waiter.deadline < until) until = Math.max(now + 1, waiter.deadline)
          }
          const wake = yield* Deferred.make<void>()
          box.wake = wake
          // Whole milliseconds, at least one: a clock that reads whole milliseconds must pass the slot's time.
          const sleep = Duration.millis(Math.max(1, Math.ceil(until - now)))
          yield* Effect.raceFirst(Effect.sleep(sleep), Deferred.await(wake))
          box.wake = undefined
        }
        box.pumping = false
        yield* Metric.set(box.queueLength, 0)
      })

    const enqueue = (box: Box, waiter: Waiter) => {
      let index = box.queue.length
      while (index > 0 && box.queue[index - 1]!.priority > waiter.priority) index--
      box.queue.splice(index, 0, waiter)
    }

    /** Go now (a ticket), wait in the queue, or a refusal: decided over the origin's state. */
    const admit = (
      box: Box,
      now: number,
      priority: number,
      deadline: number | undefined
    ) =>
    (state: traffic.Origin): traffic.Ticket | Refusal | "wait" => {
      if (box.queue.length === 0 && traffic.eligibleAt(state, now) <= now) return traffic.take(state, now)
      if (state.notBefore - now > options.maxRetryAfterMillis) return refusal("cooldown", state.notBefore)
      let position = 0
      while (position < box.queue.length && box.queue[position]!.priority <= priority) position++
      const eta = traffic.etaOf(state, now, position, settings)
      if (deadline !== undefined && eta > deadline) return refusal("deadline", eta)
      if (box.queue.length >= options.maxQueue) return refusal("queue-full", eta)
      traffic.noteQueued(state)
      return "wait"
    }

    const admitted = (
      box: Box,
      now: number,
      priority: number,
      deadline: number | undefined,
      admission: traffic.Ticket | Refusal | "wait"
    ): Effect.Effect<traffic.Ticket, Refusal> => {
      if (admission === "wait") return wait(box, now, priority, deadline)
      if ("_tag" in admission) return Effect.zipRight(Metric.increment(metrics.failFasts), Effect.fail(admission))
      return Effect.succeed(admission)
    }

    const wait = (
      box: Box,
      now: number,
      priority: number,
      deadline: number | undefined
    ): Effect.Effect<traffic.Ticket, Refusal> => {
      const deferred = Deferred.unsafeMake<traffic.Ticket, Refusal>(FiberId.none)
      const waiter: Waiter = { priority, deadline, deferred, enqueuedAt: now }
      enqueue(box, waiter)
      const start = box.pumping
        ? Effect.void
        : Effect.suspend(() => {
          box.pumping = true
          return Effect.asVoid(Effect.forkIn(pump(box), scope))
        })
      return Effect.zipRight(
        Effect.zipRight(
          Effect.zipRight(start, Metric.increment(metrics.waits)),
          Metric.set(box.queueLength, box.queue.length)
        ),
        Effect.onInterrupt(Deferred.await(deferred), () =>
          Effect.suspend(() => {
            const index = box.queue.indexOf(waiter)
            if (index !== -1) {
              box.queue.splice(index, 1)
              return Effect.void
            }
            // Released with a ticket the call will not use (its deadline interrupted it as its turn came):
            // give it back, or an outage probe would hold the origin until the probe timeout.
            return Effect.flatMap(Deferred.poll(deferred), (released) =>
              Option.isNone(released)
                ? Effect.void
                : Effect.flatMap(
                  Effect.exit(released.value),
                  (exit) => Exit.isSuccess(exit) ? answer(box.origin, exit.value, { kind: "not-sent" }) : Effect.void
                ))
          }))
      )
    }

    const acquireLocal = (
      origin: string,
      priority: number,
      deadline: number | undefined
    ): Effect.Effect<traffic.Ticket, Refusal> =>
      Effect.clockWith((clock) => {
        // The hot path: one synchronous decision over the process's own state, no fiber, no Deferred.
        const now = clock.unsafeCurrentTimeMillis()
        const box = boxOf(origin)
        return admitted(box, now, priority, deadline, admit(box, now, priority, deadline)(box.state))
      })

    /**
     * With a store, a call reserves its slot on the shared schedule at once (one decision, however far ahead
     * the slot is) and waits for it here: replicas polling for the next free slot would race each other for
     * every one. Only while an outage probe is out (no slot to give) does it wait in the local queue.
     */
    const reserve =
      (now: number, deadline: number | undefined) =>
      (state: traffic.Origin): { readonly ticket: traffic.Ticket; readonly at: number } | Refusal | "wait" => {
        const at = traffic.eligibleAt(state, now)
        if (at === Infinity) return "wait"
        if (state.notBefore - now > options.maxRetryAfterMillis) return refusal("cooldown", state.notBefore)
        if (deadline !== undefined && at > deadline) return refusal("deadline", at)
        // The queue is the schedule's reservations: as many slots ahead as `maxQueue` at most.
        if (state.interval > 0 && (at - Math.max(now, state.notBefore)) / state.interval > options.maxQueue) {
          return refusal("queue-full", at)
        }
        if (at > now) traffic.noteQueued(state)
        return { ticket: traffic.take(state, at), at }
      }

    const acquireStored = (
      origin: string,
      priority: number,
      deadline: number | undefined
    ): Effect.Effect<traffic.Ticket, Refusal> =>
      // An interruption while the call waits for its slot, or while the slot is checked, gives the slot back.
      // (One during the reservation itself may leave its slot unused: the decision's effect on the store cannot
      // be known, and a Redis call is not made uninterruptible, so its timeout can always fire.)
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const box = boxOf(origin)
        return Effect.flatMap(decide(box, reserve(now, deadline)), (reserved) => {
          if (reserved === "wait") return wait(box, now, priority, deadline)
          if ("_tag" in reserved) return Effect.zipRight(Metric.increment(metrics.failFasts), Effect.fail(reserved))
          const { at, ticket } = reserved
          if (at <= now) return Effect.succeed(ticket)
          const giveBack = answer(origin, ticket, { kind: "not-sent" })
          // Waited for a slot ahead: a pause another replica stored meanwhile (a 429, an outage), or a new pace
          // after a 429 (a new epoch), still holds, so the slot is given back and the call queues again.
          const stale = (state: traffic.Origin) =>
            state.notBefore > at || state.epoch !== ticket.epoch || (state.outage && !ticket.probe)
          const slot = Effect.flatMap(
            Effect.onInterrupt(decide(box, stale), () => giveBack),
            (isStale): Effect.Effect<traffic.Ticket, Refusal> =>
              isStale ? Effect.zipRight(giveBack, acquireStored(origin, priority, deadline)) : Effect.succeed(ticket)
          )
          return Effect.zipRight(
            Effect.zipRight(Metric.increment(metrics.waits), Metric.incrementBy(metrics.waitMillis, at - now)),
            Effect.zipRight(
              Effect.onInterrupt(Effect.sleep(Duration.millis(Math.ceil(at - now))), () => giveBack),
              slot
            )
          )
        })
      })

    const shared = options.shared
    const acquire: Controller["acquire"] = store !== undefined
      ? acquireStored
      : shared === undefined
      ? acquireLocal
      : (origin, priority, deadline) =>
        Effect.flatMap(
          Effect.catchAllCause(shared.closedUntil(origin), () => Effect.succeed(Option.none<number>())),
          (until) => {
            const state = boxOf(origin).state
            if (Option.isSome(until) && until.value > state.notBefore) traffic.pausedUntil(state, until.value)
            return acquireLocal(origin, priority, deadline)
          }
        )

    const answered = (box: Box, before: number, reply: traffic.Answer, changed: boolean): Effect.Effect<boolean> => {
      if (box.wake !== undefined) Deferred.unsafeDone(box.wake, Exit.void)
      const counted = reply.kind === "rate-limited" ? Metric.increment(metrics.rateLimited) : Effect.void
      if (!changed) return Effect.as(counted, false)
      const publish = store === undefined && shared !== undefined && box.state.notBefore > before
        ? Effect.catchAllCause(shared.close(box.origin, box.state.notBefore), () => Effect.void)
        : Effect.void
      return Effect.as(
        Effect.zipRight(Effect.zipRight(counted, publish), Metric.set(box.rate, traffic.ratePerSecond(box.state))),
        true
      )
    }

    const answer: Controller["answer"] = (origin, ticket, reply) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const box = boxOf(origin)
        const before = box.state.notBefore
        const decision = (state: traffic.Origin) => traffic.onAnswer(state, ticket, reply, now, settings)
        if (store === undefined) return answered(box, before, reply, decision(box.state))
        const state = box.state
        if (
          reply.kind === "accepted" && reply.quota === undefined && !ticket.probe && !state.outage && !state.recovering
        ) {
          // A plain acceptance only counts toward what is learned: written with the next decision, or within
          // `acceptedFlushMillis`. One write per answer would make every replica's answers race each other.
          state.inflight = Math.max(0, state.inflight - 1)
          box.accepted.push({ ticket, at: now })
          if (now - box.flushedAt < acceptedFlushMillis) return answered(box, before, reply, false)
          box.flushedAt = now
          const interval = state.interval
          return Effect.flatMap(
            decide(box, () => undefined),
            () => answered(box, before, reply, box.state.interval !== interval || box.state.notBefore !== before)
          )
        }
        return Effect.flatMap(decide(box, decision), (changed) => answered(box, before, reply, changed))
      })

    return { acquire, answer, inspect: (origin) => boxes.get(origin)?.state }
  })
