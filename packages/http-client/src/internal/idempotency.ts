/**
 * The idempotency key stage: outside the retries, so every attempt of one call carries the same key. The
 * retry stage asks `isIdempotent` whether a request may be sent again.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { type Client, plugin, type Stage } from "./stage.js"

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"])

/** @internal */
export const isIdempotent = (request: HttpClientRequest.HttpClientRequest, header: string): boolean =>
  IDEMPOTENT_METHODS.has(request.method) || request.headers[header.toLowerCase()] !== undefined

/** A UUID v4 from Effect's `Random`, so seeded runs produce the same keys. */
export const randomUuid: Effect.Effect<string> = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x100000000))),
  (words) => {
    const hex = words.map((w) => w.toString(16).padStart(8, "0")).join("")
    const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${
      hex.slice(20, 32)
    }`
  }
)

/** The idempotency key stage. @internal */
export const idempotencyKeyStage = (options: { readonly header: string; readonly auto: boolean }): Stage => {
  const header = options.header.toLowerCase()
  return (next) => (request, call) => {
    // A route rule's `idempotency.autoKey` replaces the client's for its calls.
    const auto = call.route?.autoKey ?? options.auto
    if (!auto || IDEMPOTENT_METHODS.has(request.method) || request.headers[header] !== undefined) {
      return next(request, call)
    }
    // One key per logical call: this stage sits outside the retry stage, so every retry repeats it.
    return Effect.flatMap(randomUuid, (key) => next(HttpClientRequest.setHeader(request, options.header, key), call))
  }
}

/** @internal */
export const idempotencyKey =
  (options: { readonly header: string; readonly auto: boolean }) => <E, R>(self: Client<E, R>): Client<E, R> =>
    plugin(idempotencyKeyStage(options), self)
