import { RateLimitGate } from "@bulwark/http-client"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Redis } from "ioredis"
import {
  type ConnectionOptions,
  type LayerOptions,
  RedisConfigError,
  RedisConnection,
  type Service as Connection
} from "../RedisConnection.js"
import type { Options } from "../RedisRateLimitGate.js"
import * as connection from "./connection.js"
import { gateIssues, validateGate } from "./options.js"

// Extends a cool-down, never shortens it: the read (PTTL), the comparison and the write must be one
// atomic step, or a short Retry-After seen by one replica could overwrite a longer one seen by another.
// The cool-down is the key's TTL on Redis' clock, so replicas with skewed clocks still agree on when it ends.
const closeScript = connection.script(`
local ms = tonumber(ARGV[1])
if redis.call("PTTL", KEYS[1]) >= ms then return 0 end
redis.call("SET", KEYS[1], "1", "PX", ms)
return 1
`)

interface Entry {
  /** Until when this replica closed the origin itself (kept when Redis is unavailable). */
  local: number
  /** Until when Redis said the origin is closed, as of `readAt`. */
  remote: number
  readAt: number
  /** The read in flight, if any: concurrent attempts share it instead of each sending a PTTL. */
  pending: Deferred.Deferred<void> | undefined
}

/** @internal */
export const make = (options?: Options): Effect.Effect<RateLimitGate.Service, RedisConfigError, RedisConnection> =>
  Effect.gen(function*() {
    const conn = yield* RedisConnection
    const issues: Array<string> = []
    const { maxCooldownMillis, refreshMillis } = validateGate(options, issues)
    if (issues.length > 0) return yield* Effect.fail(new RedisConfigError({ issues }))
    return makeWith(conn, refreshMillis, maxCooldownMillis)
  })

const makeWith = (conn: Connection, refreshMillis: number, maxCooldownMillis: number): RateLimitGate.Service => {
  const entries = new Map<string, Entry>()
  const entryOf = (origin: string): Entry => {
    let entry = entries.get(origin)
    if (entry === undefined) {
      entry = { local: 0, remote: 0, readAt: Number.NEGATIVE_INFINITY, pending: undefined }
      entries.set(origin, entry)
    }
    return entry
  }
  const answer = (entry: Entry, now: number): Option.Option<number> => {
    const until = Math.max(entry.local, entry.remote)
    return until > now ? Option.some(until) : Option.none()
  }

  const read = (origin: string, entry: Entry): Effect.Effect<void> =>
    conn.run("gate.read", (redis: Redis) => redis.pttl(conn.key("gate", origin))).pipe(
      Effect.flatMap((pttl) =>
        Effect.map(Clock.currentTimeMillis, (after) => {
          // Never more than maxCooldown, even if Redis' clock stepped back and stretched the TTL.
          entry.remote = pttl > 0 ? after + Math.min(pttl, maxCooldownMillis) : 0
          entry.readAt = after
        })
      ),
      // Redis unavailable: this replica's own cool-downs (and the last one it read) still hold.
      Effect.catchAll((error) => conn.fallback("gate.read", error))
    )

  const closedUntil = (origin: string): Effect.Effect<Option.Option<number>> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const entry = entryOf(origin)
        if (now - entry.readAt < refreshMillis) return Effect.succeed(answer(entry, now))
        const pending = entry.pending
        const wait = pending !== undefined ? Deferred.await(pending) : Effect.suspend(() => {
          const mine = Deferred.unsafeMake<void>(FiberId.none)
          entry.pending = mine
          return read(origin, entry).pipe(
            Effect.ensuring(Effect.suspend(() => {
              entry.pending = undefined
              return Deferred.succeed(mine, undefined)
            }))
          )
        })
        return Effect.zipRight(wait, Effect.map(Clock.currentTimeMillis, (after) => answer(entry, after)))
      }))

  const close = (origin: string, until: number): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const entry = entryOf(origin)
      const ms = Math.min(Math.ceil(until - now), maxCooldownMillis)
      if (ms <= 0) return Effect.void
      entry.local = Math.max(entry.local, now + ms)
      return conn.script("gate.close", closeScript, [conn.key("gate", origin)], [ms]).pipe(
        Effect.asVoid,
        Effect.catchAll((error) => conn.fallback("gate.close", error))
      )
    })

  return { closedUntil, close }
}

/** @internal */
export const layerWithConnection = (
  options?: Options
): Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError, RedisConnection> =>
  Layer.effect(RateLimitGate.RateLimitGate, make(options))

const own = connection.ownConnectionLayers(layerWithConnection, gateIssues)

/** @internal */
export const layer: (options?: Options & LayerOptions) => Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError> =
  own.layer

/** @internal */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<RateLimitGate.RateLimitGate, RedisConfigError> = own.layerClient
