/**
 * Where a `TokenProvider` keeps its current token, so that several providers (several replicas, with
 * the `@bulwark/redis` plugin) can share one token instead of each fetching its own.
 *
 * The provider keeps a local copy and reads the store only when it needs a new token: under the
 * store's refresh lock it first looks for a token another provider stored, and fetches only if there
 * is none it can use. Store failures never fail a `get`: the provider logs a warning and carries on
 * with its local copy (per-process behaviour).
 *
 * Without a `TokenStore` in the context the provider uses a private in-memory one.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as AccessToken from "./AccessToken.js"

/**
 * A store operation failed (the shared store is down or slow).
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenStoreError extends Schema.TaggedError<TokenStoreError>("@bulwark/auth-token/TokenStoreError")(
  "TokenStoreError",
  {
    operation: Schema.Literal("get", "set", "compareAndDelete", "lock"),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `The token store failed during ${this.operation}${cause}. The token provider falls back to its local token.`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The stored token, if any (it may have expired: the provider checks). */
  readonly get: Effect.Effect<Option.Option<AccessToken.AccessToken>, TokenStoreError>
  /** Stores a new token, replacing any other. */
  readonly set: (token: AccessToken.AccessToken) => Effect.Effect<void, TokenStoreError>
  /** Deletes the stored token only if it has this token's value; `true` if it did. */
  readonly compareAndDelete: (token: AccessToken.AccessToken) => Effect.Effect<boolean, TokenStoreError>
  /** Runs `effect` while holding the refresh lock, so that only one holder fetches a token at a time. */
  readonly withRefreshLock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | TokenStoreError, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("@bulwark/auth-token/TokenStore")<TokenStore, Service>() {}

/**
 * An in-memory store: a reference and a one-permit semaphore.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.gen(function*() {
  const ref = yield* Ref.make(Option.none<AccessToken.AccessToken>())
  const lock = yield* Effect.makeSemaphore(1)
  return {
    get: Ref.get(ref),
    set: (token) => Ref.set(ref, Option.some(token)),
    compareAndDelete: (token) =>
      Ref.modify(ref, (current) =>
        Option.isSome(current) && AccessToken.sameValue(current.value, token)
          ? [true, Option.none()]
          : [false, current]),
    withRefreshLock: (effect) => lock.withPermits(1)(effect)
  }
})

/**
 * A layer providing an in-memory store, to share one token between providers of one process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenStore> = Layer.effect(TokenStore, makeMemory)
