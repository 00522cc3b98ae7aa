import type { TokenError } from "@bulwark/auth-token"
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import type { HttpClientRequest } from "@effect/platform"
import { Cause, Effect } from "effect"
import { inspect } from "node:util"

/** What the fake token endpoint received: the request's Authorization header and its form body. */
export interface Received {
  readonly authorization: string | undefined
  readonly body: string
}

/** One answer: a response (a body of `null` has none), or a transport failure with this cause. */
export type Answer =
  | { readonly status: number; readonly body?: string | null; readonly headers?: Record<string, string> }
  | { readonly transportError: Error }

const utf8 = new TextDecoder()

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? utf8.decode(request.body.body) : ""

/**
 * A token endpoint without a server: an `HttpClient` built with `HttpClient.make` whose answer is a web
 * `Response` computed from what it received, so a test can echo the secret in any form it travelled in.
 */
export const fakeTokenEndpoint = (answer: (received: Received) => Answer): HttpClient.HttpClient =>
  HttpClient.make((request) => {
    const received: Received = { authorization: request.headers["authorization"], body: bodyText(request) }
    const scripted = answer(received)
    if ("transportError" in scripted) {
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Transport", cause: scripted.transportError })
      )
    }
    return Effect.sync(() =>
      HttpClientResponse.fromWeb(
        request,
        new Response(scripted.body ?? null, {
          status: scripted.status,
          headers: { "content-type": "application/json", ...scripted.headers }
        })
      )
    )
  })

/** RFC 6749 §2.3.1 form encoding (the client id and secret in a `Basic` header). */
export const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, "+")

/** WHATWG `application/x-www-form-urlencoded` (a form body). */
export const formBodyEncode = (value: string): string => new URLSearchParams({ s: value }).toString().slice(2)

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

/**
 * The runs of base64 characters that depend on `secret`'s bytes alone, for each of the three alignments it
 * may have inside a longer base64 text: if any of them appears, the secret leaked in base64.
 */
const base64Runs = (secret: string): Array<string> => {
  const bytes = new TextEncoder().encode(secret)
  const runs: Array<string> = []
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length)
    padded.set(bytes, offset)
    const encoded = base64(padded).replace(/=+$/, "")
    // Character i covers bits [6i, 6i + 6): keep those entirely inside the secret's bytes.
    const first = Math.ceil((8 * offset) / 6)
    const last = Math.floor((8 * padded.length) / 6) // exclusive
    const run = encoded.slice(first, last)
    runs.push(run, run.replace(/\+/g, "-").replace(/\//g, "_"))
  }
  return runs
}

/**
 * Every form in which `secret` must never appear: raw, `encodeURIComponent` (upper and lower case hex),
 * form-encoded both ways, and base64 (standard and URL alphabets, padded, unpadded, at any alignment).
 */
export const leakForms = (secret: string): Array<string> => {
  const cached = formsCache.get(secret)
  if (cached !== undefined) return cached
  const forms = new Set<string>([secret])
  for (const encoded of [encodeURIComponent(secret), formEncode(secret), formBodyEncode(secret)]) {
    forms.add(encoded)
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()))
  }
  const whole = base64(new TextEncoder().encode(secret))
  forms.add(whole)
  for (const run of base64Runs(secret)) forms.add(run)
  const out = Array.from(forms).filter((form) => form.length >= 4)
  formsCache.set(secret, out)
  return out
}

const formsCache = new Map<string, Array<string>>()

/** Every way a `TokenError` is rendered: message, String, JSON, util.inspect and Cause.pretty. */
export const renderings = (error: TokenError.TokenError): Array<string> => [
  error.message,
  String(error),
  JSON.stringify(error),
  inspect(error, { depth: 10 }),
  // With the cause chain rendered: a superset of the plain rendering.
  Cause.pretty(Cause.fail(error), { renderErrorCause: true })
]

/** The forms of `secrets` found in any rendering of `error` (empty when nothing leaked). */
export const leaks = (error: TokenError.TokenError, secrets: ReadonlyArray<string>): Array<string> => {
  const found: Array<string> = []
  const texts = renderings(error)
  for (const secret of secrets) {
    for (const form of leakForms(secret)) {
      if (texts.some((text) => text.includes(form))) found.push(form)
    }
  }
  return found
}
