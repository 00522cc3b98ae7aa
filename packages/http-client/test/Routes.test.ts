import { ApiClient, Plugins } from "@bulwark/http-client"
import { RetryBudget } from "@bulwark/retry-schedules"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Metric, MetricLabel, Random, Ref, Schema } from "effect"
import { type Answer, makeFakeApi, runFor, type Sent } from "./fakeApi.js"
import { withRecordedSpans } from "./recordingTracer.js"

const BASE = "https://api.example.com/v1"
const Item = Schema.Struct({ id: Schema.String })
const ok = { status: 200, body: { id: "a" } } as const

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(18))

const hedgesOf = (route: string) =>
  Effect.map(
    Effect.all([
      Metric.value(Metric.taggedWithLabels(Plugins.metrics.hedges, [MetricLabel.make("route", route)])),
      Metric.value(Metric.taggedWithLabels(Plugins.metrics.hedgeWins, [MetricLabel.make("route", route)]))
    ]),
    ([sent, won]) => ({ sent: sent.count, won: won.count })
  )

// Every behaviour holds for the fused pipeline and for the same stages composed as separate clients.
describe.each(["fused", "plugins"] as const)("route rules (scripted transport, TestClock, %s)", (composition) => {
  const setup = (
    answer: (sent: Sent, index: number) => Answer,
    config: Partial<ApiClient.ClientConfig>,
    options: { readonly perAttempt?: ReadonlyArray<ApiClient.Plugin> } = {}
  ) =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(answer)
      const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none", ...config }, {
        composition,
        perAttempt: options.perAttempt
      } as never).pipe(Effect.provideService(HttpClient.HttpClient, fake.client))
      return { api: api as ApiClient.Service, sent: fake.sent }
    })

  it.scoped("a rule's attempt timeout and deadline apply to its calls only; a per-call option still wins", () =>
    seeded(Effect.gen(function*() {
      const { api } = yield* setup(
        (sent) => ({ ...ok, delay: sent.url.includes("/reports/") ? "30 seconds" : "30 seconds" }),
        {
          attemptTimeout: "10 seconds",
          deadline: "20 seconds",
          retry: false,
          routes: [{ name: "reports", match: "GET /reports/**", attemptTimeout: "60 seconds", deadline: "2 minutes" }]
        }
      )
      expect((yield* runFor(api.get("/reports/2026/q1?format=pdf", Item), "1 minute"))._tag).toBe("Success")
      const other = yield* runFor(Effect.flip(api.get("/items/1", Item)), "1 minute")
      expect(other).toMatchObject({ _tag: "Success", value: { _tag: "Timeout", phase: "attempt" } })
      const perCall = yield* runFor(
        Effect.flip(api.get("/reports/1", Item, { attemptTimeout: "5 seconds" })),
        "1 minute"
      )
      expect(perCall).toMatchObject({ _tag: "Success", value: { _tag: "Timeout", phase: "attempt" } })
    })))

  it.scoped("retry: false, a rule's own retry settings, and retries a rule turns on under a client without", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ({ status: 503 }), {
        budget: false,
        retry: { maxRetries: 3, base: "10 millis" },
        routes: [
          { name: "payments", match: "POST /payments", retry: false },
          { name: "slow", match: "GET /slow/*", retry: { maxRetries: 1 } }
        ]
      })
      yield* runFor(api.post("/payments", {}, Item, { idempotencyKey: "k" }), "1 minute")
      expect((yield* sent).length).toBe(1)
      yield* runFor(api.get("/slow/1", Item), "1 minute")
      expect((yield* sent).length).toBe(1 + 2)
      yield* runFor(api.get("/items/1", Item), "1 minute")
      expect((yield* sent).length).toBe(3 + 4)

      const off = yield* setup(() => ({ status: 503 }), {
        budget: false,
        retry: false,
        routes: [{ match: "GET /items/*", retry: { maxRetries: 2, base: "10 millis" } }]
      })
      yield* runFor(off.api.get("/items/1", Item), "1 minute")
      expect((yield* off.sent).length).toBe(3)
      yield* runFor(off.api.get("/other", Item), "1 minute")
      expect((yield* off.sent).length).toBe(4)
    })))

  it.scoped("idempotency.autoKey per route: a route without automatic keys sends none and is not retried", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(() => ({ status: 503 }), {
        budget: false,
        retry: { base: "10 millis" },
        routes: [{ name: "payments", match: "POST /payments", idempotency: { autoKey: false } }]
      })
      yield* runFor(api.post("/payments", {}, Item), "1 minute")
      expect(yield* sent).toMatchObject([{ idempotencyKey: undefined }])
      yield* runFor(api.post("/items", {}, Item), "1 minute")
      const items = (yield* sent).slice(1)
      expect(items).toHaveLength(4)
      expect(new Set(items.map((s) => s.idempotencyKey)).size).toBe(1)
    })))

  it.scoped("breaker: false sends a route's calls around the per-attempt plugins", () =>
    seeded(Effect.gen(function*() {
      const seen = yield* Ref.make<Array<string>>([])
      const counting: ApiClient.Plugin = (self) =>
        Plugins.stage(self, (request, send) =>
          Effect.zipRight(Ref.update(seen, (all) => [...all, request.url]), send(request)))
      const { api } = yield* setup(() =>
        ok, {
        routes: [{ name: "health", match: "/health", breaker: false }]
      }, { perAttempt: [counting] })
      yield* runFor(api.get("/health", Item), "1 second")
      yield* runFor(api.get("/items/1", Item), "1 second")
      expect(yield* Ref.get(seen)).toEqual([`${BASE}/items/1`])
    })))

  it.scoped("traffic.maxWait: a route's call waits for its origin at most that long, then fails fast", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(
        (_, i) => i === 0 ? { status: 429, headers: { "retry-after": "30" } } : ok,
        {
          budget: false,
          deadline: "2 minutes",
          routes: [{ name: "live", match: "GET /live", traffic: { maxWait: "2 seconds" } }]
        }
      )
      const error = yield* runFor(Effect.flip(api.get("/live", Item)), "1 minute")
      expect(error).toMatchObject({ _tag: "Success", value: { _tag: "RateLimited" } })
      // Without the rule the same 429 is waited out within the deadline.
      const patient = yield* runFor(api.get("/items/1", Item), "1 minute")
      expect(patient._tag).toBe("Success")
      expect((yield* sent).length).toBe(2)
    })))

  it.scoped("calls under a rule are counted and traced under its name, never the raw path", () =>
    seeded(Effect.gen(function*() {
      const { api } = yield* setup(() => ok, { routes: [{ name: "reports", match: "GET /reports/**" }] })
      const counter = Metric.taggedWithLabels(Plugins.metrics.calls, [
        MetricLabel.make("route", "reports"),
        MetricLabel.make("outcome", "200")
      ])
      const unrouted = Metric.taggedWithLabels(Plugins.metrics.calls, [MetricLabel.make("outcome", "200")])
      const before = (yield* Metric.value(counter)).count
      const beforeUnrouted = (yield* Metric.value(unrouted)).count
      const { spans } = yield* withRecordedSpans(runFor(api.get("/reports/secret-id-42", Item), "1 second"))
      expect((yield* Metric.value(counter)).count - before).toBe(1)
      // Counted once: a sum over the metric's series must not count a routed call twice.
      expect((yield* Metric.value(unrouted)).count - beforeUnrouted).toBe(0)
      const call = spans.find((span) => span.name === "bulwark.http.call")!
      const attempt = spans.find((span) => span.name === "bulwark.http.attempt")!
      expect(call.attributes.get("bulwark.route")).toBe("reports")
      expect(attempt.attributes.get("bulwark.route")).toBe("reports")
    })))
})

describe.each(["fused", "plugins"] as const)("hedged reads (scripted transport, TestClock, %s)", (composition) => {
  const setup = (answer: (sent: Sent, index: number) => Answer, config: Partial<ApiClient.ClientConfig>) =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(answer)
      const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none", ...config }, { composition }).pipe(
        Effect.provideService(HttpClient.HttpClient, fake.client)
      )
      return { api, sent: fake.sent }
    })
  const hedged = (name: string, extra: Record<string, unknown> = {}) => ({
    routes: [{ name, match: "* /items/*", hedging: { delay: "100 millis" }, ...extra }]
  })

  it.scoped("after the delay one more attempt goes; the first success wins and the slow one is cancelled", () =>
    seeded(Effect.gen(function*() {
      const name = `h-delay-${composition}`
      const fake = yield* makeFakeApi((_, i) => ({ ...ok, delay: i === 0 ? "2 seconds" : "30 millis" }))
      const cancelled = yield* Ref.make(0)
      const transport = HttpClient.make((request) =>
        fake.client.execute(request).pipe(Effect.onInterrupt(() => Ref.update(cancelled, (n) => n + 1)))
      )
      const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none", ...hedged(name) }, { composition }).pipe(
        Effect.provideService(HttpClient.HttpClient, transport)
      )
      const before = yield* hedgesOf(name)
      const exit = yield* runFor(Effect.timed(api.get("/items/1", Item)), "3 seconds")
      expect(exit._tag).toBe("Success")
      // The hedge at 100 ms answers 30 ms later (the clock moves in 15 ms steps here).
      if (exit._tag === "Success") expect(Duration.toMillis(exit.value[0])).toBeLessThan(160)
      const all = yield* fake.sent
      expect(all.map((s) => s.at - all[0]!.at)).toEqual([0, expect.any(Number)])
      expect(all[1]!.at - all[0]!.at).toBeGreaterThanOrEqual(100)
      expect(all[1]!.at - all[0]!.at).toBeLessThan(120)
      expect(yield* hedgesOf(name)).toEqual({ sent: before.sent + 1, won: before.won + 1 })
      expect(yield* Ref.get(cancelled)).toBe(1)
    })))

  it.scoped("a fast answer sends no hedge; a POST without a key is never hedged, with a key it is", () =>
    seeded(Effect.gen(function*() {
      const name = `h-post-${composition}`
      const { api, sent } = yield* setup((s) => ({ ...ok, delay: s.method === "GET" ? "50 millis" : "2 seconds" }), {
        ...hedged(name),
        idempotency: { autoKey: false }
      })
      yield* runFor(api.get("/items/1", Item), "1 second")
      expect((yield* sent).length).toBe(1)
      yield* runFor(api.post("/items/1", {}, Item), "3 seconds")
      expect((yield* sent).length).toBe(2)
      yield* runFor(api.post("/items/1", {}, Item, { idempotencyKey: "k-1" }), "3 seconds")
      const keyed = (yield* sent).slice(2)
      expect(keyed.map((s) => s.idempotencyKey)).toEqual(["k-1", "k-1"])
    })))

  it.scoped("hedges take their share of the retry budget: none is sent once it is dry", () =>
    seeded(Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ capacity: 7, retryCost: 5, successRefill: 0 })
      const fake = yield* makeFakeApi((_, i) => ({ ...ok, delay: i % 2 === 0 ? "2 seconds" : "10 millis" }))
      const api = yield* ApiClient.make({ baseUrl: BASE, auth: "none", ...hedged(`h-budget-${composition}`) }, {
        composition
      }).pipe(
        Effect.provideService(HttpClient.HttpClient, fake.client),
        Effect.provideService(RetryBudget.RetryBudget, budget)
      )
      yield* runFor(api.get("/items/1", Item), "3 seconds")
      expect((yield* fake.sent).length).toBe(2)
      yield* runFor(api.get("/items/2", Item), "3 seconds")
      expect((yield* fake.sent).length).toBe(3)
      const snapshot = yield* budget.snapshot
      expect({ granted: snapshot.retriesGranted, denied: snapshot.retriesDenied }).toEqual({ granted: 1, denied: 1 })
    })))

  it.scoped("a hedge waits for its origin's pace like any attempt (the traffic controller counts it)", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup((_, i) => ({ ...ok, delay: i === 0 ? "5 seconds" : "10 millis" }), {
        ...hedged(`h-pace-${composition}`),
        traffic: { maxRate: { limit: 1, interval: "1 second" } }
      })
      yield* runFor(api.get("/items/1", Item), "6 seconds")
      const all = yield* sent
      expect(all).toHaveLength(2)
      expect(all[1]!.at - all[0]!.at).toBeGreaterThanOrEqual(900)
    })))

  it.scoped("a failing hedge group is retried by the retry stage as one attempt", () =>
    seeded(Effect.gen(function*() {
      const { api, sent } = yield* setup(
        (_, i) => i < 2 ? { status: 503, delay: i === 0 ? "500 millis" : "10 millis" } : ok,
        { ...hedged(`h-retry-${composition}`), retry: { base: "10 millis" }, budget: false }
      )
      const exit = yield* runFor(api.get("/items/1", Item), "5 seconds")
      expect(exit._tag).toBe("Success")
      // First attempt (503 at 500 ms), its hedge (503 at 110 ms): the group fails once both failed, then a retry.
      expect((yield* sent).length).toBe(3)
    })))
})

describe("route rules in the config", () => {
  it.effect("bad rules fail the client with a ConfigError naming each rule's field, never a value", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeApi(() => ok)
      const error = yield* Effect.flip(
        ApiClient.make({
          baseUrl: BASE,
          auth: "none",
          routes: [
            { name: "a", match: "GET reports-secret" },
            { name: "a", match: "GET /b" },
            { match: "GET /c", hedging: { delay: "p100" } }
          ]
        }).pipe(Effect.provideService(HttpClient.HttpClient, fake.client), Effect.scoped)
      )
      expect(error._tag).toBe("ConfigError")
      if (error._tag !== "ConfigError") return
      expect(error.issues.map((issue) => issue.path)).toEqual(["routes.0.match", "routes.2.hedging.delay"])
      expect(error.message).not.toContain("reports-secret")
      const duplicate = yield* Effect.flip(
        ApiClient.make({
          baseUrl: BASE,
          auth: "none",
          routes: [{ name: "a", match: "GET /a" }, { name: "a", match: "GET /b" }]
        })
          .pipe(Effect.provideService(HttpClient.HttpClient, fake.client), Effect.scoped)
      )
      expect(duplicate.message).toContain("routes.1.name: repeats the label of routes.0")
    }))

  it.effect("Plugins.routes decodes its rules the same way", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Plugins.routes([{ match: "nope" }], { baseUrl: BASE }))
      expect(error.issues[0]!.path).toBe("routes.0.match")
      const ok = yield* Plugins.routes([{ match: "GET /a/*" }], { baseUrl: BASE })
      expect(typeof ok).toBe("function")
    }))
})
