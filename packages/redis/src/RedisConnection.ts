/**
 * The Redis connection every component of this package runs on: one `ioredis` client, the key namespace
 * (`bulwark:<keyPrefix>:`), a short timeout on every operation, and the fallback bookkeeping (a metric and a
 * rate-limited warning) used when Redis is down or slow.
 *
 * Components take the connection from the context, so `RedisFleet.layer` builds the token store, the 429
 * gate and the rate limiter on one connection; each component's own `layer` opens a private one.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Redis, RedisOptions } from "ioredis"
import * as internal from "./internal/connection.js"

/**
 * A Redis operation that did not complete: `Unavailable` (not connected: nothing was sent), `Timeout`
 * (no answer within the operation timeout), `Cooldown` (skipped because an operation timed out moments
 * ago) or `Failed` (Redis answered with an error, or the stored data is unusable). Its message never
 * contains a stored value or a command argument.
 *
 * @since 0.1.0
 * @category errors
 */
export class RedisError extends Schema.TaggedError<RedisError>("@bulwark/redis/RedisError")("RedisError", {
  operation: Schema.String,
  reason: Schema.Literal("Unavailable", "Timeout", "Cooldown", "Failed"),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const detail = this.detail === undefined ? "" : ` (${this.detail})`
    switch (this.reason) {
      case "Unavailable":
        return `Redis is not connected, so ${this.operation} was not attempted${detail}.`
      case "Timeout":
        return `Redis did not answer ${this.operation} in time${detail}.`
      case "Cooldown":
        return `Redis was skipped for ${this.operation}: an operation timed out moments ago${detail}.`
      case "Failed":
        return `Redis failed during ${this.operation}${detail}.`
    }
  }
}

/**
 * Invalid options: the message lists every problem and never echoes a value (an option may hold a secret).
 *
 * @since 0.1.0
 * @category errors
 */
export class RedisConfigError extends Schema.TaggedError<RedisConfigError>("@bulwark/redis/RedisConfigError")(
  "RedisConfigError",
  { issues: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `Invalid @bulwark/redis options: ${this.issues.join("; ")}. Fix the options passed to the layer.`
  }
}

/**
 * Options of a connection, whoever owns the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  /** Keys are `bulwark:<keyPrefix>:...`. 1–100 printable ASCII characters, no spaces. Default: `"default"`. */
  readonly keyPrefix?: string | undefined
  /**
   * The timeout of each Redis operation on a request's path (429 gate, rate limit): the most a slow Redis
   * adds to an attempt. The token store has its own (`RedisTokenStore.Options.operationTimeout`). Default:
   * 500 ms.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * After an operation timed out, Redis is skipped for operations of the same kind (token, gate, rate limit)
   * for this long: they fall back at once instead of each waiting for the timeout. `0` disables it.
   * Default: 1 s.
   */
  readonly cooldown?: Duration.DurationInput | undefined
  /** At most one fallback warning per operation this often (the metric counts every one). Default: 30 s. */
  readonly warnEvery?: Duration.DurationInput | undefined
}

/**
 * Options of a connection the layer opens (and closes with its scope).
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends ConnectionOptions {
  /**
   * A `redis://` or `rediss://` URL, or ioredis options. Default: `redis://127.0.0.1:6379`. The layer sets
   * `lazyConnect`, and defaults `enableOfflineQueue: false` and `maxRetriesPerRequest: 1` so that commands
   * fail at once while the connection is down instead of queueing.
   */
  readonly redis?: string | RedisOptions | undefined
  /** How long building the layer waits for the connection; after that it starts degraded. Default: 2 s. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * A Lua script, run with `EVALSHA` (and `EVAL` once when the server does not know it yet).
 *
 * @since 0.1.0
 * @category models
 */
export interface Script {
  readonly source: string
  readonly sha: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The ioredis client. */
  readonly client: Redis
  /** `bulwark:<keyPrefix>:` */
  readonly prefix: string
  /** The namespaced key of `parts`, joined with `:`. */
  readonly key: (...parts: ReadonlyArray<string>) => string
  /**
   * Runs one operation with the connection's timeout (or `timeout`). Fails at once, without sending
   * anything, while the connection is not ready, or during the cool-down that follows a timeout of an
   * operation of the same group (the part of `operation` before the first `.`).
   */
  readonly run: <A>(
    operation: string,
    f: (client: Redis) => Promise<A>,
    timeout?: Duration.DurationInput
  ) => Effect.Effect<A, RedisError>
  /** Runs a Lua script, like `run`. */
  readonly script: (
    operation: string,
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>,
    timeout?: Duration.DurationInput
  ) => Effect.Effect<unknown, RedisError>
  /** Records a fallback to per-process state: increments the metric and logs a rate-limited warning. */
  readonly fallback: (operation: string, error: RedisError) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RedisConnection extends Context.Tag("@bulwark/redis/RedisConnection")<RedisConnection, Service>() {}

/**
 * Opens a connection for the lifetime of the scope. Building it waits for the connection up to
 * `connectTimeout`; if Redis is unreachable it logs a warning and starts degraded (every component falls back
 * to per-process state) while ioredis keeps reconnecting in the background.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: LayerOptions) => Effect.Effect<Service, RedisConfigError, Scope.Scope> = internal.make

/**
 * A connection on a client you own: it is neither connected nor closed here (connect it first). Its
 * options are yours; with the offline queue enabled, operations while disconnected still fail at once,
 * since the connection's status is checked first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient: (client: Redis, options?: ConnectionOptions) => Effect.Effect<Service, RedisConfigError> =
  internal.fromClient

/**
 * A connection the layer opens and closes (`QUIT`, then disconnect) with its scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: LayerOptions) => Layer.Layer<RedisConnection, RedisConfigError> = internal.layer

/**
 * A connection on a client you own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: (
  client: Redis,
  options?: ConnectionOptions
) => Layer.Layer<RedisConnection, RedisConfigError> = internal.layerClient

/**
 * Compiles a Lua script for {@link Service.script}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const script: (source: string) => Script = internal.script

/**
 * `bulwark_redis_fallbacks_total{operation}`: operations that fell back to per-process state because
 * Redis was down, slow or failing. `operation` is one of `connect`, `token.get`, `token.set`,
 * `token.compareAndDelete`, `token.lock`, `token.unlock`, `gate.read`, `gate.close`, `ratelimit.acquire`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const fallbacksTotal: Metric.Metric.Counter<number> = internal.fallbacksTotal

/**
 * The process-wide count of fallbacks of one operation.
 *
 * @since 0.1.0
 * @category metrics
 */
export const fallbackCount: (operation: string) => Effect.Effect<number> = internal.fallbackCount
