// Cost of each Redis-backed operation, measured against the Redis at REDIS_URL (default: local).
// Usage: node bench/ops.mjs [ops per operation, default 500]. Needs a build (`nx run @bulwark/redis:bench`).
import { AccessToken, TokenStore } from "@bulwark/auth-token"
import { RateLimitGate, TrafficStore } from "@bulwark/http-client"
import { RedisFleet, RedisRateLimiter } from "@bulwark/redis"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const n = Number(process.argv[2] ?? 500)
const prefix = `bench-${process.pid}-${Date.now()}`

const measure = (name, effect) =>
  Effect.gen(function*() {
    for (let i = 0; i < 20; i++) yield* effect // warm-up
    const samples = []
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint()
      yield* effect
      samples.push(Number(process.hrtime.bigint() - start) / 1000)
    }
    samples.sort((a, b) => a - b)
    const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))].toFixed(0)
    return { operation: name, "median µs": at(0.5), "p90 µs": at(0.9), "p99 µs": at(0.99) }
  })

const program = Effect.gen(function*() {
  const context = yield* Layer.build(
    RedisFleet.layer({ redis: url, keyPrefix: prefix, rateLimit: { limit: 1_000_000, window: "1 second" } })
  )
  const store = Context.get(context, TokenStore.TokenStore)
  const gate = Context.get(context, RateLimitGate.RateLimitGate)
  const limiter = Context.get(context, RedisRateLimiter.RedisRateLimiter)
  const traffic = Context.get(context, TrafficStore.TrafficStore)
  const raw = new Redis(url)
  const token = yield* AccessToken.make({ value: "bench-token-value", expiresIn: "1 hour" })
  const other = yield* AccessToken.make({ value: "another-value", expiresIn: "1 hour" })
  yield* store.set(token)
  const origin = "https://api.partner.example"
  const rows = []
  rows.push(yield* measure("ioredis PTTL (reference, no Effect)", Effect.promise(() => raw.pttl("nothing"))))
  rows.push(yield* measure("token store get (MULTI GET+PTTL)", store.get))
  rows.push(yield* measure("token store set (SET PX)", store.set(token)))
  rows.push(yield* measure("token store compareAndDelete, no match (Lua)", store.compareAndDelete(other)))
  rows.push(
    yield* measure("refresh lock, free: acquire + release (SET NX PX, Lua)", store.withRefreshLock(Effect.void))
  )
  rows.push(yield* measure("gate closedUntil (PTTL)", gate.closedUntil(origin)))
  rows.push(yield* measure("gate close (Lua)", Effect.suspend(() => gate.close(origin, Date.now() + 60_000))))
  rows.push(yield* measure("rate limit reserve (Lua GCRA)", limiter.reserve("bench")))
  // A traffic controller decision that changes the state (a slot taken: ~300 bytes of JSON) and one that only
  // checks it (the compare-and-set of an unchanged state), uncontended.
  let slot = 0
  const state = () => JSON.stringify({ tat: slot++, notBefore: 0, interval: 20, padding: "x".repeat(250) })
  rows.push(yield* measure("traffic decision, state changed (Lua CAS)", traffic.modify(origin, () => [0, state()])))
  rows.push(
    yield* measure("traffic decision, state unchanged (Lua CAS)", traffic.modify(origin, (stored) => [0, stored ?? ""]))
  )
  console.table(rows)
  const keys = yield* Effect.promise(() => raw.keys(`bulwark:${prefix}:*`))
  if (keys.length > 0) yield* Effect.promise(() => raw.del(...keys))
  yield* Effect.promise(() => raw.quit())
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exit(1)
})
