import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"
import { createHash } from "node:crypto"
import {
  type ConnectionOptions,
  type LayerOptions,
  RedisConfigError,
  RedisConnection,
  RedisError,
  type Script,
  type Service
} from "../RedisConnection.js"
import { type Settings, validateConnection, validateLayer } from "./options.js"

/** @internal */
export const fallbacksTotal = Metric.counter("bulwark_redis_fallbacks_total", {
  description: "Operations that fell back to per-process state because Redis was down, slow or failing",
  incremental: true
})

const taggedFallbacks = new Map<string, Metric.Metric.Counter<number>>()

/** @internal */
export const fallbacksFor = (operation: string): Metric.Metric.Counter<number> => {
  let metric = taggedFallbacks.get(operation)
  if (metric === undefined) {
    metric = Metric.tagged(fallbacksTotal, "operation", operation)
    taggedFallbacks.set(operation, metric)
  }
  return metric
}

/** @internal */
export const fallbackCount = (operation: string): Effect.Effect<number> =>
  Effect.map(Metric.value(fallbacksFor(operation)), (state) => state.count)

/** @internal */
export const script = (source: string): Script => ({
  source,
  sha: createHash("sha1").update(source).digest("hex")
})

/** @internal */
export const failIfIssues = (issues: ReadonlyArray<string>): Effect.Effect<void, RedisConfigError> =>
  issues.length === 0 ? Effect.void : Effect.fail(new RedisConfigError({ issues }))

/**
 * A short, secret-free description of a failure: ioredis errors carry the command and its arguments (a
 * token, for a SET) in properties; only the message's first line is kept, and it is bounded.
 */
export const describeCause = (cause: unknown): string => {
  const message = cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown error"
  const line = message.split("\n")[0] ?? ""
  return line.length > 160 ? `${line.slice(0, 160)}…` : line
}

/** @internal */
export const makeService = (client: Redis, settings: Settings): Service => {
  // The cool-down after a timeout is kept per group of operations (`token`, `gate`, `ratelimit`): a slow
  // hot-path read must not make the (rarer, more patient) token operations give up too.
  const cooldowns = new Map<string, number>()
  const warnings = new Map<string, { at: number; suppressed: number }>()
  const groupOf = (operation: string) => operation.split(".")[0] ?? operation

  const run = <A>(
    operation: string,
    f: (client: Redis) => Promise<A>,
    timeout?: Duration.DurationInput
  ): Effect.Effect<A, RedisError> =>
    Effect.suspend(() => {
      // Fast path while the connection is down: no command is queued, nothing waits.
      if (client.status !== "ready") {
        return Effect.fail(new RedisError({ operation, reason: "Unavailable", detail: `connection ${client.status}` }))
      }
      const group = groupOf(operation)
      const timeoutMillis = timeout === undefined ? settings.timeoutMillis : Duration.toMillis(timeout)
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const cooldownUntil = cooldowns.get(group) ?? 0
        if (now < cooldownUntil) {
          return Effect.fail(
            new RedisError({ operation, reason: "Cooldown", detail: `retrying Redis in ${cooldownUntil - now} ms` })
          )
        }
        return Effect.tryPromise({
          try: () => f(client),
          catch: (cause) => new RedisError({ operation, reason: "Failed", detail: describeCause(cause) })
        }).pipe(
          // A command sent cannot be taken back: the timeout stops waiting for it, also where the caller is
          // uninterruptible (a finalizer handing back a reserved slot), instead of waiting it out.
          Effect.disconnect,
          Effect.timeoutFail({
            duration: Duration.millis(timeoutMillis),
            onTimeout: () => new RedisError({ operation, reason: "Timeout", detail: `${timeoutMillis} ms` })
          }),
          Effect.tapError((error) =>
            error.reason === "Timeout" && settings.cooldownMillis > 0
              ? Effect.map(Clock.currentTimeMillis, (at) => {
                cooldowns.set(group, at + settings.cooldownMillis)
              })
              : Effect.void
          )
        )
      })
    })

  const runScript = (
    operation: string,
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>,
    timeout?: Duration.DurationInput
  ): Effect.Effect<unknown, RedisError> =>
    run(operation, async (redis) => {
      try {
        return await redis.evalsha(script.sha, keys.length, ...keys, ...args)
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
          return await redis.eval(script.source, keys.length, ...keys, ...args)
        }
        throw error
      }
    }, timeout)

  const fallback = (operation: string, error: RedisError): Effect.Effect<void> =>
    Effect.zipRight(
      Metric.increment(fallbacksFor(operation)),
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const last = warnings.get(operation)
        if (last !== undefined && now - last.at < settings.warnEveryMillis) {
          last.suppressed += 1
          return Effect.void
        }
        warnings.set(operation, { at: now, suppressed: 0 })
        const suppressed = last !== undefined && last.suppressed > 0
          ? ` (${last.suppressed} more since the previous warning)`
          : ""
        return Effect.logWarning(
          `${error.message} Falling back to per-process state for ${operation}${suppressed}.`
        ).pipe(Effect.annotateLogs({ "bulwark.redis.operation": operation, "bulwark.redis.reason": error.reason }))
      })
    )

  return {
    client,
    prefix: settings.prefix,
    key: (...parts) => settings.prefix + parts.join(":"),
    run,
    script: runScript,
    fallback
  }
}

const endpointOf = (client: Redis): string => `${client.options.host ?? "?"}:${client.options.port ?? "?"}`

const disconnect = (client: Redis): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (client.status !== "ready") return Effect.sync(() => client.disconnect())
    return Effect.promise(() => client.quit().catch(() => undefined)).pipe(
      Effect.timeout(Duration.seconds(1)),
      Effect.catchAll(() => Effect.void),
      Effect.ensuring(Effect.sync(() => client.disconnect()))
    )
  })

/** @internal */
export const make = (options?: LayerOptions): Effect.Effect<Service, RedisConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const issues: Array<string> = []
    const { connectTimeoutMillis, redis, settings } = validateLayer(options, issues)
    yield* failIfIssues(issues)
    const connectionDefaults: RedisOptions = {
      // Fail fast while disconnected instead of queueing commands that nobody waits for.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: connectTimeoutMillis
    }
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        typeof redis === "string"
          ? new Redis(redis, { ...connectionDefaults, lazyConnect: true })
          : new Redis({ ...connectionDefaults, ...redis, lazyConnect: true })
      ),
      disconnect
    )
    // ioredis reports connection errors as events; without a listener it prints them. They surface as
    // failed operations (with a rate-limited warning) instead.
    let lastError: string | undefined
    client.on("error", (error) => {
      lastError = describeCause(error)
    })
    const service = makeService(client, settings)
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) => new RedisError({ operation: "connect", reason: "Failed", detail: describeCause(cause) })
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(connectTimeoutMillis),
        onTimeout: () =>
          new RedisError({ operation: "connect", reason: "Timeout", detail: `${connectTimeoutMillis} ms` })
      }),
      Effect.catchAll((error) =>
        service.fallback(
          "connect",
          new RedisError({
            operation: "connect",
            reason: error.reason,
            detail: `${endpointOf(client)}: ${lastError ?? error.detail ?? "no detail"}; reconnecting in the background`
          })
        )
      )
    )
    return service
  })

/** @internal */
export const fromClient = (client: Redis, options?: ConnectionOptions): Effect.Effect<Service, RedisConfigError> =>
  Effect.suspend(() => {
    const issues: Array<string> = []
    const settings = validateConnection(options, issues)
    return Effect.as(failIfIssues(issues), makeService(client, settings))
  })

/**
 * A component's layer on a connection of its own (`connection` is `layer(options)` or `layerClient(...)`),
 * reporting the component's and the connection's option problems together.
 */
export const withOwnConnection = <A, E, R>(
  component: Layer.Layer<A, E, R>,
  componentIssues: ReadonlyArray<string>,
  options: (LayerOptions & ConnectionOptions) | undefined,
  connection: Layer.Layer<RedisConnection, RedisConfigError>
): Layer.Layer<A, E | RedisConfigError, Exclude<R, RedisConnection>> => {
  const issues = [...componentIssues]
  validateLayer(options, issues)
  if (issues.length > 0) return Layer.fail(new RedisConfigError({ issues }))
  return component.pipe(Layer.provide(connection)) as Layer.Layer<A, E | RedisConfigError, Exclude<R, RedisConnection>>
}

/**
 * A component's two own-connection layers from its `layerWithConnection`: on a connection the layer opens
 * (`layer(options)`) and on an ioredis client you own (`layerClient(client, options)`).
 */
export const ownConnectionLayers = <A, O>(
  layerWithConnection: (options: O) => Layer.Layer<A, RedisConfigError, RedisConnection>,
  issuesOf: (options: O) => ReadonlyArray<string>
) => ({
  // Optional here: each component's exported signature says whether its options are required.
  layer: (options?: NonNullable<O> & LayerOptions): Layer.Layer<A, RedisConfigError> =>
    withOwnConnection(layerWithConnection(options as O), issuesOf(options as O), options, layer(options)),
  layerClient: (client: Redis, options?: NonNullable<O> & ConnectionOptions): Layer.Layer<A, RedisConfigError> =>
    withOwnConnection(
      layerWithConnection(options as O),
      issuesOf(options as O),
      options,
      layerClient(client, options)
    )
})

/** @internal */
export const layer = (options?: LayerOptions): Layer.Layer<RedisConnection, RedisConfigError> =>
  Layer.scoped(RedisConnection, make(options))

/** @internal */
export const layerClient = (
  client: Redis,
  options?: ConnectionOptions
): Layer.Layer<RedisConnection, RedisConfigError> => Layer.effect(RedisConnection, fromClient(client, options))
