import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as GlobalValue from "effect/GlobalValue"
import * as Option from "effect/Option"

/** @internal */
export const currentDeadline: FiberRef.FiberRef<Option.Option<number>> = GlobalValue.globalValue(
  Symbol.for("@bulwark/retry-schedules/currentDeadline"),
  () => FiberRef.unsafeMake<Option.Option<number>>(Option.none())
)

const tighten = (existing: Option.Option<number>, candidate: number): Option.Option<number> =>
  Option.some(Option.match(existing, { onNone: () => candidate, onSome: (at) => Math.min(at, candidate) }))

/** @internal */
export const at = dual<
  (deadlineMillis: number) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, deadlineMillis: number) => Effect.Effect<A, E, R>
>(
  2,
  (self, deadlineMillis) => Effect.locallyWith(self, currentDeadline, (existing) => tighten(existing, deadlineMillis))
)

/** @internal */
export const within = dual<
  (budget: Duration.DurationInput) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, budget: Duration.DurationInput) => Effect.Effect<A, E, R>
>(2, (self, budget) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => at(self, now + Duration.toMillis(Duration.decode(budget)))
  ))

/** @internal */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = Effect.flatMap(
  FiberRef.get(currentDeadline),
  (deadline) =>
    Option.match(deadline, {
      onNone: () => Effect.succeed(Option.none()),
      onSome: (at) => Effect.map(Clock.currentTimeMillis, (now) => Option.some(Duration.millis(Math.max(0, at - now))))
    })
)
