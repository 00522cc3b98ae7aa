/**
 * An OAuth2 access token: its value (always `Redacted`), type, the instants it was issued and
 * expires at (epoch milliseconds of Effect's `Clock` at receipt), and its scope.
 *
 * An `AccessToken` prints and serializes without its value: `String(token)`, `JSON.stringify(token)`
 * and `util.inspect(token)` show `<redacted>`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Redacted from "effect/Redacted"

/**
 * @since 0.1.0
 * @category models
 */
export class AccessToken {
  /** The token value. Read it with `Redacted.value` only where it is sent. */
  readonly value: Redacted.Redacted<string>
  /** The token type, `"Bearer"` for RFC 6750 tokens. */
  readonly type: string
  /** When the token was received, epoch milliseconds of the `Clock`. */
  readonly issuedAt: number
  /** When the token expires, epoch milliseconds of the `Clock`. */
  readonly expiresAt: number
  /** The granted scope, when the server said. */
  readonly scope: string | undefined

  constructor(fields: {
    readonly value: Redacted.Redacted<string>
    readonly type?: string | undefined
    readonly issuedAt: number
    readonly expiresAt: number
    readonly scope?: string | undefined
  }) {
    this.value = fields.value
    this.type = fields.type ?? "Bearer"
    this.issuedAt = fields.issuedAt
    this.expiresAt = fields.expiresAt
    this.scope = fields.scope
  }

  /** The token's whole lifetime in milliseconds. */
  get lifetimeMillis(): number {
    return this.expiresAt - this.issuedAt
  }

  toJSON(): unknown {
    return {
      _tag: "AccessToken",
      value: "<redacted>",
      type: this.type,
      issuedAt: new Date(this.issuedAt).toISOString(),
      expiresAt: new Date(this.expiresAt).toISOString(),
      scope: this.scope
    }
  }

  toString(): string {
    return `AccessToken(${this.type}, <redacted>, expires ${new Date(this.expiresAt).toISOString()})`
  }

  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

/**
 * A token that expires `expiresIn` after now (by the `Clock`).
 *
 * @example
 * ```ts
 * import { AccessToken } from "@bulwark/auth-token"
 * import { Effect, Redacted } from "effect"
 *
 * const token = AccessToken.make({ value: Redacted.make("eyJ..."), expiresIn: "1 hour", scope: "items:read" })
 * // Effect<AccessToken.AccessToken>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly value: Redacted.Redacted<string> | string
  readonly expiresIn: Duration.DurationInput
  readonly type?: string | undefined
  readonly scope?: string | undefined
}): Effect.Effect<AccessToken> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    new AccessToken({
      value: Redacted.isRedacted(options.value) ? options.value : Redacted.make(options.value),
      type: options.type,
      issuedAt: now,
      expiresAt: now + Duration.toMillis(Duration.decode(options.expiresIn)),
      scope: options.scope
    }))

/**
 * Whether two tokens carry the same value (compare-and-invalidate compares values, not objects, so a
 * token read back from a shared store matches the one that was handed out).
 *
 * @since 0.1.0
 * @category predicates
 */
export const sameValue = (self: AccessToken, that: AccessToken): boolean =>
  Redacted.value(self.value) === Redacted.value(that.value)

/**
 * The value for an `Authorization` header: `Bearer <token>`, as a `Redacted`.
 *
 * @since 0.1.0
 * @category getters
 */
export const authorization = (self: AccessToken): Redacted.Redacted<string> =>
  Redacted.make(`${self.type.toLowerCase() === "bearer" ? "Bearer" : self.type} ${Redacted.value(self.value)}`)
