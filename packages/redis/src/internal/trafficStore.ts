import { TrafficStore } from "@bulwark/http-client"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Redis } from "ioredis"
import { randomBytes } from "node:crypto"
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
redis.call("DEL", KEYS[2])
local current = redis.call("GET", KEYS[1])
if current == false then current = "" end
if current ~= ARGV[2] then return 0 end
if ARGV[3] ~= ARGV[2] then redis.call("SET", KEYS[1], ARGV[3], "PX", ARGV[4]) end
return 1
`)

const releaseTurnScript = connection.script(`
if redis.call("GET", KEYS[2]) == ARGV[1] then redis.call("DEL", KEYS[2]) end
return 1
`)

/**
 * How long a turn is held at most: a replica that dies holding it blocks the others this long. Longer than a
 * slow Redis' answers (the default operation timeout is 500 ms), or every commit would find its turn gone.
 */
const TURN_MILLIS = 1_000

/** How long a decision tries to take the turn (1 ms apart) before it falls back to this replica's own state. */
const TURN_WAIT_MILLIS = 200

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
  // `PX` takes whole milliseconds.
  const ttl = Math.ceil(idleTtlMillis)
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
      return conn.script("traffic.modify", casScript, keys, [stored ?? "", next, ttl]).pipe(
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
    const withTurn = (giveUpAt: number): Effect.Effect<A, TrafficStore.TrafficStoreError> => {
      // Random: a pid and a counter repeat across containers, and a replica whose turn expired must not
      // release another's.
      const token = randomBytes(12).toString("base64url")
      return conn.script("traffic.modify", takeTurnScript, keys, [token, TURN_MILLIS]).pipe(
        Effect.catchAll(failure),
        Effect.flatMap((reply): Effect.Effect<A, TrafficStore.TrafficStoreError> => {
          const [taken, current] = Array.isArray(reply) ? reply : [0, ""]
          if (taken !== 1) {
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              now >= giveUpAt
                ? Effect.fail(
                  new TrafficStore.TrafficStoreError({ reason: "Conflict", detail: "the origin's turn stayed taken" })
                )
                : Effect.zipRight(Effect.sleep(Duration.millis(1)), withTurn(giveUpAt)))
          }
          if (typeof current !== "string") {
            return Effect.fail(new TrafficStore.TrafficStoreError({ reason: "Failed", detail: "unexpected reply" }))
          }
          const stored = current !== "" ? current : undefined
          // Interrupted between taking the turn and the commit: give the turn back at once rather than hold
          // the fleet's decisions until it expires.
          const release = conn.script("traffic.modify", releaseTurnScript, keys, [token]).pipe(
            Effect.ignore,
            Effect.forkDaemon,
            Effect.asVoid
          )
          const [result, next] = update(stored)
          return conn.script("traffic.modify", commitScript, keys, [token, stored ?? "", next, ttl]).pipe(
            Effect.catchAll(failure),
            Effect.flatMap((committed) => {
              if (committed !== 1) {
                // The turn expired before the write (Redis or this process stalled for TURN_MILLIS), and the
                // state may have moved on: nothing was written.
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
            }),
            Effect.onInterrupt(() => release)
          )
        })
      )
    }

    return lockOf(origin).withPermits(1)(
      Effect.flatMap(
        optimistic,
        (decided) =>
          Option.isSome(decided)
            ? Effect.succeed(decided.value)
            : Effect.flatMap(Clock.currentTimeMillis, (now) => withTurn(now + TURN_WAIT_MILLIS))
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

const own = connection.ownConnectionLayers(layerWithConnection, trafficStoreIssues)

/** @internal */
export const layer: (options?: Options & LayerOptions) => Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> =
  own.layer

/** @internal */
export const layerClient: (
  client: Redis,
  options?: Options & ConnectionOptions
) => Layer.Layer<TrafficStore.TrafficStore, RedisConfigError> = own.layerClient
