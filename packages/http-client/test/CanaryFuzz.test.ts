import { ApiClient } from "@bulwark/http-client"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Logger, Option, Redacted, Runtime, Schema, TestClock } from "effect"
import * as fc from "fast-check"
import { inspect } from "node:util"
import { flush } from "./fakeApi.js"
import { withRecordedSpans } from "./recordingTracer.js"

// The whole pipeline under a seeded fuzzer, as the outside testers ran it: canary secrets (the access token,
// the client secret, an API key header, a secret query parameter) are echoed back by the API and the token
// endpoint in arbitrary places and forms; none may appear in any error rendering, log line or span
// (attributes, events, exit values), in raw, URL-encoded or base64 form. FUZZ_RUNS raises the count.

const runs = Number(process.env.FUZZ_RUNS ?? 150)

const TOKEN = "CANARY-tok/en+42=="
const CLIENT_SECRET = "CANARY cl!ent secr3t"
const API_KEY = "CANARY-api-key:77"
const QUERY_SECRET = "CANARY-query&secret"
const CANARIES = [TOKEN, CLIENT_SECRET, API_KEY, QUERY_SECRET]

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64")
const formEncode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+")
const formsOf = (secret: string) => [
  secret,
  encodeURIComponent(secret),
  formEncode(secret),
  base64(secret),
  base64(secret).replace(/=+$/, "")
]
const ALL_FORMS = CANARIES.flatMap(formsOf)

/** A server echoes what it received: the API gets the token, the key and the query; the token endpoint the secret. */
const plantedFrom = (secrets: ReadonlyArray<string>) =>
  fc.constantFrom(...secrets).chain((secret) =>
    fc.constantFrom(
      ...formsOf(secret),
      `Bearer ${secret}`,
      `client_secret=${formEncode(secret)}`,
      `Basic ${base64(`client:${formEncode(secret)}`)}`
    )
  )
const echoOf = (secrets: ReadonlyArray<string>) =>
  fc.tuple(fc.string({ maxLength: 20 }), plantedFrom(secrets), fc.string({ maxLength: 20 })).map(([a, s, b]) =>
    `${a}${s}${b}`
  )
const echo = echoOf([TOKEN, API_KEY, QUERY_SECRET])
const tokenEndpointEcho = echoOf([CLIENT_SECRET])
const body = fc.oneof(
  fc.constant(JSON.stringify({ id: "item-1" })),
  fc.record({ code: fc.integer(), message: echo, details: fc.array(fc.oneof(echo, fc.jsonValue({ maxDepth: 2 }))) })
    .map((value) => JSON.stringify(value)),
  echo.map((text) => `<html><title>${text}</title>${text}</html>`),
  fc.string()
)
const headerValue = echo.filter((value) => /^[\x20-\x7e]*$/.test(value))
const apiAnswer = fc.record({
  status: fc.constantFrom(200, 201, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503),
  body,
  headers: fc.record({
    "www-authenticate": headerValue.map((value) => `Bearer realm="api", error="invalid_token", token="${value}"`),
    "x-request-id": headerValue,
    location: fc.oneof(headerValue, headerValue.map((value) => `https://elsewhere.example/${value}`)),
    "retry-after": fc.constantFrom("0", "1", "garbage")
  }, { requiredKeys: [] })
})
const tokenAnswer = fc.oneof(
  fc.constant({ status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: "Bearer", expires_in: 3600 }) }),
  fc.record({
    status: fc.constantFrom(400, 401, 500),
    body: tokenEndpointEcho.map((text) => JSON.stringify({ error: "invalid_client", error_description: text }))
  }),
  fc.record({ status: fc.constant(200), body: tokenEndpointEcho })
)

/** Runs `effect` on the TestClock, moving it on while it waits (token retries back off), for 2 minutes at most. */
const untilDone = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let step = 0; step < 240; step++) {
      yield* flush
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      yield* TestClock.adjust("500 millis")
    }
    return yield* Fiber.interrupt(fiber)
  })

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string>
}

interface Script {
  readonly api: Answer
  readonly token: Answer
}

describe("canary fuzz through the whole pipeline", () => {
  it.effect(`no canary in any error, log line or span (${runs} seeded runs)`, () =>
    Effect.gen(function*() {
      let script: Script | undefined
      const transport = HttpClient.make((request) =>
        Effect.sync(() => {
          const answer = request.url.startsWith("https://auth.example.com") ? script!.token : script!.api
          return HttpClientResponse.fromWeb(
            request,
            new Response(answer.body, {
              status: answer.status,
              headers: { "content-type": "application/json", ...answer.headers }
            })
          )
        })
      )
      const lines: Array<string> = []
      const logger = Logger.make((options) => lines.push(inspect(options, { depth: 20 })))
      const api = yield* ApiClient.make({
        baseUrl: "https://api.example.com/v1",
        auth: {
          tokenUrl: "https://auth.example.com/token",
          clientId: "client",
          clientSecret: Redacted.make(CLIENT_SECRET),
          refresh: { minInterval: 0 }
        },
        retry: false
      }).pipe(Effect.provideService(HttpClient.HttpClient, transport))
      const Item = Schema.Struct({ id: Schema.String })
      const call = api.get("/items/1", Item, {
        urlParams: { access_token: QUERY_SECRET },
        headers: { "x-api-key": API_KEY }
      })
      const run = Runtime.runPromise(yield* Effect.runtime<never>())
      const outcomes = new Map<string, number>()
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(apiAnswer, tokenAnswer, async (apiScript, tokenScript) => {
            script = { api: apiScript, token: tokenScript }
            lines.length = 0
            const { result: exit, spans } = await run(
              withRecordedSpans(untilDone(call)).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
            )
            const tag = Exit.isSuccess(exit)
              ? "success"
              : String((Cause.squash(exit.cause) as { _tag?: string })._tag)
            outcomes.set(tag, (outcomes.get(tag) ?? 0) + 1)
            const texts: Array<string> = [...lines]
            if (Exit.isFailure(exit)) {
              const error = Cause.squash(exit.cause)
              texts.push(String(error), JSON.stringify(error), inspect(error, { depth: 20 }), Cause.pretty(exit.cause))
            }
            for (const span of spans) {
              texts.push(inspect({ attributes: span.attributes, events: span.events, exit: span.exit }, { depth: 20 }))
            }
            for (const text of texts) {
              for (const form of ALL_FORMS) {
                if (text.includes(form)) {
                  throw new Error(`a canary form leaked (${tag}): ${form} in ${text.slice(0, 3000)}`)
                }
              }
            }
          }),
          { seed: 4242, numRuns: runs }
        )
      )
      // The generators reach successes, API errors and token errors.
      expect(outcomes.get("success") ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0)
      expect(outcomes.get("TokenError") ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0)
      expect(outcomes.size).toBeGreaterThan(4)
    }).pipe(Effect.scoped), runs * 50 + 30_000)
})
