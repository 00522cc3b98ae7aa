// The contenders, each configured as its documentation recommends for a partner API, with the same
// limits: 4 attempts in all (3 retries), a 2 s per-attempt timeout (scaled down from the usual 10 s so a
// hung request does not dominate a bounded run). Each exposes `call(path)`, a Promise of a decoded body
// that rejects on failure, and `close()`.
//
// Token handling: Bulwark uses its own OAuth2 client-credentials provider. Every other contender fetches
// one token up front and sends it as a bearer header, with the hand-rolled "on 401, fetch a new token
// and retry once" a team would write (no single flight: each call that sees a 401 fetches its own).
import { ApiClient } from "@bulwark/http-client"
import { RedisFleet } from "@bulwark/redis"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import {
  BrokenCircuitError,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  SamplingBreaker,
  timeout,
  TimeoutStrategy,
  wrap
} from "cockatiel"
import { Effect, Exit, Layer, Redacted, Schedule, Schema, Scope } from "effect"
import got from "got"
import ky from "ky"
import * as Http from "node:http"
import pRetry, { AbortError } from "p-retry"
import { Agent, request } from "undici"

export const CLIENT_ID = "bulwark-demo"
export const CLIENT_SECRET = "sandbox-demo-secret"
export const ATTEMPT_TIMEOUT_MS = 2000

const Page = Schema.Struct({ items: Schema.Array(Schema.Unknown), nextCursor: Schema.NullOr(Schema.String) })

class HttpStatusError extends Error {
  constructor(status) {
    super(`HTTP ${status}`)
    this.status = status
  }
}

// Fetches one client-credentials token (HTTP Basic, RFC 6749 §4.4) with plain fetch.
export const fetchToken = async (tokenUrl, timeoutMs = ATTEMPT_TIMEOUT_MS) => {
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded"
    },
    body: "grant_type=client_credentials",
    signal: AbortSignal.timeout(timeoutMs)
  })
  if (response.status !== 200) throw new HttpStatusError(response.status)
  return (await response.json()).access_token
}

// The hand-rolled token handling of the non-Bulwark contenders.
const withTokenRefresh = async (tokenUrl, timeoutMs, attempt) => {
  let token = await fetchToken(tokenUrl, timeoutMs)
  return (path) =>
    attempt(path, token).catch(async (error) => {
      if (statusOf(error) !== 401) throw error
      token = await fetchToken(tokenUrl, timeoutMs)
      return attempt(path, token)
    })
}

const statusOf = (error) =>
  error?.status ?? error?.response?.status ?? error?.response?.statusCode ?? error?.cause?.status ??
    error?.lastError?.status

// Runs an Effect-built client: builds it in a scope once, then runs each call as its own fiber.
const effectContender = async (build, extra = Layer.empty) => {
  const scope = Effect.runSync(Scope.make())
  // The transport lives in the contender's scope (Effect.provide(layer) would close it right after build).
  const call = await Effect.runPromise(
    Layer.buildWithScope(Layer.merge(NodeHttpClient.layerUndici, extra), scope).pipe(
      Effect.flatMap((context) => Scope.extend(build, scope).pipe(Effect.provide(context)))
    )
  )
  return {
    call: (path) => Effect.runPromise(call(path)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const contenders = [
  {
    name: "bulwark",
    label: "Bulwark ApiClient",
    config:
      "`ApiClient.make({ baseUrl, auth: { tokenUrl, clientId, clientSecret }, attemptTimeout: \"2 seconds\" })`: the standard pipeline with its defaults — 3 retries (4 attempts), full-jitter backoff 200 ms base / 10 s cap, Retry-After honoured (max 60 s) by the per-origin traffic controller (floor, learned or advertised pace, paced release, outage probes), retry budget (500 tokens, 5 per retry, never spent on 429s), 30 s deadline, single-flight token refresh on 401",
    make: ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) =>
      effectContender(Effect.gen(function*() {
        const api = yield* ApiClient.make({
          baseUrl: `${url}/v1`,
          auth: { tokenUrl, clientId: CLIENT_ID, clientSecret: Redacted.make(CLIENT_SECRET) },
          attemptTimeout: `${timeoutMs} millis`
        })
        return (path) => api.get(path, Page)
      }))
  },
  {
    name: "bulwark+rateLimit",
    label: "Bulwark ApiClient + traffic.maxRate",
    only: ["rateLimit"],
    config:
      "as `bulwark`, plus the hand-set ceiling `traffic: { maxRate: { limit: 50, interval: \"1 second\" } }` (the known quota R): scenario 4 only",
    make: ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) =>
      effectContender(Effect.gen(function*() {
        const api = yield* ApiClient.make({
          baseUrl: `${url}/v1`,
          auth: { tokenUrl, clientId: CLIENT_ID, clientSecret: Redacted.make(CLIENT_SECRET) },
          attemptTimeout: `${timeoutMs} millis`,
          traffic: { maxRate: { limit: 50, interval: "1 second" } }
        })
        return (path) => api.get(path, Page)
      }))
  },
  {
    name: "platform",
    label: "@effect/platform retryTransient",
    config:
      "NodeHttpClient.layerUndici; `client.pipe(mapRequest(bearerToken), filterStatusOk, transformResponse(Effect.timeout(\"2 seconds\")), retryTransient({ times: 3, schedule: Schedule.exponential(\"200 millis\") }))`; body decoded with `schemaBodyJson`. Does not read Retry-After (retries 408/429/5xx, transport errors and timeouts)",
    make: ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) =>
      effectContender(Effect.gen(function*() {
        const base = yield* HttpClient.HttpClient
        const clientFor = (token) =>
          base.pipe(
            HttpClient.mapRequest(HttpClientRequest.bearerToken(token)),
            HttpClient.filterStatusOk,
            HttpClient.transformResponse(Effect.timeout(`${timeoutMs} millis`)),
            HttpClient.retryTransient({ times: 3, schedule: Schedule.exponential("200 millis") })
          )
        let client = clientFor(yield* Effect.promise(() => fetchToken(tokenUrl, timeoutMs)))
        const attempt = (c, path) =>
          c.get(`${url}/v1${path}`).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Page)))
        return (path) =>
          attempt(client, path).pipe(
            Effect.catchIf(
              (error) => error._tag === "ResponseError" && error.response.status === 401,
              () =>
                Effect.promise(() => fetchToken(tokenUrl, timeoutMs)).pipe(
                  Effect.flatMap((token) => {
                    client = clientFor(token)
                    return attempt(client, path)
                  })
                )
            )
          )
      }))
  },
  {
    name: "got",
    label: "got 14",
    config:
      "`got.extend({ retry: { limit: 3, methods: [\"GET\"], statusCodes: [408, 413, 429, 500, 502, 503, 504, 521, 522, 524], maxRetryAfter: 60000, backoffLimit: 10000 }, timeout: { request: 2000 }, agent: keep-alive })`: got's defaults (backoff 1 s · 2^n + up to 100 ms noise, Retry-After honoured on 413/429/503) with the limit set to 3; hand-rolled 401 refresh",
    make: async ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) => {
      const agent = new Http.Agent({ keepAlive: true })
      const client = got.extend({
        prefixUrl: `${url}/v1`,
        agent: { http: agent },
        retry: {
          limit: 3,
          methods: ["GET"],
          statusCodes: [408, 413, 429, 500, 502, 503, 504, 521, 522, 524],
          maxRetryAfter: 60_000,
          backoffLimit: 10_000
        },
        timeout: { request: timeoutMs }
      })
      const call = await withTokenRefresh(
        tokenUrl,
        timeoutMs,
        (path, token) => client.get(path.slice(1), { headers: { authorization: `Bearer ${token}` } }).json()
      )
      return { call, close: async () => agent.destroy() }
    }
  },
  {
    name: "ky",
    label: "ky 1.x",
    config:
      "`ky.create({ retry: { limit: 3, methods: [\"get\"], statusCodes: [408, 413, 429, 500, 502, 503, 504], afterStatusCodes: [413, 429, 503], maxRetryAfter: 60000, backoffLimit: 10000, retryOnTimeout: true }, timeout: 2000 })` on Node's fetch: ky's defaults (backoff 0.3 s · 2^n, Retry-After honoured) with `retryOnTimeout` on so a timed-out attempt is retried like the others; hand-rolled 401 refresh",
    make: async ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) => {
      const client = ky.create({
        prefixUrl: `${url}/v1`,
        retry: {
          limit: 3,
          methods: ["get"],
          statusCodes: [408, 413, 429, 500, 502, 503, 504],
          afterStatusCodes: [413, 429, 503],
          maxRetryAfter: 60_000,
          backoffLimit: 10_000,
          retryOnTimeout: true
        },
        timeout: timeoutMs
      })
      const call = await withTokenRefresh(
        tokenUrl,
        timeoutMs,
        (path, token) => client.get(path.slice(1), { headers: { authorization: `Bearer ${token}` } }).json()
      )
      return { call, close: async () => undefined }
    }
  },
  {
    name: "cockatiel",
    label: "cockatiel 3 + fetch",
    config:
      "`wrap(retry(handleWhen(transient), { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10000 }) }), circuitBreaker(handleWhen(transient && not 429), { halfOpenAfter: 5000, breaker: new SamplingBreaker({ threshold: 0.2, duration: 10000, minimumRps: 5 }) }), timeout(2000, TimeoutStrategy.Aggressive))` around `fetch`; transient = 408/429/5xx, network errors, timeouts; the breaker ignores 429s (a quota is not an unhealthy server: counting them made the breaker open and fail ~all calls in the rate-limit scenario); an open breaker fails fast (not retried). No Retry-After support; hand-rolled 401 refresh",
    make: async ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) => {
      const transient = (error) => {
        if (error instanceof BrokenCircuitError) return false
        const status = statusOf(error)
        return status === undefined || status === 408 || status === 429 || status >= 500
      }
      const policy = wrap(
        retry(handleWhen(transient), {
          maxAttempts: 3,
          backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10_000 })
        }),
        circuitBreaker(handleWhen((error) => transient(error) && statusOf(error) !== 429), {
          halfOpenAfter: 5_000,
          breaker: new SamplingBreaker({ threshold: 0.2, duration: 10_000, minimumRps: 5 })
        }),
        timeout(timeoutMs, TimeoutStrategy.Aggressive)
      )
      const call = await withTokenRefresh(tokenUrl, timeoutMs, (path, token) =>
        policy.execute(async ({ signal }) => {
          const response = await fetch(`${url}/v1${path}`, { headers: { authorization: `Bearer ${token}` }, signal })
          if (!response.ok) {
            await response.arrayBuffer()
            throw new HttpStatusError(response.status)
          }
          return response.json()
        }))
      return { call, close: async () => undefined }
    }
  },
  {
    name: "p-retry",
    label: "p-retry 7 + fetch",
    config:
      "`pRetry(attempt, { retries: 3 })` with p-retry's defaults (factor 2, minTimeout 1 s, maxTimeout ∞, no jitter) around `fetch` with `AbortSignal.timeout(2000)` per attempt; 4xx other than 408/429 → `AbortError` (not retried). No Retry-After support; hand-rolled 401 refresh",
    make: async ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) => {
      const call = await withTokenRefresh(tokenUrl, timeoutMs, (path, token) =>
        pRetry(async () => {
          const response = await fetch(`${url}/v1${path}`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(timeoutMs)
          })
          if (!response.ok) {
            await response.arrayBuffer()
            const error = new HttpStatusError(response.status)
            if (response.status < 500 && response.status !== 408 && response.status !== 429) throw new AbortError(error)
            throw error
          }
          return response.json()
        }, { retries: 3 }))
      return { call, close: async () => undefined }
    }
  },
  {
    name: "undici",
    label: "undici 7 request (no retries)",
    // Without retries every 429 is a failed call: the quota scenarios would measure nothing.
    skip: ["quota"],
    config:
      "`undici.request(url, { dispatcher: new Agent({ keepAliveTimeout: 10000 }), headersTimeout: 2000, bodyTimeout: 2000 })`, body read with `.json()`, non-2xx is a failure; no retries (the cost floor); hand-rolled 401 refresh",
    make: async ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) => {
      const dispatcher = new Agent({ keepAliveTimeout: 10_000 })
      const call = await withTokenRefresh(tokenUrl, timeoutMs, async (path, token) => {
        const { body, statusCode } = await request(`${url}/v1${path}`, {
          dispatcher,
          headers: { authorization: `Bearer ${token}` },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs
        })
        if (statusCode < 200 || statusCode >= 300) {
          await body.dump()
          throw new HttpStatusError(statusCode)
        }
        return body.json()
      })
      return { call, close: () => dispatcher.close() }
    }
  }
]

// The fleet scenario's Bulwark replica: the same client as `bulwark`, with `RedisFleet.layer` in its context (one
// token and one traffic controller state for the fleet, on the machine's Redis), and no hand-set limit.
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
export const fleetContender = (keyPrefix) => ({
  name: "bulwark+redis",
  label: "Bulwark ApiClient + RedisFleet.layer",
  config:
    "as `bulwark`, with `RedisFleet.layer({ redis, keyPrefix })` in the context: the token and the traffic controller's state (floor, pace, learned rate) shared by the fleet through Redis; no hand-set limit",
  make: ({ timeoutMs = ATTEMPT_TIMEOUT_MS, tokenUrl, url }) =>
    effectContender(
      Effect.gen(function*() {
        const api = yield* ApiClient.make({
          baseUrl: `${url}/v1`,
          auth: { tokenUrl, clientId: CLIENT_ID, clientSecret: Redacted.make(CLIENT_SECRET) },
          attemptTimeout: `${timeoutMs} millis`
        })
        return (path) => api.get(path, Page)
      }),
      RedisFleet.layer({ redis: REDIS_URL, keyPrefix })
    )
})
