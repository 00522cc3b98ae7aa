import { AccessToken, TokenError, TokenSource } from "@bulwark/auth-token"
import { Clock, type Duration, Effect, Ref } from "effect"

/**
 * A token source driven by the test: records when each fetch started (by the `Clock`), issues tokens of
 * the given lifetime, and can be made to fail.
 */
export const makeScriptedSource = (lifetime: Duration.DurationInput) =>
  Effect.gen(function*() {
    const starts = yield* Ref.make<Array<number>>([])
    const failing = yield* Ref.make<TokenError.TokenError | undefined>(undefined)
    const fetch = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const n = (yield* Ref.updateAndGet(starts, (all) => [...all, now])).length
      const failure = yield* Ref.get(failing)
      if (failure !== undefined) return yield* Effect.fail(failure)
      return yield* AccessToken.make({ value: `scripted-token-${n}`, expiresIn: lifetime })
    })
    return {
      source: TokenSource.fromEffect(fetch, { name: "scripted" }),
      starts: Ref.get(starts),
      fetches: Effect.map(Ref.get(starts), (all) => all.length),
      fail: (error: TokenError.TokenError | undefined) => Ref.set(failing, error)
    }
  })

export const unreachable = new TokenError.TokenError({ source: "scripted", reason: "Unreachable" })
