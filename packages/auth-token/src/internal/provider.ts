import { Backoff, RetrySchedule } from "@bulwark/retry-schedules"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberHandle from "effect/FiberHandle"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as AccessToken from "../AccessToken.js"
import { TokenError } from "../TokenError.js"
import type { TokenSource } from "../TokenSource.js"
// The Tag lives in the public module; it is only read inside functions, so the import cycle is harmless.
import { type Options, type Service, TokenProvider } from "../TokenProvider.js"
import * as TokenStore from "../TokenStore.js"
import * as options_ from "./options.js"

/** @internal */
export const metrics = {
  tokensFetched: Metric.counter("bulwark_auth_tokens_fetched_total", {
    description: "Access tokens fetched from the token source",
    incremental: true
  }),
  fetchFailures: Metric.counter("bulwark_auth_token_fetch_failures_total", {
    description: "Token fetches that failed",
    incremental: true
  }),
  refreshFailures: Metric.counter("bulwark_auth_token_refresh_failures_total", {
    description: "Background refreshes that failed while the previous token was still valid",
    incremental: true
  }),
  tokenAge: Metric.gauge("bulwark_auth_token_age_seconds", {
    description: "Age of the token handed out most recently"
  })
}

/** @internal */
export const defaults = {
  refreshRatio: 0.8,
  refreshJitter: 0.05,
  refreshBeforeExpiry: Duration.seconds(60),
  expiryMargin: Duration.seconds(10),
  minFetchInterval: Duration.seconds(1),
  refreshBackoff: { base: Duration.seconds(1), cap: Duration.seconds(30), jitter: "full" } satisfies Backoff.Options
}

/** The default retry of one on-demand fetch: two quick retries of transient failures. */
const defaultFetchRetry: Schedule.Schedule<unknown, TokenError> = Backoff.backoff({
  base: "200 millis",
  cap: "2 seconds"
}).pipe(
  Schedule.intersect(Schedule.recurs(2)),
  Schedule.whileInput((error: TokenError) => error.retryable),
  RetrySchedule.honorRetryAfter<TokenError>({
    maxRetryAfter: "10 seconds",
    read: (error) => Option.fromNullable(error.retryAfter)
  })
)

const Ratio = Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))

const OptionsSchema = Schema.Struct({
  eager: Schema.optional(Schema.Boolean),
  refreshRatio: Schema.optional(Ratio),
  refreshJitter: Schema.optional(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(0.5))),
  refreshBeforeExpiry: Schema.optional(options_.durationInput(0)),
  expiryMargin: Schema.optional(options_.durationInput(0)),
  minFetchInterval: Schema.optional(options_.durationInput(0))
})

const problems: Record<string, string> = {
  eager: "must be a boolean",
  refreshRatio: "must be a number between 0 and 1 (exclusive)",
  refreshJitter: "must be a number of at least 0 and below both refreshRatio and 1 - refreshRatio",
  refreshBeforeExpiry: "must be a finite, non-negative duration",
  expiryMargin: "must be a finite, non-negative duration",
  minFetchInterval: "must be a finite, non-negative duration",
  refreshBackoff: "must be valid Backoff options (base >= 0, cap >= base, factor >= 1, a known jitter)",
  fetchRetry: "must be a Schedule"
}

/** The options, checked: a `TokenError` with reason `InvalidConfig` names every bad one (never its value). */
const validate = (
  source: string,
  options: Options | undefined
): Either.Either<Config, TokenError> => {
  const invalid = (issues: ReadonlyArray<string>) =>
    new TokenError({ source, reason: "InvalidConfig", detail: issues.join("; ") })
  const issues: Array<string> = []
  const decoded = options_.decodeOptions(OptionsSchema, options, problems)
  if (Either.isLeft(decoded)) issues.push(decoded.left)
  const valid = Either.getOrElse(decoded, () => ({}) as typeof OptionsSchema.Type)
  const refreshRatio = valid.refreshRatio ?? defaults.refreshRatio
  const refreshJitter = valid.refreshJitter ?? defaults.refreshJitter
  if (
    Either.isRight(decoded) && !(refreshJitter < Math.min(refreshRatio, 1 - refreshRatio))
  ) issues.push(`refreshJitter ${problems.refreshJitter}`)
  let refreshBackoff: Schedule.Schedule<Duration.Duration> | undefined
  try {
    refreshBackoff = Backoff.backoff(options?.refreshBackoff ?? defaults.refreshBackoff)
  } catch {
    // Backoff throws a RangeError quoting the values: only the option's name is reported.
    issues.push(`refreshBackoff ${problems.refreshBackoff}`)
  }
  const fetchRetry = options?.fetchRetry ?? defaultFetchRetry
  if (!Schedule.isSchedule(fetchRetry)) issues.push(`fetchRetry ${problems.fetchRetry}`)
  if (issues.length > 0 || refreshBackoff === undefined) return Either.left(invalid(issues))
  return Either.right({
    eager: valid.eager ?? false,
    refreshRatio,
    refreshJitter,
    refreshBeforeExpiryMillis: Duration.toMillis(valid.refreshBeforeExpiry ?? defaults.refreshBeforeExpiry),
    expiryMarginMillis: Duration.toMillis(valid.expiryMargin ?? defaults.expiryMargin),
    minFetchIntervalMillis: Duration.toMillis(valid.minFetchInterval ?? defaults.minFetchInterval),
    fetchRetry,
    refreshBackoff
  })
}

interface Config {
  readonly eager: boolean
  readonly refreshRatio: number
  readonly refreshJitter: number
  readonly refreshBeforeExpiryMillis: number
  readonly expiryMarginMillis: number
  readonly minFetchIntervalMillis: number
  readonly fetchRetry: Schedule.Schedule<unknown, TokenError>
  readonly refreshBackoff: Schedule.Schedule<Duration.Duration>
}

/**
 * When the background refresh of `token` runs, in epoch milliseconds, for a uniform `u` in [0, 1): at
 * `refreshRatio` ± `refreshJitter` of the lifetime, but no later than `refreshBeforeExpiry` before expiry,
 * a lead that scales down with the lifetime to at most its `1 - refreshRatio` share. A long token keeps a
 * fixed margin for a failing token endpoint; a short one is refreshed at its ratio point (about 1.25
 * requests per lifetime at 0.8) instead of at a lead longer than its life.
 *
 * @internal
 */
export const refreshAt = (
  token: { readonly issuedAt: number; readonly expiresAt: number },
  u: number,
  config: {
    readonly refreshRatio: number
    readonly refreshJitter: number
    readonly refreshBeforeExpiryMillis: number
  }
): number => {
  const lifetime = token.expiresAt - token.issuedAt
  const ratio = config.refreshRatio + (u * 2 - 1) * config.refreshJitter
  const lead = Math.min(config.refreshBeforeExpiryMillis, lifetime * (1 - config.refreshRatio))
  return Math.min(token.issuedAt + lifetime * ratio, token.expiresAt - lead)
}

/** @internal */
export const make = <R>(
  source: TokenSource<R>,
  options?: Options
): Effect.Effect<Service, TokenError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* validate(source.name, options)
    const scope = yield* Effect.scope
    const context = yield* Effect.context<R>()
    const store = yield* Effect.serviceOption(TokenStore.TokenStore).pipe(
      Effect.flatMap(Option.match({ onNone: () => TokenStore.makeMemory, onSome: Effect.succeed }))
    )
    // The current token, read on every call: a plain variable (one fiber runs at a time), not a Ref.
    let local: AccessToken.AccessToken | undefined = undefined
    type Running = Option.Option<Deferred.Deferred<AccessToken.AccessToken, TokenError>>
    const inflight = yield* Ref.make<Running>(Option.none())
    const refresher = yield* FiberHandle.make<void, never>()
    // Using the provider after its scope closed is a bug in the caller; it must not hang a fetch that
    // can never run, so it dies with a message saying what happened.
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.getAndSet(inflight, Option.none()), (running) => {
        closed = true
        return Option.isSome(running) ? Deferred.interrupt(running.value) : Effect.void
      })
    )
    const ensureOpen = Effect.suspend(() =>
      closed
        ? Effect.dieMessage(
          "TokenProvider used after its scope was closed: keep the layer (or scope) open for as long as the provider is used."
        )
        : Effect.void
    )

    // A token is handed out only while it has more than the margin (or a tenth of its lifetime, for
    // short-lived tokens) left, so it does not expire on its way to the server.
    const usable = (token: AccessToken.AccessToken, now: number) =>
      now < token.expiresAt - Math.min(config.expiryMarginMillis, token.lifetimeMillis / 10)

    const warnStore = (error: TokenStore.TokenStoreError) =>
      Effect.logWarning(error.message).pipe(Effect.annotateLogs("bulwark.token.source", source.name))

    // The fetch rate limit: fetches from the source start at most once per `minFetchInterval` on average,
    // whatever asked for them (an on-demand get, a background refresh, `refresh`, a get after `invalidate`,
    // a retry) and whatever the source answered (tiny lifetimes, 401 storms, immediate failures). A burst
    // of two is allowed (a GCRA: a token bucket written as a theoretical arrival time), so the replay after
    // a 401 on a freshly fetched token does not wait; a third fetch does. Each fetch reserves its start, so
    // the slots are taken in order.
    const theoreticalArrival = yield* Ref.make(Number.NEGATIVE_INFINITY)
    const awaitFetchSlot = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(
        Ref.modify(theoreticalArrival, (tat): readonly [number, number] => {
          const interval = config.minFetchIntervalMillis
          const start = Math.max(now, tat - interval)
          return [start - now, Math.max(tat, start) + interval]
        }),
        (wait) => wait > 0 ? Effect.sleep(Duration.millis(wait)) : Effect.void
      ))

    const fetchFromSource = awaitFetchSlot.pipe(
      Effect.zipRight(source.fetch.pipe(
        Effect.provide(context),
        Effect.tapError(() => Metric.increment(metrics.fetchFailures)),
        Effect.withSpan("bulwark.auth_token.fetch", {
          captureStackTrace: false,
          kind: "client",
          attributes: { "bulwark.token.source": source.name }
        })
      )),
      Effect.retry(config.fetchRetry),
      Effect.tap(() => Metric.increment(metrics.tokensFetched))
    )

    // Under the store's lock: take a usable token another provider stored (unless it is the one being
    // replaced), otherwise fetch one and store it. A failing store degrades to a plain fetch.
    const fetchAndStore = (replacing: Option.Option<AccessToken.AccessToken>) => {
      const locked = Effect.gen(function*() {
        const stored = yield* store.get.pipe(
          Effect.catchAll((error) => Effect.as(warnStore(error), Option.none<AccessToken.AccessToken>()))
        )
        const now = yield* Clock.currentTimeMillis
        if (Option.isSome(stored) && usable(stored.value, now)) {
          const candidate = stored.value
          const isNewer = Option.match(replacing, {
            onNone: () => true,
            onSome: (old) => !AccessToken.sameValue(candidate, old) && candidate.expiresAt >= old.expiresAt
          })
          if (isNewer) return candidate
        }
        const token = yield* fetchFromSource
        yield* store.set(token).pipe(Effect.catchAll(warnStore))
        return token
      })
      return store.withRefreshLock(locked).pipe(
        Effect.catchTag("TokenStoreError", (error) => Effect.zipRight(warnStore(error), fetchFromSource))
      )
    }

    const refreshDelay = (token: AccessToken.AccessToken, now: number) =>
      Effect.map(Random.next, (u) => Math.max(0, refreshAt(token, u, config) - now))

    const backgroundRefresh = (token: AccessToken.AccessToken): Effect.Effect<void> =>
      fetchOrJoin(Option.some(token)).pipe(
        Effect.tapError((error) =>
          Effect.zipRight(
            Metric.increment(metrics.refreshFailures),
            Effect.logWarning(`Background token refresh failed; the current token is still served. ${error.message}`)
          )
        ),
        // Keep trying while the old token is valid; after that, on-demand gets take over.
        Effect.retry(
          config.refreshBackoff.pipe(
            RetrySchedule.honorRetryAfter<TokenError>({
              maxRetryAfter: Duration.hours(1),
              read: (error) => Option.fromNullable(error.retryAfter)
            }),
            RetrySchedule.withDeadline({ deadline: token.expiresAt })
          )
        ),
        Effect.catchAll(() => Effect.void),
        Effect.asVoid
      )

    const scheduleRefresh = (token: AccessToken.AccessToken) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const delay = yield* refreshDelay(token, now)
        yield* FiberHandle.run(
          refresher,
          Effect.zipRight(Effect.sleep(Duration.millis(delay)), backgroundRefresh(token))
        )
      })

    // Single flight: the first caller starts the fetch in the layer's scope (so its own interruption
    // cannot cancel a fetch others wait for); everyone else awaits the same result.
    const fetchOrJoin = (
      replacing: Option.Option<AccessToken.AccessToken>
    ): Effect.Effect<AccessToken.AccessToken, TokenError> =>
      Effect.zipRight(
        ensureOpen,
        Effect.fiberIdWith((fiberId) =>
          Effect.flatMap(
            // One Deferred per fetch, made by the caller that starts it; every other caller awaits it.
            Ref.modify(
              inflight,
              (
                current
              ): readonly [readonly [Deferred.Deferred<AccessToken.AccessToken, TokenError>, boolean], Running] => {
                if (Option.isSome(current)) return [[current.value, false], current]
                const mine = Deferred.unsafeMake<AccessToken.AccessToken, TokenError>(fiberId)
                return [[mine, true], Option.some(mine)]
              }
            ),
            ([deferred, mine]) =>
              mine
                ? Effect.zipRight(
                  fetchAndStore(replacing).pipe(
                    Effect.tap((token) =>
                      Effect.zipRight(
                        Effect.sync(() => {
                          local = token
                        }),
                        scheduleRefresh(token)
                      )
                    ),
                    Effect.exit,
                    Effect.flatMap((exit) =>
                      Effect.zipRight(Ref.set(inflight, Option.none()), Deferred.done(deferred, exit))
                    ),
                    Effect.onInterrupt(() =>
                      Effect.zipRight(Ref.set(inflight, Option.none()), Deferred.interrupt(deferred))
                    ),
                    Effect.forkIn(scope)
                  ),
                  Deferred.await(deferred)
                )
                : Deferred.await(deferred)
          )
        )
      )

    // The token-age gauge is set at most once a second: it is read in seconds, and setting it is the only
    // work a call with a cached token would do besides reading the clock.
    let ageSetAt = Number.NEGATIVE_INFINITY
    const recordAge = (token: AccessToken.AccessToken, now: number) => {
      if (now - ageSetAt < 1000 && now >= ageSetAt) return
      ageSetAt = now
      metrics.tokenAge.unsafeUpdate(Math.max(0, (now - token.issuedAt) / 1000), [])
    }

    const peek = (now: number): AccessToken.AccessToken | undefined => {
      const current = local
      if (current === undefined || !usable(current, now)) return undefined
      recordAge(current, now)
      return current
    }

    const get = Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const cached = peek(now)
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.tap(fetchOrJoin(Option.fromNullable(local)), (token) => Effect.sync(() => recordAge(token, now)))
    })

    const invalidate = (token: AccessToken.AccessToken) =>
      Effect.suspend(() => {
        const current = local
        if (current === undefined || !AccessToken.sameValue(current, token)) return Effect.succeed(false)
        local = undefined
        return Effect.as(store.compareAndDelete(token).pipe(Effect.catchAll(warnStore)), true)
      })

    const service: Service = {
      get,
      current: Effect.sync(() => Option.fromNullable(local)),
      peek,
      invalidate,
      refresh: Effect.suspend(() => fetchOrJoin(Option.fromNullable(local)))
    }

    if (config.eager) yield* get
    return service
  })

/** @internal */
export const layer = <R>(source: TokenSource<R>, options?: Options): Layer.Layer<TokenProvider, TokenError, R> =>
  Layer.scoped(TokenProvider, make(source, options))
