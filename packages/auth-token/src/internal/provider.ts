import { Backoff, RetrySchedule } from "@bulwark/retry-schedules"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as AccessToken from "../AccessToken.js"
import type { TokenError } from "../TokenError.js"
import type { TokenSource } from "../TokenSource.js"
// The Tag lives in the public module; it is only read inside functions, so the import cycle is harmless.
import { type Options, type Service, TokenProvider } from "../TokenProvider.js"
import * as TokenStore from "../TokenStore.js"

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

const validate = (options: Options | undefined) => {
  const refreshRatio = options?.refreshRatio ?? defaults.refreshRatio
  const refreshJitter = options?.refreshJitter ?? defaults.refreshJitter
  if (!(refreshRatio > 0 && refreshRatio < 1)) {
    throw new RangeError(`TokenProvider: refreshRatio must be between 0 and 1 (exclusive), got ${refreshRatio}`)
  }
  if (!(refreshJitter >= 0 && refreshJitter < Math.min(refreshRatio, 1 - refreshRatio))) {
    throw new RangeError(`TokenProvider: refreshJitter must be >= 0 and below refreshRatio, got ${refreshJitter}`)
  }
  return {
    refreshRatio,
    refreshJitter,
    refreshBeforeExpiryMillis: Duration.toMillis(
      Duration.decode(options?.refreshBeforeExpiry ?? defaults.refreshBeforeExpiry)
    ),
    expiryMarginMillis: Duration.toMillis(Duration.decode(options?.expiryMargin ?? defaults.expiryMargin)),
    fetchRetry: options?.fetchRetry ?? defaultFetchRetry,
    refreshBackoff: options?.refreshBackoff ?? defaults.refreshBackoff
  }
}

/** @internal */
export const make = <R>(
  source: TokenSource<R>,
  options?: Options
): Effect.Effect<Service, TokenError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const config = validate(options)
    const scope = yield* Effect.scope
    const context = yield* Effect.context<R>()
    const store = yield* Effect.serviceOption(TokenStore.TokenStore).pipe(
      Effect.flatMap(Option.match({ onNone: () => TokenStore.makeMemory, onSome: Effect.succeed }))
    )
    const local = yield* Ref.make(Option.none<AccessToken.AccessToken>())
    const inflight = yield* Ref.make(Option.none<Deferred.Deferred<AccessToken.AccessToken, TokenError>>())
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

    const fetchFromSource = source.fetch.pipe(
      Effect.provide(context),
      Effect.tapError(() => Metric.increment(metrics.fetchFailures)),
      Effect.withSpan("bulwark.auth_token.fetch", {
        captureStackTrace: false,
        kind: "client",
        attributes: { "bulwark.token.source": source.name }
      }),
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
      Effect.map(Random.next, (u) => {
        const lifetime = token.lifetimeMillis
        const ratio = config.refreshRatio + (u * 2 - 1) * config.refreshJitter
        const planned = Math.min(token.issuedAt + lifetime * ratio, token.expiresAt - config.refreshBeforeExpiryMillis)
        // Short-lived tokens: never refresh before half the lifetime, or refreshes would loop.
        const at = Math.max(planned, token.issuedAt + lifetime / 2)
        return Math.max(0, at - now)
      })

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
          Backoff.backoff(config.refreshBackoff).pipe(
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
      Effect.gen(function*() {
        yield* ensureOpen
        const mine = yield* Deferred.make<AccessToken.AccessToken, TokenError>()
        type Running = Option.Option<Deferred.Deferred<AccessToken.AccessToken, TokenError>>
        const running = yield* Ref.modify(
          inflight,
          (current): readonly [Running, Running] =>
            Option.isSome(current) ? [current, current] : [Option.none(), Option.some(mine)]
        )
        if (Option.isSome(running)) return yield* Deferred.await(running.value)
        yield* fetchAndStore(replacing).pipe(
          Effect.tap((token) => Effect.zipRight(Ref.set(local, Option.some(token)), scheduleRefresh(token))),
          Effect.exit,
          Effect.flatMap((exit) => Effect.zipRight(Ref.set(inflight, Option.none()), Deferred.done(mine, exit))),
          Effect.onInterrupt(() => Effect.zipRight(Ref.set(inflight, Option.none()), Deferred.interrupt(mine))),
          Effect.forkIn(scope)
        )
        return yield* Deferred.await(mine)
      })

    const get = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const current = yield* Ref.get(local)
      const token = Option.isSome(current) && usable(current.value, now)
        ? current.value
        : yield* fetchOrJoin(current)
      yield* Metric.set(metrics.tokenAge, Math.max(0, (now - token.issuedAt) / 1000))
      return token
    })

    const invalidate = (token: AccessToken.AccessToken) =>
      Effect.gen(function*() {
        const removed = yield* Ref.modify(
          local,
          (current) =>
            Option.isSome(current) && AccessToken.sameValue(current.value, token)
              ? [true, Option.none()]
              : [false, current]
        )
        if (removed) {
          yield* store.compareAndDelete(token).pipe(Effect.catchAll(warnStore))
        }
        return removed
      })

    const service: Service = {
      get,
      current: Ref.get(local),
      invalidate,
      refresh: Effect.flatMap(Ref.get(local), fetchOrJoin)
    }

    if (options?.eager === true) yield* get
    return service
  })

/** @internal */
export const layer = <R>(source: TokenSource<R>, options?: Options): Layer.Layer<TokenProvider, TokenError, R> =>
  Layer.scoped(TokenProvider, make(source, options))
