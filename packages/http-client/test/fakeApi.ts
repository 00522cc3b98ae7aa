import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { Duration, Effect, Fiber, Ref, TestClock } from "effect"

/** One scripted answer: a response, a delay before it, or a transport failure. */
export type Answer =
  | {
    readonly status: number
    readonly body?: unknown
    readonly headers?: Record<string, string>
    readonly delay?: string
  }
  | { readonly hang: true }
  | { readonly fail: "ECONNREFUSED" | "ECONNRESET" }

export interface Sent {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
  readonly idempotencyKey: string | undefined
  readonly at: number
}

/**
 * An in-memory transport driven by a script: `answer(sent, n)` decides each response. Time passes only
 * through `Effect.sleep`, so `TestClock` controls every delay, timeout and backoff.
 */
export const makeFakeApi = (answer: (sent: Sent, index: number) => Answer) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<Array<Sent>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const at = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const sent: Sent = {
          method: request.method,
          url: url.toString(),
          authorization: request.headers["authorization"],
          idempotencyKey: request.headers["idempotency-key"],
          at
        }
        const index = (yield* Ref.getAndUpdate(log, (all) => [...all, sent])).length
        const scripted = answer(sent, index)
        if ("hang" in scripted) return yield* Effect.never
        if ("fail" in scripted) {
          return yield* Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: Object.assign(new Error(scripted.fail), { code: scripted.fail })
            })
          )
        }
        if (scripted.delay !== undefined) yield* Effect.sleep(scripted.delay as never)
        const body = scripted.body === undefined
          ? null
          : typeof scripted.body === "string"
          ? scripted.body
          : JSON.stringify(scripted.body)
        return HttpClientResponse.fromWeb(
          request,
          new Response(body, {
            status: scripted.status,
            headers: { "content-type": "application/json", ...scripted.headers }
          })
        )
      })
    )
    return { client, sent: Ref.get(log) }
  })

/** Lets work that waits on real promises (web Response bodies) run before the clock moves again. */
export const flush: Effect.Effect<void> = Effect.promise(
  () => new Promise<void>((resolve) => setImmediate(() => setImmediate(() => resolve())))
)

/**
 * Moves the TestClock forward by `total` in `steps`, flushing real I/O between steps, so fibers that
 * reach a sleep late (after a real promise) are not skipped over.
 */
export const advance = (total: Duration.DurationInput, steps = 200): Effect.Effect<void> =>
  Effect.gen(function*() {
    const step = Duration.toMillis(Duration.decode(total)) / steps
    yield* flush
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust(Duration.millis(step))
      yield* flush
    }
  })

/** Runs `effect` in a fiber while advancing the clock by `total`, and returns its exit. */
export const runFor = <A, E>(effect: Effect.Effect<A, E>, total: Duration.DurationInput = "5 minutes") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* advance(total)
    return yield* Fiber.await(fiber)
  })
