import { type AccessToken, TokenError, TokenSource } from "@bulwark/auth-token"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Redacted, Runtime } from "effect"
import * as fc from "fast-check"
import { type Answer, fakeTokenEndpoint, formBodyEncode, formEncode, leaks } from "./fakeTokenEndpoint.js"

/** 2,000 seeded runs in the default suite; `npm run fuzz` raises it (FUZZ_RUNS). */
const runs = Number(process.env.FUZZ_RUNS ?? 2000)

// Canaries: "/", "+" and "=" encode differently in a URL, a form and base64.
const SECRET = "CANARY-cl1ent-s3cret/+="
const CLIENT_ID = "fuzz client"
const TOKEN = "CANARY-t0ken-v4lue/+=xyz"
const BASIC = `${formEncode(CLIENT_ID)}:${formEncode(SECRET)}`

const b64 = (text: string) => Buffer.from(text).toString("base64")

/** The client secret and the token in every form an endpoint may echo them. */
const secretEchoes = [
  SECRET,
  encodeURIComponent(SECRET),
  encodeURIComponent(SECRET).toLowerCase(),
  formEncode(SECRET),
  formBodyEncode(SECRET),
  b64(SECRET),
  Buffer.from(SECRET).toString("base64url"),
  b64(BASIC),
  `Basic ${b64(BASIC)}`,
  b64(`~${SECRET}`),
  b64(`~~${BASIC}!`)
]
const tokenEchoes = [TOKEN, encodeURIComponent(TOKEN), b64(TOKEN), b64(`..${TOKEN}`), `Bearer ${TOKEN}`]

const printable = (text: string) => text.replace(/[^\x20-\x7E]/g, "")

const planted = (echoes: ReadonlyArray<string>) =>
  fc.tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...echoes), fc.string({ maxLength: 12 })).map(
    ([before, echo, after]) => `${before}${echo}${after}`
  )

const anyText = fc.oneof(fc.string({ maxLength: 40 }), planted(secretEchoes), planted(tokenEchoes))

const expiresIn = fc.oneof(
  fc.integer({ min: -10, max: 100_000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(0.001, 5e-324, 0.999, 1, 3600, 1e12, "3600", "0.001", "soon", "", "1e400"),
  anyText
)

/** A body shaped like a token response or an OAuth error, any field missing, any field wrong. */
const oauthShaped = fc.record(
  {
    access_token: fc.oneof(fc.constant(TOKEN), fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null)),
    token_type: fc.oneof(fc.constantFrom("Bearer", "bearer", "mac", "DPoP"), anyText),
    expires_in: expiresIn,
    scope: anyText,
    error: fc.oneof(fc.constantFrom("invalid_client", "invalid_scope", "slow_down"), anyText, fc.integer()),
    error_description: fc.oneof(anyText, fc.jsonValue({ maxDepth: 2 }))
  },
  { requiredKeys: [] }
)

const body = fc.oneof(
  oauthShaped.map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  anyText,
  planted(secretEchoes).map((text) => `<html><title>${text}</title></html>`),
  fc.constant("")
)

const headerValue = (values: ReadonlyArray<string>) => fc.oneof(fc.constantFrom(...values), anyText).map(printable)

const headers = fc.record(
  {
    "content-type": headerValue(["application/json", "text/html; charset=utf-8", "text/plain", "nonsense"]),
    "www-authenticate": headerValue([
      "Basic realm=\"token\"",
      `Bearer error="invalid_token", error_description="${SECRET}"`,
      `Basic ${b64(BASIC)}`
    ]),
    "retry-after": headerValue(["0", "7", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "99999999999"]),
    location: headerValue([`https://login.example.com/?client_secret=${SECRET}`, "/elsewhere"])
  },
  { requiredKeys: [] }
)

/** A usable token response, so both outcomes are exercised. */
const usable = fc.record({
  status: fc.constantFrom(200, 201),
  body: fc.record(
    {
      access_token: fc.oneof(fc.constant(TOKEN), fc.string({ minLength: 1, maxLength: 40 })),
      token_type: fc.constantFrom("Bearer", "bearer", "BEARER"),
      expires_in: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.integer({ min: 1, max: 86_400 }).map(String)),
      scope: fc.string({ maxLength: 20 })
    },
    { requiredKeys: ["access_token"] }
  ).map((value) => JSON.stringify(value)),
  headers
})

const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ status: fc.integer({ min: 200, max: 599 }), body, headers }) },
  { weight: 2, arbitrary: usable },
  {
    weight: 1,
    arbitrary: fc.tuple(anyText, fc.constantFrom(undefined, "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT"))
      .map(([text, code]): Answer => ({ transportError: Object.assign(new Error(text), { code }) }))
  }
).map((scripted) =>
  "status" in scripted && [204, 205, 304].includes(scripted.status) ? { ...scripted, body: null } : scripted
)

const sources = {
  basic: TokenSource.clientCredentials({
    tokenUrl: "https://auth.example.com/oauth/token",
    clientId: CLIENT_ID,
    clientSecret: Redacted.make(SECRET),
    method: "basic"
  }),
  body: TokenSource.clientCredentials({
    tokenUrl: "https://auth.example.com/oauth/token",
    clientId: CLIENT_ID,
    clientSecret: Redacted.make(SECRET),
    method: "body"
  })
}

/** What one run found wrong, or `undefined`: plain checks, so 2,000 runs stay fast. */
const check = (scripted: Answer, exit: Exit.Exit<AccessToken.AccessToken, TokenError.TokenError>) => {
  if (Exit.isSuccess(exit)) {
    return exit.value.expiresAt - exit.value.issuedAt >= 1000 ? undefined : "a token shorter than the 1 s floor"
  }
  // Exactly one typed failure: no defect, no interruption.
  if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
    return `not a typed failure: ${Cause.pretty(exit.cause)}`
  }
  const failures = Array.from(Cause.failures(exit.cause))
  if (failures.length !== 1 || !TokenError.isTokenError(failures[0])) return "not exactly one TokenError"
  // The token is known to be one when the answer carried it as its access_token.
  const carriesToken = "status" in scripted && scripted.body?.includes(`"access_token":"${TOKEN}"`) === true
  const found = leaks(failures[0], carriesToken ? [SECRET, BASIC, TOKEN] : [SECRET, BASIC])
  return found.length === 0 ? undefined : `leaked ${JSON.stringify(found)}: ${failures[0].message}`
}

describe("TokenSource.clientCredentials against arbitrary token endpoints (property)", () => {
  // Under the test clock: the request's timeout timer never touches a real one (and never fires).
  it.effect(
    "never throws or dies, yields a token or a TokenError, and never leaks the secret or the token",
    () =>
      Effect.gen(function*() {
        const run = Runtime.runPromiseExit(yield* Effect.runtime<never>())
        let scripted: Answer = { status: 500 }
        const endpoint = fakeTokenEndpoint(() => scripted).pipe(HttpClient.withTracerDisabledWhen(() => true))
        const fetches = {
          basic: sources.basic.fetch.pipe(Effect.provideService(HttpClient.HttpClient, endpoint)),
          body: sources.body.fetch.pipe(Effect.provideService(HttpClient.HttpClient, endpoint))
        }
        const outcomes = { tokens: 0, errors: 0 }
        // Stack frames are code locations, never data; the stack's first line (the message) is kept. One frame
        // spares the test runner's source mapping of every stack rendered, a large part of the time of a run.
        const limit = Error.stackTraceLimit
        Error.stackTraceLimit = 1
        yield* Effect.ensuring(Effect.sync(() => (Error.stackTraceLimit = limit)))(Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(answer, fc.constantFrom("basic", "body" as const), async (answer, method) => {
              scripted = answer
              const exit = await run(fetches[method])
              outcomes[Exit.isSuccess(exit) ? "tokens" : "errors"]++
              const problem = check(answer, exit)
              if (problem !== undefined) throw new Error(problem)
            }),
            { numRuns: runs, seed: 42 }
          )
        ))
        // The generators reach both outcomes.
        expect(outcomes.tokens).toBeGreaterThan(runs / 10)
        expect(outcomes.errors).toBeGreaterThan(runs / 2)
      }),
    runs * 10 + 30_000
  )
})
