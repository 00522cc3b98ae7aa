/**
 * The error of a call refused by an open (or probing) circuit breaker.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The breaker for `key` is open: the call was not made. `retryAt` (epoch ms of the `Clock`) is when the
 * breaker lets a probe through; `state` is `open`, or `half-open` when probes are already in flight.
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>("@bulwark/circuit-breaker/CircuitOpen")(
  "CircuitOpen",
  {
    key: Schema.String,
    state: Schema.Literal("open", "half-open"),
    retryAt: Schema.Number
  }
) {
  override get message(): string {
    const at = new Date(this.retryAt).toISOString()
    return this.state === "open"
      ? `The circuit breaker for ${this.key} is open: recent calls failed too often, so this call was not sent. It half-opens at ${at}; retry after that, or let the caller degrade meanwhile.`
      : `The circuit breaker for ${this.key} is half-open and its probe is in flight, so this call was not sent. Retry after ${at}.`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isCircuitOpen = (u: unknown): u is CircuitOpen => u instanceof CircuitOpen
