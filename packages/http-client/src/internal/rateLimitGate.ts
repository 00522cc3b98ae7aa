/**
 * The public `rateLimitGate` and `rateLimiter` plugins. The standard pipeline uses neither: the old
 * client-side rate limit is now the traffic controller's `maxRate`, so it never sends while the origin is
 * paused. Composed by hand, the gate waits before each attempt until the origin's 429 cool-down has passed.
 */
import { ApiError, Redaction } from "@bulwark/core-errors"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as EffectRateLimiter from "effect/RateLimiter"
import { RateLimitGate, type Service as RateLimitGateService } from "../RateLimitGate.js"
import { currentCallState } from "./callState.js"
import { deadlineOf } from "./deadline.js"
import { metrics } from "./metrics.js"
import { type Client, originOf, requestUrl, stage } from "./stage.js"

/** @internal */
export const rateLimitGate = (
  redactor: Redaction.Redactor,
  explicit?: Option.Option<RateLimitGateService>
) => {
  const gateService = explicit === undefined ? Effect.serviceOption(RateLimitGate) : Effect.succeed(explicit)
  return <E, R>(self: Client<E, R>): Client<E, R> => rateLimitStage(self, gateService, redactor)
}

const rateLimitStage = <E, R>(
  self: Client<E, R>,
  gateService: Effect.Effect<Option.Option<RateLimitGateService>>,
  redactor: Redaction.Redactor
): Client<E, R> =>
  stage(self, (request, send) =>
    Effect.flatMap(gateService, (gate) => {
      if (Option.isNone(gate)) return send(request)
      const origin = originOf(request.url) ?? request.url
      const recordCooldown = Effect.tapError(send(request), (error) =>
        ApiError.isApiError(error) && error._tag === "RateLimited" && error.retryAfter !== undefined
          ? Effect.flatMap(
            Clock.currentTimeMillis,
            (at) => gate.value.close(origin, error.retryAt ?? at + Duration.toMillis(error.retryAfter!))
          )
          : Effect.void)
      return Effect.flatMap(gate.value.closedUntil(origin), (until) =>
        Option.isNone(until)
          ? recordCooldown
          : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            until.value <= now ? recordCooldown : Effect.gen(function*() {
              const waitMillis = until.value - now
              const deadlineAt = yield* deadlineOf(yield* FiberRef.get(currentCallState))
              if (deadlineAt !== undefined && until.value > deadlineAt) {
                yield* Metric.increment(metrics.gateFailFasts)
                return yield* Effect.fail(
                  new ApiError.RateLimited({
                    method: request.method,
                    url: Redaction.url(requestUrl(request), redactor),
                    status: 429,
                    retryAfter: Duration.millis(waitMillis),
                    retryAt: until.value
                  }) as unknown as E
                )
              }
              yield* Metric.increment(metrics.gateWaits)
              yield* Metric.incrementBy(metrics.gateWaitMillis, waitMillis)
              yield* Effect.sleep(Duration.millis(waitMillis))
              return yield* recordCooldown
            })))
    }))

/** @internal */
export const rateLimiter = (limiter: EffectRateLimiter.RateLimiter) => <E, R>(self: Client<E, R>): Client<E, R> =>
  stage(self, (request, send) => limiter(send(request)))
