import { AccessToken, TokenError, TokenProvider, TokenSource, TokenStore } from "@bulwark/auth-token"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Random,
  Ref,
  Scope,
  Supervisor,
  TestClock
} from "effect"

const SECRET_PREFIX = "tok-secret-"

/** A token source driven by the test: counts fetches, can be made slow or failing. */
const makeScriptedSource = (lifetime: Duration.DurationInput = "1 hour") =>
  Effect.gen(function*() {
    const fetches = yield* Ref.make(0)
    const failing = yield* Ref.make<TokenError.TokenError | undefined>(undefined)
    const latency = yield* Ref.make<Duration.DurationInput>(Duration.zero)
    const fetch = Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(fetches, (k) => k + 1)
      yield* Effect.sleep(yield* Ref.get(latency))
      const failure = yield* Ref.get(failing)
      if (failure !== undefined) return yield* Effect.fail(failure)
      return yield* AccessToken.make({ value: `${SECRET_PREFIX}${n}`, expiresIn: lifetime })
    })
    return {
      source: TokenSource.fromEffect(fetch, { name: "scripted" }),
      fetches: Ref.get(fetches),
      fail: (error: TokenError.TokenError | undefined) => Ref.set(failing, error),
      setLatency: (d: Duration.DurationInput) => Ref.set(latency, d)
    }
  })

const unreachable = new TokenError.TokenError({ source: "scripted", reason: "Unreachable" })

/** Runs `effect` in a fiber while the test clock moves by `duration`, then joins it. */
const afterAdvancing = <A, E, R>(duration: Duration.DurationInput, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(fiber)
  })

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(2026))

describe("TokenProvider", () => {
  it.scoped("reuses the token until its refresh point, then refreshes it in the background", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 hour")
      const tokens = yield* TokenProvider.make(script.source)
      const first = yield* tokens.get
      expect(AccessToken.sameValue(first, yield* tokens.get)).toBe(true)
      expect(yield* script.fetches).toBe(1)
      // 80% ± 5% of an hour: the refresh happens between 45 and 51 minutes.
      yield* TestClock.adjust("44 minutes")
      expect(yield* script.fetches).toBe(1)
      yield* TestClock.adjust("8 minutes")
      expect(yield* script.fetches).toBe(2)
      const second = yield* tokens.get
      expect(AccessToken.sameValue(first, second)).toBe(false)
      expect(second.issuedAt).toBeGreaterThanOrEqual(45 * 60_000)
      expect(second.issuedAt).toBeLessThanOrEqual(51 * 60_000)
    })))

  it.scoped("a 2-minute token is refreshed at its ratio point, not at half its lifetime", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("2 minutes")
      const tokens = yield* TokenProvider.make(script.source)
      yield* tokens.get
      // 80% - 5% .. 80% of 2 min = 90..96 s: the 60 s lead shrinks to 20% of the lifetime (24 s).
      yield* TestClock.adjust("89 seconds")
      expect(yield* script.fetches).toBe(1)
      yield* TestClock.adjust("7 seconds")
      expect(yield* script.fetches).toBe(2)
    })))

  it.scoped("a failed refresh keeps serving the old token, retries with backoff, and fails after expiry", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("10 minutes")
      const tokens = yield* TokenProvider.make(script.source)
      const first = yield* tokens.get
      yield* script.fail(unreachable)
      // Refresh point: 8 min ± 30 s. Afterwards every background attempt fails.
      yield* TestClock.adjust("9 minutes")
      const during = yield* script.fetches
      expect(during).toBeGreaterThan(1)
      expect(AccessToken.sameValue(yield* tokens.get, first)).toBe(true)
      yield* TestClock.adjust("50 seconds")
      // The background loop retried with backoff (1 s base, 30 s cap): a bounded number of attempts.
      const attempts = (yield* script.fetches) - 1
      expect(attempts).toBeGreaterThan(3)
      expect(attempts).toBeLessThan(60)
      // Past the margin (10 s before expiry) the old token is no longer handed out.
      const error = yield* Effect.flip(
        tokens.get.pipe(Effect.fork, Effect.tap(() => TestClock.adjust("5 seconds")), Effect.flatMap(Fiber.join))
      )
      expect(error.reason).toBe("Unreachable")
      // Once the endpoint recovers, the next get fetches a new token.
      yield* script.fail(undefined)
      const recovered = yield* tokens.get
      expect(AccessToken.sameValue(recovered, first)).toBe(false)
    })))

  it.scoped("1,000 concurrent gets with no token cause exactly one fetch", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      yield* script.setLatency("100 millis")
      const tokens = yield* TokenProvider.make(script.source)
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 1000 }, () => tokens.get), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("100 millis")
      const all = yield* Fiber.join(fiber)
      expect(yield* script.fetches).toBe(1)
      expect(new Set(all.map((token) => token.value)).size).toBe(1)
    }))

  it.scoped("50 concurrent invalidations of one token cause one refresh; a stale token invalidates nothing", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const tokens = yield* TokenProvider.make(script.source)
      const rejected = yield* tokens.get
      // The refetch waits for the fetch rate limit (1 s after the first fetch started).
      const results = yield* afterAdvancing(
        "1 second",
        Effect.all(
          Array.from({ length: 50 }, () => Effect.zipRight(tokens.invalidate(rejected), tokens.get)),
          { concurrency: "unbounded" }
        )
      )
      expect(yield* script.fetches).toBe(2)
      expect(results.every((token) => !AccessToken.sameValue(token, rejected))).toBe(true)
      expect(yield* tokens.invalidate(rejected)).toBe(false)
      yield* tokens.get
      expect(yield* script.fetches).toBe(2)
    }))

  it.scoped("refresh forces one new token", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const tokens = yield* TokenProvider.make(script.source)
      const first = yield* tokens.get
      const [a, b] = yield* afterAdvancing("1 second", Effect.all([tokens.refresh, tokens.refresh], { concurrency: 2 }))
      expect(AccessToken.sameValue(a, b)).toBe(true)
      expect(AccessToken.sameValue(a, first)).toBe(false)
      expect(yield* script.fetches).toBe(2)
    }))

  it.effect("closing the scope stops every fiber and timer it started", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("1 hour")
      const scope = yield* Scope.make()
      const supervisor = yield* Supervisor.track
      yield* Effect.gen(function*() {
        const tokens = yield* TokenProvider.make(script.source).pipe(Scope.extend(scope))
        yield* tokens.get
        // A background refresh is scheduled; also leave a fetch in flight.
        yield* script.setLatency("1 minute")
        yield* Effect.fork(tokens.refresh)
        yield* TestClock.adjust("1 second")
      }).pipe(Effect.supervised(supervisor))
      expect((yield* supervisor.value).length).toBeGreaterThan(0)
      yield* Scope.close(scope, Exit.void)
      const alive = (yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null)
      expect(alive).toHaveLength(0)
      yield* TestClock.adjust("10 hours")
      expect(yield* script.fetches).toBe(2)
    })))

  it.effect("eager fetches while the layer is built and fails the layer with a TokenError", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      yield* Effect.scoped(Layer.build(TokenProvider.layer(script.source, { eager: true })))
      expect(yield* script.fetches).toBe(1)
      yield* script.fail(new TokenError.TokenError({ source: "scripted", reason: "Rejected", status: 401 }))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(TokenProvider.layer(script.source, { eager: true }))))
      expect(error.reason).toBe("Rejected")
      expect(error.message).toContain("check the client id and secret")
    }))

  it.scoped("on-demand fetches retry transient failures but not rejections", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const tokens = yield* TokenProvider.make(script.source)
      yield* script.fail(unreachable)
      const fiber = yield* Effect.fork(tokens.get)
      yield* TestClock.adjust("1 minute")
      expect((yield* Effect.flip(Fiber.join(fiber))).reason).toBe("Unreachable")
      expect(yield* script.fetches).toBe(3)
      yield* script.fail(new TokenError.TokenError({ source: "scripted", reason: "Rejected", status: 400 }))
      expect((yield* Effect.flip(tokens.get)).reason).toBe("Rejected")
      expect(yield* script.fetches).toBe(4)
    }))

  it.scoped("providers sharing a TokenStore share one token", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const store = yield* TokenStore.makeMemory
      const a = yield* TokenProvider.make(script.source).pipe(Effect.provideService(TokenStore.TokenStore, store))
      const b = yield* TokenProvider.make(script.source).pipe(Effect.provideService(TokenStore.TokenStore, store))
      const [ta, tb] = yield* Effect.all([a.get, b.get], { concurrency: 2 })
      expect(AccessToken.sameValue(ta, tb)).toBe(true)
      expect(yield* script.fetches).toBe(1)
      // A 401 seen by one replica: it invalidates and refreshes; the other picks the new token up on its own 401.
      yield* a.invalidate(ta)
      const na = yield* afterAdvancing("1 second", a.get)
      yield* b.invalidate(tb)
      const nb = yield* b.get
      expect(AccessToken.sameValue(na, nb)).toBe(true)
      expect(yield* script.fetches).toBe(2)
    }))

  it.scoped("a failing store degrades to local behaviour with a warning", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const broken = new TokenStore.TokenStoreError({ operation: "get", cause: new Error("connection refused") })
      const store: TokenStore.Service = {
        get: Effect.fail(broken),
        set: () => Effect.fail(broken),
        compareAndDelete: () => Effect.fail(broken),
        withRefreshLock: () => Effect.fail(new TokenStore.TokenStoreError({ operation: "lock" }))
      }
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const tokens = yield* TokenProvider.make(script.source).pipe(
        Effect.provideService(TokenStore.TokenStore, store)
      )
      const token = yield* tokens.get.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(token).toBeDefined()
      expect(logs.some((line) => line.includes("token store failed during lock"))).toBe(true)
    }))

  it.scoped("no token or secret reaches a log line, an error or JSON", () =>
    seeded(Effect.gen(function*() {
      const script = yield* makeScriptedSource("2 minutes")
      const logs: Array<string> = []
      const logger = Logger.make((options) =>
        logs.push(JSON.stringify(options.message) + JSON.stringify(options.annotations))
      )
      const token = yield* Effect.gen(function*() {
        const tokens = yield* TokenProvider.make(script.source)
        const token = yield* tokens.get
        yield* script.fail(unreachable)
        yield* TestClock.adjust("3 minutes")
        return token
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(logs.length).toBeGreaterThan(0)
      const renderings = [
        ...logs,
        JSON.stringify(token),
        String(token),
        String(Option.some(token)),
        String(token.value)
      ]
      for (const text of renderings) expect(text).not.toContain(SECRET_PREFIX)
    })))
})

describe("TokenProvider after its scope closed", () => {
  it.effect("dies with a message instead of hanging", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const tokens = yield* Effect.scoped(TokenProvider.make(script.source))
      const exit = yield* Effect.exit(tokens.get)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")).toContain("after its scope was closed")
    }))
})

describe("TokenProvider options", () => {
  it.effect("bad options fail make and the layer with a typed InvalidConfig error naming each option, never its value", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const bad = {
        refreshRatio: 1.5,
        refreshJitter: -0.25,
        expiryMargin: "garbage-margin" as Duration.DurationInput,
        minFetchInterval: -7,
        refreshBeforeExpiry: Duration.infinity,
        refreshBackoff: { base: "9 seconds", cap: "3 seconds" }
      } satisfies TokenProvider.Options
      const exit = yield* Effect.exit(Effect.scoped(TokenProvider.make(script.source, bad)))
      // A typed failure, not a defect (nothing throws).
      expect(Exit.isFailure(exit) && !Cause.isDie(exit.cause)).toBe(true)
      const error = yield* Effect.flip(Effect.scoped(TokenProvider.make(script.source, bad)))
      expect([error._tag, error.reason, error.retryable]).toEqual(["TokenError", "InvalidConfig", false])
      for (const name of Object.keys(bad)) expect(error.message).toContain(name)
      for (const value of ["1.5", "0.25", "garbage-margin", "-7", "Infinity", "9 seconds", "9000", "3000"]) {
        expect(error.message).not.toContain(value)
        expect(JSON.stringify(error)).not.toContain(value)
      }
      expect(error.message).not.toMatch(/\.\./)
      expect(yield* script.fetches).toBe(0)
      const fromLayer = yield* Effect.flip(Effect.scoped(Layer.build(TokenProvider.layer(script.source, bad))))
      expect(fromLayer.reason).toBe("InvalidConfig")
    }))

  it.effect("the jitter must fit inside the ratio; options from untyped code are checked too", () =>
    Effect.gen(function*() {
      const script = yield* makeScriptedSource()
      const jitter = yield* Effect.flip(
        Effect.scoped(TokenProvider.make(script.source, { refreshRatio: 0.9, refreshJitter: 0.2 }))
      )
      expect(jitter.message).toContain("refreshJitter")
      expect(jitter.message).not.toContain("refreshRatio must")
      const untyped = { refreshRatio: "0.8", eager: "yes" } as unknown as TokenProvider.Options
      const error = yield* Effect.flip(Effect.scoped(TokenProvider.make(script.source, untyped)))
      expect(error.detail).toBe(
        "eager must be a boolean; refreshRatio must be a number between 0 and 1 (exclusive)"
      )
      // Good options (the http-client's names) build a provider.
      const ok = yield* Effect.scoped(
        Effect.flatMap(
          TokenProvider.make(script.source, {
            eager: false,
            refreshRatio: 0.75,
            refreshJitter: 0.1,
            refreshBeforeExpiry: "30 seconds",
            expiryMargin: "5 seconds",
            minFetchInterval: "500 millis"
          }),
          (tokens) => tokens.get
        )
      )
      expect(ok.type).toBe("Bearer")
    }))
})
