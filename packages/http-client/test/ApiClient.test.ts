import { AccessToken, TokenProvider, TokenSource } from "@bulwark/auth-token"
import { ApiClient, Plugins } from "@bulwark/http-client"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Option, Random, Ref, Schema, TestClock } from "effect"
import { advance, type Answer, makeFakeApi, runFor, type Sent } from "./fakeApi.js"

const BASE = "https://api.example.com/v1"
const Item = Schema.Struct({ id: Schema.String })
const ok = { status: 200, body: { id: "a" } } as const
const errorBody = (code: number, message: string) => ({ code, message, details: [{ field: "name" }] })

/** A counting token source: token-1, token-2, ... */
const countingTokens = Effect.gen(function*() {
  const count = yield* Ref.make(0)
  const source = TokenSource.fromEffect(
    Effect.flatMap(
      Ref.updateAndGet(count, (n) => n + 1),
      (n) => AccessToken.make({ value: `token-${n}`, expiresIn: "1 hour" })
    )
  )
  return { source, fetched: Ref.get(count) }
})

/** Builds the standard client over a scripted API, with a token provider. */
const setupWith = (
  answer: (sent: Sent, index: number) => Answer,
  config: Partial<ApiClient.ClientConfig> = {},
  composition: "fused" | "plugins" = "fused"
) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeApi(answer)
    const tokens = yield* countingTokens
    const provider = yield* TokenProvider.make(tokens.source)
    const api = yield* ApiClient.make({ baseUrl: BASE, ...config }, { composition }).pipe(
      Effect.provideService(HttpClient.HttpClient, fake.client),
      Effect.provideService(TokenProvider.TokenProvider, provider)
    )
    return { api, sent: fake.sent, tokensFetched: tokens.fetched }
  })

const run = runFor

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(11))

// The standard pipeline fused into one function per call, and the same stages composed as separate clients
// (the public plugins' shape): every behaviour below must hold for both.
describe.each(["fused", "plugins"] as const)("ApiClient (scripted transport, TestClock, %s)", (composition) => {
  const setup = (
    answer: (sent: Sent, index: number) => Answer,
    config: Partial<ApiClient.ClientConfig> = {}
  ) => setupWith(answer, config, composition)

  it.scoped("400 and 403 fail at once with their decoded bodies and one request", () =>
    seeded(Effect.gen(function*() {
      for (const [status, tag] of [[400, "BadRequest"], [403, "Forbidden"]] as const) {
        const { api, sent } = yield* setup(() => ({ status, body: errorBody(3, "nope") }))
        const error = yield* Effect.flip(api.get("/items/1", Item))
        expect(error._tag).toBe(tag)
        expect("body" in error && error.body?.message).toBe("nope")
        expect(yield* sent).toHaveLength(1)
      }
    })))

  it.scoped("a 401 invalidates the token it sent, fetches one new token and retries once", () =>
    seeded(Effect.gen(function*() {
      const { api, sent, tokensFetched } = yield* setup((s) =>
        s.authorization === "Bearer token-1" ? { status: 401, body: errorBody(16, "expired") } : ok
      )
      expect(yield* api.get("/items/1", Item)).toEqual({ id: "a" })
      expect((yield* sent).map((s) => s.authorization)).toEqual(["Bearer token-1", "Bearer token-2"])
      expect(yield* tokensFetched).toBe(2)
    })))

  it.scoped("a second 401 fails with Unauthorized; insufficient_scope never refreshes", () =>
    seeded(Effect.gen(function*() {
      const always = yield* setup(() => ({ status: 401, body: errorBody(16, "no") }))
      expect((yield* Effect.flip(always.api.get("/x", Item)))._tag).toBe("Unauthorized")
      expect(yield* always.sent).toHaveLength(2)
      expect(yield* always.tokensFetched).toBe(2)
      const scope = yield* setup(() => ({
        status: 401,
        body: errorBody(7, "scope"),
        headers: { "www-authenticate": "Bearer error=\"insufficient_scope\", scope=\"items:write\"" }
      }))
      expect((yield* Effect.flip(scope.api.get("/x", Item)))._tag).toBe("Unauthorized")
      expect(yield* scope.sent).toHaveLength(1)
      expect(yield* scope.tokensFetched).toBe(1)
    })))

  it.scoped("429 with Retry-After: no request to the origin before it passes, from any call", () =>
    seeded(Effect.gen(function*() {
      let limited = true
      const { api, sent } = yield* setup((_, index) => {
        if (index === 0 && limited) {
          limited = false
          return { status: 429, body: errorBody(8, "slow down"), headers: { "retry-after": "5" } }
        }
        return ok
      })
      const first = yield* Effect.fork(api.get("/items/1", Item))
      yield* advance("1 second", 20)
      // Other calls started during the cool-down wait for it too.
      const others = yield* Effect.fork(
        Effect.all(Array.from({ length: 10 }, () => api.get("/items/2", Item)), { concurrency: 10 })
      )
      yield* advance("3 seconds", 60)
      expect(yield* sent).toHaveLength(1)
      yield* advance("2 seconds", 40)
      yield* Fiber.join(first)
      yield* Fiber.join(others)
      const times = (yield* sent).map((s) => s.at)
      expect(times).toHaveLength(12)
      expect(times.slice(1).every((t) => t >= 5000)).toBe(true)
    })))

  it.scoped("429 with an HTTP-date Retry-After", () =>
    seeded(Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-25T10:00:00Z"))
      const { api, sent } = yield* setup((_, index) =>
        index === 0 ? { status: 429, headers: { "retry-after": "Wed, 25 Nov 2026 10:00:07 GMT" } } : ok
      )
      const exit = yield* run(api.get("/items/1", Item), "10 seconds")
      expect(exit._tag).toBe("Success")
      const [a, b] = (yield* sent).map((s) => s.at)
      expect(b! - a!).toBeGreaterThanOrEqual(7000)
    })))

  it.scoped("a Retry-After longer than the deadline fails at once with RateLimited and its retryAt", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ({ status: 429, headers: { "retry-after": "45" } }), {
        deadline: "30 seconds"
      })
      const exit = yield* run(api.get("/items/1", Item), "1 second")
      expect(exit._tag).toBe("Failure")
      const error = yield* Effect.flip(exit)
      expect(error._tag).toBe("RateLimited")
      expect(error._tag === "RateLimited" && error.retryAt).toBe(45_000)
      expect(yield* sent).toHaveLength(1)
    })))

  it.scoped("5xx are retried for GET and for keyed POST, not for an unkeyed POST", () =>
    seeded(Effect.gen(function*() {
      const flaky = (_: Sent, index: number): Answer => index % 2 === 0 ? { status: 503 } : ok
      const get = yield* setup(flaky)
      expect((yield* run(get.api.get("/items/1", Item)))._tag).toBe("Success")
      expect(yield* get.sent).toHaveLength(2)

      const keyed = yield* setup(flaky)
      expect((yield* run(keyed.api.post("/items", { name: "x" }, Item)))._tag).toBe("Success")
      const keys = (yield* keyed.sent).map((s) => s.idempotencyKey)
      expect(keys).toHaveLength(2)
      expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(keys[1]).toBe(keys[0])

      const unkeyed = yield* setup(flaky, { idempotency: { autoKey: false } })
      expect((yield* run(unkeyed.api.post("/items", { name: "x" }, Item)))._tag).toBe("Failure")
      expect(yield* unkeyed.sent).toHaveLength(1)
    })))

  it.scoped("a refused connection is retried even for an unkeyed POST; a reset is not", () =>
    seeded(Effect.gen(function*() {
      const refused = yield* setup((_, i) => i === 0 ? { fail: "ECONNREFUSED" } : ok, {
        idempotency: { autoKey: false }
      })
      expect((yield* run(refused.api.post("/items", {}, Item)))._tag).toBe("Success")
      expect(yield* refused.sent).toHaveLength(2)
      const reset = yield* setup((_, i) => i === 0 ? { fail: "ECONNRESET" } : ok, { idempotency: { autoKey: false } })
      const exit = yield* run(reset.api.post("/items", {}, Item))
      expect(exit._tag).toBe("Failure")
      expect(yield* reset.sent).toHaveLength(1)
    })))

  it.scoped("a hung attempt times out (phase attempt) and is retried", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup((_, i) => i === 0 ? { hang: true } : ok, { attemptTimeout: "2 seconds" })
      expect((yield* run(api.get("/items/1", Item), "1 minute"))._tag).toBe("Success")
      const [a, b] = (yield* sent).map((s) => s.at)
      expect(b! - a!).toBeGreaterThanOrEqual(2000)
    })))

  it.scoped("the deadline bounds the whole call", () =>
    seeded(Effect.gen(function*() {
      const { api } = yield* setup(() => ({ hang: true }), { attemptTimeout: "20 seconds", deadline: "30 seconds" })
      const exit = yield* run(api.get("/items/1", Item), "1 minute")
      const error = yield* Effect.flip(exit)
      expect(error._tag === "Timeout" && error.phase).toBe("deadline")
    })))

  it.scoped("a full outage stays within the retry budget's bound", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ({ status: 503 }), { budget: { capacity: 50 } })
      const calls = Effect.forEach(Array.from({ length: 100 }), () => Effect.either(api.get("/items/1", Item)), {
        concurrency: 10
      })
      yield* run(calls, "1 hour")
      // 100 first attempts + at most capacity / retryCost = 10 retries.
      expect(yield* sent).toHaveLength(110)
    })))

  it.scoped("the token never goes to another origin", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ok)
      yield* api.get("/items/1", Item)
      yield* api.get("https://evil.example.com/steal", Item)
      yield* api.get("http://api.example.com/v1/downgrade", Item)
      yield* api.client.get("https://evil.example.com/x", { headers: { authorization: "Bearer smuggled" } })
      expect((yield* sent).map((s) => s.authorization)).toEqual(["Bearer token-1", undefined, undefined, undefined])
    })))

  it.scoped("a redirect to another origin is refused with an error that says where it pointed", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup((s) =>
        s.url.startsWith(BASE) ? { status: 302, headers: { location: "https://evil.example.com/collect" } } : ok
      )
      const error = yield* Effect.flip(api.get("/items/1", Item))
      expect(error._tag).toBe("InvalidResponse")
      expect(error.message).toContain("was redirected (302 Found) to https://evil.example.com/collect")
      expect((yield* sent).map((s) => [s.url, s.authorization])).toEqual([[`${BASE}/items/1`, "Bearer token-1"]])
    })))

  it.scoped("same-origin redirects are followed with the token; cross-origin ones only without it when allowed", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup((s) =>
        s.url === `${BASE}/items/1`
          ? { status: 301, headers: { location: "/v1/items/one" } }
          : s.url === `${BASE}/items/one`
          ? { status: 307, headers: { location: "https://cdn.example.net/items/one" } }
          : ok, { redirects: { crossOrigin: "follow-without-credentials" } })
      expect(yield* api.get("/items/1", Item, { headers: { "x-api-key": "k-1", accept: "application/json" } }))
        .toEqual({ id: "a" })
      expect((yield* sent).map((s) => [s.url, s.authorization])).toEqual([
        [`${BASE}/items/1`, "Bearer token-1"],
        [`${BASE}/items/one`, "Bearer token-1"],
        ["https://cdn.example.net/items/one", undefined]
      ])
    })))

  it.scoped("redirects: false, or too many hops, surface the 3xx as InvalidResponse", () =>
    seeded(Effect.gen(function*() {
      const loop = yield* setup(() => ({ status: 302, headers: { location: "/v1/again" } }))
      expect((yield* Effect.flip(loop.api.get("/items/1", Item)))._tag).toBe("InvalidResponse")
      expect(yield* loop.sent).toHaveLength(6)
      const off = yield* setup(() => ({ status: 302, headers: { location: "/v1/again" } }), { redirects: false })
      expect((yield* Effect.flip(off.api.get("/items/1", Item)))._tag).toBe("InvalidResponse")
      expect(yield* off.sent).toHaveLength(1)
    })))

  it.scoped("a transport that follows redirects by itself: the token is discarded and the call fails", () =>
    seeded(Effect.gen(function*() {
      const fake = yield* makeFakeApi((s) =>
        s.url.startsWith(BASE) ? { status: 302, headers: { location: "https://evil.example.com/collect" } } : ok
      )
      const tokens = yield* countingTokens
      const provider = yield* TokenProvider.make(tokens.source)
      const api = yield* ApiClient.make({ baseUrl: BASE, retry: false }, { composition }).pipe(
        Effect.provideService(HttpClient.HttpClient, HttpClient.followRedirects(fake.client)),
        Effect.provideService(TokenProvider.TokenProvider, provider)
      )
      const error = yield* Effect.flip(api.get("/items/1", Item))
      expect(error._tag).toBe("NetworkError")
      expect(error.message).toContain("remove HttpClient.followRedirects")
      expect(error.message).not.toContain("token-1")
      // The exposed token is never used again.
      expect(yield* provider.current).toEqual(Option.none())
    })))

  it.scoped("a 2xx body that does not match the schema is InvalidResponse, not retried", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ({ status: 200, body: { nope: true } }))
      const error = yield* Effect.flip(api.get("/items/1", Item))
      expect(error._tag).toBe("InvalidResponse")
      expect(yield* sent).toHaveLength(1)
    })))

  it.effect("a bad config is a ConfigError naming each field, never echoing a value", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const error = yield* Effect.flip(
        Effect.scoped(
          ApiClient.make({
            baseUrl: "ftp://x",
            attemptTimeout: "soon",
            auth: { tokenUrl: "not a url", clientId: "", clientSecret: "hunter2-plain" as never }
          }).pipe(Effect.provideService(HttpClient.HttpClient, fake.client))
        )
      )
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toContain("baseUrl")
      expect(error.message).toContain("attemptTimeout")
      expect(error.message).toContain("auth.tokenUrl")
      expect(error.message).toContain("auth.clientId")
      expect(error.message).toContain("auth.clientSecret")
      expect(error.message).not.toContain("hunter2-plain")
    }))

  it.effect("a negative duration is a ConfigError, not a timeout of zero", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      for (const attemptTimeout of [-5, "-5 seconds"] as const) {
        const error = yield* Effect.flip(
          Effect.scoped(
            ApiClient.make({ baseUrl: BASE, auth: "none", attemptTimeout }, { composition }).pipe(
              Effect.provideService(HttpClient.HttpClient, fake.client)
            )
          )
        )
        expect(error._tag).toBe("ConfigError")
        expect(error.message).toContain("attemptTimeout")
        expect(error.message).toContain("non-negative")
      }
    }))

  it.effect("a per-call duration that is not one is a defect with a message, never a throw or a zero timeout", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none" }, { composition }).pipe(
        Effect.provideService(HttpClient.HttpClient, fake.client)
      )
      for (const options of [{ deadline: "soon" }, { attemptTimeout: -5 }, { deadline: "-1 seconds" }]) {
        const exit = yield* Effect.exit(api.get("/items/1", Item, options as never))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toContain("finite, non-negative duration")
      }
      expect((yield* fake.sent).length).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("layer builds the client", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const result = yield* Effect.flatMap(ApiClient.ApiClient, (api) => api.get("/items/1", Item)).pipe(
        Effect.provide(
          ApiClient.layer({ baseUrl: BASE, auth: "none" }).pipe(
            Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.client))
          )
        )
      )
      expect(result).toEqual({ id: "a" })
    }))
})

describe("Plugins.callDeadline", () => {
  it.scoped("per-attempt plugins see the call's deadline", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      let seen: number | undefined
      const probe: ApiClient.Plugin = (self) =>
        Plugins.stage(self, (request, send) =>
          Effect.flatMap(Plugins.callDeadline, (deadline) => {
            seen = deadline._tag === "Some" ? deadline.value : undefined
            return send(request)
          }))
      yield* TestClock.setTime(1_000)
      const api = yield* ApiClient.make({ baseUrl: BASE, deadline: "20 seconds", auth: "none" }, {
        perAttempt: [probe]
      }).pipe(
        Effect.provideService(HttpClient.HttpClient, fake.client)
      )
      yield* api.get("/items/1", Item)
      expect(seen).toBe(21_000)
    }))
})
