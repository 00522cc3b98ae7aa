import { CircuitBreaker } from "@bulwark/circuit-breaker"
import { ApiClient } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { Options, Pipeline } from "../Simulation.js"
import type { Settings } from "./options.js"
import { decodeSettings, defaultBucketMs } from "./options.js"
import { Recorder } from "./recorder.js"
import type { GoalResult, Report } from "./report.js"
import { build } from "./report.js"
import * as VirtualTime from "./virtualTime.js"

/** @internal */
export class SimulationError extends Data.TaggedError("SimulationError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

// ---------------------------------------------------------------------------------------------
// arrivals
// ---------------------------------------------------------------------------------------------

/**
 * The arrival process: each run of the returned effect gives the next call's arrival offset (whole
 * milliseconds from the start), or `undefined` once `durationMs` is reached. Evenly spaced, a Poisson
 * process (exponential gaps drawn from `random`), or bursts of `rate` calls at the start of every second.
 *
 * @internal
 */
export const arrivals = (
  traffic: Settings["traffic"],
  durationMs: number,
  random: Random.Random
): Effect.Effect<number | undefined> => {
  const { arrival, rate } = traffic
  const within = (at: number) => (at < durationMs ? Math.floor(at) : undefined)
  if (arrival === "burst") {
    // `rate` may be fractional: a second's share carries over to the next.
    let second = 0
    let owed = rate
    return Effect.sync(() => {
      while (owed < 1) {
        second++
        owed += rate
      }
      owed--
      return within(second * 1000)
    })
  }
  if (arrival === "uniform") {
    let index = 0
    return Effect.sync(() => within(index++ * 1000 / rate))
  }
  let at = 0
  return Effect.map(random.next, (uniform) => {
    at += -Math.log(1 - uniform) * 1000 / rate
    return within(at)
  })
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

const describeError = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

const tagOf = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect",
    onSome: (error) =>
      typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
        ? error._tag
        : "UnknownError"
  })

class UnexpectedStatus extends Data.TaggedError("UnexpectedStatus")<{ readonly status: number }> {}

/**
 * Marks each request with its logical call, so the transport can tell a retry of a call from another call.
 * The sandbox ignores the header.
 */
const callHeader = "x-bulwark-simulation-call"

/** Counts every exchange the transport carries, by kind and status, in the bucket it was sent in. */
const observe = (transport: HttpClient.HttpClient, recorder: Recorder): HttpClient.HttpClient =>
  HttpClient.transform(transport, (effect, request) =>
    Effect.clockWith((clock) => {
      const sentAt = clock.unsafeCurrentTimeMillis()
      const kind = request.url.endsWith("/oauth/token") ? "token" : "resource"
      const call = request.headers[callHeader]
      recorder.attempt(kind, sentAt, call)
      return Effect.tapBoth(effect, {
        onSuccess: (response) =>
          Effect.sync(() =>
            recorder.answered(kind, sentAt, clock.unsafeCurrentTimeMillis(), response.status, response.headers, call)
          ),
        onFailure: () => Effect.sync(() => recorder.transportFailed(kind, sentAt))
      })
    }))

const defaultPipeline = (client: Options["client"]): Pipeline => ({ breaker, sandbox, transport }) =>
  Effect.map(
    ApiClient.make({
      ...client,
      // The partner API's base URL, as a real one would be: route rules written for it (`GET /items`) match here.
      baseUrl: `${sandbox.url}/v1`,
      auth: {
        tokenUrl: sandbox.tokenUrl,
        clientId: SandboxConfig.demoClient.clientId,
        clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
      }
    }, { perAttempt: Option.isSome(breaker) ? [CircuitBreaker.plugin(breaker.value)] : [] }).pipe(
      Effect.provideService(HttpClient.HttpClient, transport)
    ),
    (api) => api.client as HttpClient.HttpClient.With<unknown>
  )

const policyOf = (options: Options): string => {
  if (options.pipeline !== undefined) return "custom pipeline"
  const breaker = options.circuitBreaker === undefined || options.circuitBreaker === false
    ? ""
    : " + circuit breaker"
  const overrides = options.client === undefined ? [] : Object.keys(options.client).sort()
  return `ApiClient standard pipeline${breaker}${overrides.length > 0 ? ` (custom: ${overrides.join(", ")})` : ""}`
}

const sandboxOf = (input: SandboxConfig.Input | undefined): string => {
  const preset = input?.preset ?? "none"
  const custom = input === undefined
    ? []
    : Object.keys(input).filter((key) => key !== "preset" && key !== "seed").sort()
  return `preset ${preset}${custom.length > 0 ? ` (custom: ${custom.join(", ")})` : ""}`
}

const simulate = (options: Options, settings: Settings) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const durationMs = Duration.toMillis(settings.traffic.duration)
    const bucketMs = settings.bucket === undefined
      ? defaultBucketMs(durationMs)
      : Math.max(1, Duration.toMillis(settings.bucket))
    const recorder = new Recorder(start, bucketMs)

    const { client: memory, sandbox } = yield* Sandbox.makeInMemory(
      { ...options.sandbox, seed: options.sandbox?.seed ?? settings.seed },
      { latency: settings.latency }
    ).pipe(Effect.mapError((error) => new SimulationError({ message: error.message, cause: error })))
    const transport = observe(memory, recorder)

    let breaker = Option.none<CircuitBreaker.Service>()
    if (options.circuitBreaker !== undefined && options.circuitBreaker !== false) {
      const service = yield* CircuitBreaker.make(options.circuitBreaker === true ? {} : options.circuitBreaker)
      breaker = Option.some(service)
      yield* Effect.forkScoped(Stream.runForEach(service.transitions, (transition) =>
        Effect.sync(() =>
          recorder.transition({ atMs: transition.at, key: transition.key, from: transition.from, to: transition.to })
        )))
      // Let the subscription start before the first call can trip the breaker.
      yield* Effect.yieldNow()
    }

    const pipeline = options.pipeline ?? defaultPipeline(options.client)
    const client = yield* pipeline({ transport, sandbox, breaker }).pipe(
      Effect.mapError((error) =>
        new SimulationError({
          message: `The client pipeline could not be built: ${describeError(error)}`,
          cause: error
        })
      )
    )

    const { concurrency, writeRatio } = settings.traffic
    const semaphore = concurrency === undefined ? undefined : yield* Effect.makeSemaphore(concurrency)
    // Their own generators, so the arrivals and the read/write mix do not shift the client's random draws.
    const nextArrival = arrivals(settings.traffic, durationMs, Random.make(`${settings.seed}/arrivals`))
    const writes = Random.make(`${settings.seed}/writes`)
    const read = HttpClientRequest.get(`${sandbox.url}/v1/items`, { urlParams: { limit: "10" } })
    const requestOf = (index: number, write: boolean): HttpClientRequest.HttpClientRequest =>
      HttpClientRequest.setHeader(
        write
          ? HttpClientRequest.post(`${sandbox.url}/v1/items`).pipe(
            HttpClientRequest.bodyUnsafeJson({
              sku: `SIM-${settings.seed}-${index}`,
              name: `Simulated item ${index}`,
              price: 1
            })
          )
          : read,
        callHeader,
        String(index)
      )
    const consume = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void, unknown> =>
      response.status >= 200 && response.status < 300
        ? Effect.asVoid(response.text)
        : Effect.fail(new UnexpectedStatus({ status: response.status }))

    let inFlight = 0
    let generating = true
    const drained = yield* Deferred.make<void>()
    const calls = yield* FiberSet.make<void, never>()
    const call = (index: number, arrivedAt: number, write: boolean) => {
      const exchange = Effect.flatMap(client.execute(requestOf(index, write)), consume)
      return (semaphore === undefined ? exchange : semaphore.withPermits(1)(exchange)).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Clock.currentTimeMillis.pipe(Effect.flatMap((now) =>
            Effect.sync(() => {
              if (Exit.isSuccess(exit)) {
                recorder.callSucceeded(arrivedAt, now)
              } else recorder.callFailed(arrivedAt, now, tagOf(exit.cause))
              inFlight--
              if (inFlight === 0 && !generating) {
                Deferred.unsafeDone(drained, Exit.void)
              }
            })
          ))
        )
      )
    }

    for (let index = 0;; index++) {
      const offset = yield* nextArrival
      if (offset === undefined) {
        break
      }
      const now = yield* Clock.currentTimeMillis
      if (start + offset > now) {
        yield* Effect.sleep(Duration.millis(start + offset - now))
      }
      const arrivedAt = yield* Clock.currentTimeMillis
      const write = writeRatio > 0 && (yield* writes.next) < writeRatio
      recorder.callStarted(arrivedAt)
      inFlight++
      yield* FiberSet.run(calls, call(index, arrivedAt, write))
    }
    generating = false
    if (inFlight === 0) {
      yield* Deferred.succeed(drained, undefined)
    }
    const elapsed = (yield* Clock.currentTimeMillis) - start
    if (elapsed < durationMs) {
      yield* Effect.sleep(Duration.millis(durationMs - elapsed))
    }
    // Calls still running after the drain period are stopped and counted as unfinished.
    const finished = yield* Deferred.await(drained).pipe(Effect.timeoutTo({
      duration: settings.drain,
      onSuccess: () =>
        true,
      onTimeout: () => false
    }))
    if (!finished) {
      // Interrupted, the calls record nothing more: they are the unfinished ones.
      recorder.unfinished = inFlight
      yield* FiberSet.clear(calls)
    }
    const end = yield* Clock.currentTimeMillis
    const stats = yield* sandbox.stats
    const report: Report = build({
      name: settings.name,
      seed: settings.seed,
      sandbox: sandboxOf(options.sandbox),
      policy: policyOf(options),
      traffic: {
        rate: settings.traffic.rate,
        arrival: settings.traffic.arrival,
        concurrency: concurrency ?? null,
        writeRatio,
        durationSeconds: durationMs / 1000,
        latencyMs: Duration.toMillis(settings.latency)
      },
      simulatedMs: end - start,
      breakerEnabled: Option.isSome(breaker),
      recorder,
      stats
    })
    return report
  }).pipe(
    Effect.scoped,
    Effect.withRandom(Random.make(settings.seed)),
    // Spans and logs of thousands of simulated calls go nowhere useful and cost most of the run's time.
    Effect.withTracerEnabled(false),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

/** @internal */
export const failWith = (message: string): Effect.Effect<never, SimulationError> =>
  Effect.fail(new SimulationError({ message }))

/** @internal */
export const runChecked = (
  options: Options,
  check: (report: Report) => ReadonlyArray<GoalResult>
): Effect.Effect<Report, SimulationError> => Effect.map(run(options), (report) => ({ ...report, goals: check(report) }))

/** @internal */
export const run = (options: Options): Effect.Effect<Report, SimulationError> =>
  Effect.suspend(() => {
    const decoded = decodeSettings({
      name: options.name,
      seed: options.seed,
      traffic: options.traffic,
      latency: options.latency,
      bucket: options.bucket,
      drain: options.drain,
      startAt: options.startAt
    })
    if (Either.isLeft(decoded)) {
      return Effect.fail(
        new SimulationError({
          message:
            `Invalid simulation options (${decoded.left.length} problem${decoded.left.length === 1 ? "" : "s"}):\n` +
            decoded.left.map((issue) => `  - ${issue}`).join("\n")
        })
      )
    }
    const settings = decoded.right
    return VirtualTime.run(simulate(options, settings), {
      startAt: settings.startAt ?? Date.UTC(2026, 0, 1)
    }).pipe(
      Effect.catchIf(
        (error): error is VirtualTime.Deadlock => error instanceof VirtualTime.Deadlock,
        (error) =>
          Effect.fail(
            new SimulationError({
              message:
                `${error.message}; a call without a timeout waits for a hung response forever: set attemptTimeout`,
              cause: error
            })
          )
      )
    )
  })
