import { TrafficStore } from "@bulwark/http-client"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Redis } from "ioredis"
import {
  type ConnectionOptions,
  type LayerOptions,
  RedisConfigError,
  RedisConnection,
  type RedisError,
  type Service as Connection
} from "../RedisConnection.js"
import type { Options } from "../RedisTrafficStore.js"
import * as connection from "./connection.js"
import { trafficStoreIssues, validateTrafficStore } from "./options.js"

// Compare-and-set in one step: the write happens only if the stored state is still the one the decision was
// taken on (and no replica holds the origin's turn, below); otherwise the current state comes back. A
// decision that changes nothing is checked the same way, so it never rests on a state another replica has
// since replaced (a pause a 429 started elsewhere, a slot taken elsewhere).
const casScript = connection.script(`
local current = redis.call("GET", KEYS[1])
if current == false then current = "" end
if redis.call("EXISTS", KEYS[2]) == 1 or current ~= ARGV[1] then return {0, current} end
if ARGV[2] ~= ARGV[1] then redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end
return {1, ""}
`)

// After a lost compare-and-set, the replica takes the origin's turn (a short lease) so that a busy replica's
// stream of first attempts cannot keep its retries losing: while the turn is held, every other replica's
// compare-and-set fails, and the holder decides on the current state and writes without a race.
const takeTurnScript = connection.script(`
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then
  local current = redis.call("GET", KEYS[1])
  if current == false then current = "" end
  return {1, current}
end
return {0, ""}
`)

const commitScript = connection.script(`
if redis.call("GET", KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[3] ~= ARGV[2] then redis.call("SET", KEYS[1], ARGV[3], "PX", ARGV[4]) end
redis.call("DEL", KEYS[2])
return 1
`)

/** How long a turn is held at most (a replica that dies holding it blocks the others this long). */
const TURN_MILLIS = 200

/** Attempts at taking the turn (1 ms apart) before the decision falls back to this replica's own state. */
const MAX_TURN_ATTEMPTS = 50

/** @internal */
export const make = (options?: Options): Effect.Effect<TrafficStore.Service, RedisConfigError, RedisConnection> =>
  Effect.gen(function*() {
    const conn = yield* RedisConnection
    const issues: Array<string> = []
    const { idleTtlMillis } = validateTrafficStore(options, issues)
    if (issues.length > 0) return yield* Effect.fail(new RedisConfigError({ issues }))
    return makeWith(conn, idleTtlMillis)
  })

const makeWith = (conn: Connection, idleTtlMillis: number): TrafficStore.Service => {
  // The state last seen per origin: the first compare-and-set is tried on it, which saves a read whenever no
  // other replica wrote in between.
  const seen = new Map<string, string>()
  // This process's decisions on one origin go to Redis one at a time: concurrent ones would only make each
  // other's compare-and-set fail (a round trip each). What remains is contention between replicas.
  const locks = new Map<string, Effect.Semaphore>()
  const lockOf = (origin: string): Effect.Semaphore => {
    let lock = locks.get(origin)
    if (lock === undefined) {
      lock = Effect.unsafeMakeSemaphore(1)
      locks.set(origin, lock)
    }
    return lock
  }

  let turns = 0

  const failure = (error: RedisError) =>
    Effect.zipRight(
      conn.fallback("traffic.modify", error),
      Effect.fail(new TrafficStore.TrafficStoreError({ reason: error.reason, detail: error.detail ?? error.operation }))
    )

  const remember = (origin: string, text: string) => {
    if (text === "") seen.delete(origin)
    else seen.set(origin, text)
  }

  const modify = <A>(
    origin: string,
    update: (stored: string | undefined) => readonly [A, string]
  ): Effect.Effect<A, TrafficStore.TrafficStoreError> => {
    const keys = [conn.key("traffic", origin), conn.key("traffic-turn", origin)]

    // The first attempt: optimistic, on the state last seen; one round trip when no one wrote in between.
    const optimistic = Effect.suspend(() => {
      const stored = seen.get(origin)
      const [result, next] = update(stored)
      return conn.script("traffic.modify", casScript, keys, [stored ?? "", next, idleTtlMillis]).pipe(
        Effect.catchAll(failure),
        Effect.flatMap((reply) => {
          const [written, current] = Array.isArray(reply) ? reply : [0, ""]
          if (written === 1) {
            seen.set(origin, next)
            return Effect.succeed(Option.some(result))
          }
          remember(origin, typeof current === "string" ? current : "")
          return Effect.succeed(Option.none<A>())
        })
      )
    })

    // Lost: take the turn, decide on the current state, write and give the turn back.
    const withTurn = (left: number): Effect.Effect<A, TrafficStore.TrafficStoreError> => {
      const token = `${process.pid}-${++turns}`
      return conn.script("traffic.modify", takeTurnScript, keys, [token, TURN_MILLIS]).pipe(
        Effect.catchAll(failure),
        Effect.flatMap((reply): Effect.Effect<A, TrafficStore.TrafficStoreError> => {
          const [taken, current] = Array.isArray(reply) ? reply : [0, ""]
          if (taken !== 1) {
            if (left <= 1) {
              return Effect.fail(
                new TrafficStore.TrafficStoreError({ reason: "Conflict", detail: "the origin's turn stayed taken" })
              )
            }
            return Effect.zipRight(Effect.sleep(Duration.millis(1)), withTurn(left - 1))
          }
          const stored = typeof current === "string" && current !== "" ? current : undefined
          const [result, next] = update(stored)
          return conn.script("traffic.modify", commitScript, keys, [token, stored ?? "", next, idleTtlMillis]).pipe(
            Effect.catchAll(failure),
            Effect.flatMap((committed) => {
              if (committed !== 1) {
                // The turn expired before the write (Redis or this process stalled for TURN_MILLIS).
                seen.delete(origin)
                return Effect.fail(
                  new TrafficStore.TrafficStoreError({
                    reason: "Conflict",
                    detail: "the turn expired before the write"
                  })
                )
              }
              seen.set(origin, next)
              return Effect.succeed(result)
            })
          )
        })
      )
    }

    return lockOf(origin).withPermits(1)(
      Effect.flatMap(
        optimistic,
        (decided) => Option.isSome(decided) ? Effect.succeed(decided.value) : withTurn(MAX_TURN_ATTEMPTS)
      )
    )
  }

  return { modify }
}

/** @internal */
export const layerWithConnection = (
  options?: Options
): Layer.Layer<TrafficStore.TrafficStore, RedisConfigError, RedisConnection> =>
  Layer.effect(TrafficStore.TrafficStore, make(options))

/** @internal */
export const layer = (
  options?: Options & LayerOptions
): Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> =>
  connection.withOwnConnection(
    layerWithConnection(options),
    trafficStoreIssues(options),
    options,
    connection.layer(options)
  )

/** @internal */
export const layerClient = (
  client: Redis,
  options?: Options & ConnectionOptions
): Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> =>
  connection.withOwnConnection(
    layerWithConnection(options),
    trafficStoreIssues(options),
    options,
    connection.layerClient(client, options)
  )
