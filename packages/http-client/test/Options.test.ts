import { ApiClient, Plugins, RateLimitGate } from "@bulwark/http-client"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Option, Random, Redacted, Schema } from "effect"
import { type Answer, makeFakeApi, runFor, type Sent } from "./fakeApi.js"

const BASE = "https://api.example.com/v1"
const Item = Schema.Struct({ id: Schema.String })
const ok = { status: 200, body: { id: "a" } } as const

const client = (answer: (sent: Sent, index: number) => Answer, config: Partial<ApiClient.ClientConfig> = {}) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeApi(answer)
    const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none", ...config }).pipe(
      Effect.provideService(HttpClient.HttpClient, fake.client)
    )
    return { api, sent: fake.sent }
  })

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(3))

describe("retry options mean what they say", () => {
  it.scoped("retry: false sends one request whatever the error, Retry-After included", () =>
    seeded(Effect.gen(function*() {
      for (const answer of [{ status: 503 }, { status: 429, headers: { "retry-after": "1" } }] as const) {
        const { api, sent } = yield* client(() => answer, { retry: false, budget: false })
        const exit = yield* runFor(api.get("/items/1", Item), "1 minute")
        expect(exit._tag).toBe("Failure")
        expect(yield* sent).toHaveLength(1)
      }
    })))

  it.scoped("maxRetries: 0 stops transient retries; maxRateLimitRetries bounds Retry-After waits", () =>
    seeded(Effect.gen(function*() {
      const transient = yield* client(() => ({ status: 503 }), { retry: { maxRetries: 0 }, budget: false })
      yield* runFor(transient.api.get("/items/1", Item), "1 minute")
      expect(yield* transient.sent).toHaveLength(1)
      const limited = yield* client(() => ({ status: 503, headers: { "retry-after": "1" } }), {
        retry: { maxRetries: 0, maxRateLimitRetries: 2 },
        budget: false,
        deadline: "5 minutes"
      })
      yield* runFor(limited.api.get("/items/1", Item), "2 minutes")
      expect(yield* limited.sent).toHaveLength(3)
    })))

  it.scoped("time spent waiting before retries is recorded: backoff by reason, Retry-After at the origin", () =>
    seeded(Effect.gen(function*() {
      const before = yield* Plugins.retryWaitMillis
      const backoff = yield* client((_, i) => i < 2 ? { status: 503 } : ok, {
        budget: false,
        retry: { base: "1 second" }
      })
      expect((yield* runFor(backoff.api.get("/items/1", Item), "1 minute"))._tag).toBe("Success")
      const after = yield* Plugins.retryWaitMillis
      expect(after["5xx"] - before["5xx"]).toBeGreaterThan(0)

      // A Retry-After is waited out in the origin's queue, where every call waits: the origin wait metrics.
      const waitedBefore = (yield* Metric.value(Plugins.metrics.gateWaitMillis)).count
      const told = yield* client((_, i) => i < 2 ? { status: 503, headers: { "retry-after": "2" } } : ok, {
        budget: false
      })
      expect((yield* runFor(told.api.get("/items/1", Item), "1 minute"))._tag).toBe("Success")
      const waited = (yield* Metric.value(Plugins.metrics.gateWaitMillis)).count - waitedBefore
      expect(waited).toBeGreaterThanOrEqual(4_000)
    })))
})

describe("auth is explicit", () => {
  it.effect("no auth and no TokenProvider is a ConfigError that says how to choose", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const error = yield* Effect.flip(
        Effect.scoped(ApiClient.make({ baseUrl: BASE }).pipe(Effect.provideService(HttpClient.HttpClient, fake.client)))
      )
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toContain("auth: is required")
      expect(error.message).toContain("\"none\"")
    }))

  it.scoped("auth: \"none\" sends no Authorization; auth: { token } sends that token", () =>
    Effect.gen(function*() {
      const none = yield* client(() => ok)
      yield* none.api.get("/items/1", Item)
      expect((yield* none.sent)[0]!.authorization).toBeUndefined()
      const fixed = yield* client(() => ok, { auth: { token: Redacted.make("static-1") } })
      yield* fixed.api.get("/items/1", Item)
      expect((yield* fixed.sent)[0]!.authorization).toBe("Bearer static-1")
    }))

  it.effect("a mistake inside one auth form is reported against that form alone, never echoing values", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const error = yield* Effect.flip(
        Effect.scoped(
          ApiClient.make({
            baseUrl: BASE,
            auth: { tokenUrl: "https://auth.example.com/token", clientId: "c", clientSecret: "leak-me" as never },
            retry: { maxRetries: -1 }
          }).pipe(Effect.provideService(HttpClient.HttpClient, fake.client))
        )
      )
      expect(error._tag).toBe("ConfigError")
      const paths = error._tag === "ConfigError" ? error.issues.map((issue) => issue.path) : []
      expect(paths).toEqual(["retry.maxRetries", "auth.clientSecret"])
      expect(error.message).not.toContain("leak-me")
      expect(error.message).not.toContain("Expected \"none\"")
      expect(error.message).not.toContain("Expected false")
    }))
})

describe("per-call options", () => {
  it.scoped("deadline and attemptTimeout per call fail in the ApiError channel", () =>
    seeded(Effect.gen(function*() {
      const { api } = yield* client(() => ({ hang: true }), { budget: false })
      const byDeadline = yield* runFor(api.get("/items/1", Item, { deadline: "3 seconds" }), "10 seconds")
      expect(byDeadline._tag === "Failure" && JSON.stringify(byDeadline.cause)).toContain("\"phase\":\"deadline\"")
      const { api: second, sent } = yield* client(() => ({ hang: true }), {
        budget: false,
        retry: { maxRetries: 1 }
      })
      const byAttempt = yield* runFor(second.get("/items/1", Item, { attemptTimeout: "1 second" }), "10 seconds")
      expect(byAttempt._tag).toBe("Failure")
      // Two attempts of one second each, well inside the default 30 s deadline.
      const at = (yield* sent).map((s) => s.at)
      expect(at).toHaveLength(2)
      expect(at[1]! - at[0]!).toBeLessThan(5_000)
    })))
})

describe("a shared floor (a RateLimitGate in the context, as @bulwark/redis provides)", () => {
  it.scoped("a 429 seen by one client pauses another client that shares the gate", () =>
    seeded(Effect.gen(function*() {
      const gate = yield* RateLimitGate.makeMemory
      let limited = true
      const fake = yield* makeFakeApi(() => {
        if (limited) {
          limited = false
          return { status: 429, headers: { "retry-after": "5" } }
        }
        return ok
      })
      const build = ApiClient.make({ baseUrl: BASE, auth: "none" }).pipe(
        Effect.provideService(HttpClient.HttpClient, fake.client),
        Effect.provideService(RateLimitGate.RateLimitGate, gate)
      )
      const first = yield* build
      const second = yield* build
      const a = yield* Effect.fork(first.get("/items/1", Item))
      yield* runFor(Effect.void, "1 second")
      // The other replica has not seen the 429, yet it reads the floor from the shared gate.
      const b = yield* Effect.fork(second.get("/items/2", Item))
      yield* runFor(Effect.void, "10 seconds")
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      const times = (yield* fake.sent).map((s) => s.at)
      expect(times).toHaveLength(3)
      expect(times.slice(1).every((t) => t >= 5_000)).toBe(true)
      expect(Option.isSome(yield* gate.closedUntil(new URL(BASE).origin))).toBe(true)
    })))
})
