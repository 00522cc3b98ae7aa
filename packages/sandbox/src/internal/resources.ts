import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { Quota, RateLimitHeaders } from "./config.js"
import { ConnectionControl } from "./connection.js"
import type { Fault } from "./faults.js"
import { gatewayPage } from "./faults.js"
import type { Ctx, Handler, Response } from "./http.js"
import { badRequest, errorCodes, errorResponse, fromStored, readJson, REALM, retryAfter, retryAfterAt } from "./http.js"
import type { FieldIssue } from "./items.js"
import * as Items from "./items.js"
import { canonicalJson, parseBearer } from "./parsers.js"
import type { QuotaCheck, State, StoredResponse, TokenRecord } from "./state.js"
import { itemNumber } from "./state.js"

// ---------------------------------------------------------------------------------------------
// faults, bearer token, quota, role
// ---------------------------------------------------------------------------------------------

type ResourceHandler = (ctx: Ctx, caller: TokenRecord, now: number) => Effect.Effect<Response>

const bearerChallenge = (error?: string, description?: string, scope?: string): Record<string, string> => {
  let value = `Bearer realm="${REALM}"`
  if (error !== undefined) value += `, error="${error}"`
  if (description !== undefined) value += `, error_description="${description}"`
  if (scope !== undefined) value += `, scope="${scope}"`
  return { "www-authenticate": value }
}

const faultResponse = (state: State, fault: Fault, now: number): Response | undefined => {
  switch (fault._tag) {
    case "ServerError": {
      if (fault.html) {
        return HttpServerResponse.text(gatewayPage(fault.status), {
          status: fault.status,
          contentType: "text/html"
        })
      }
      const message = fault.status === 500
        ? "Internal error (an injected fault); retry with backoff"
        : fault.status === 502
        ? "Bad gateway (an injected fault); retry with backoff"
        : fault.status === 503
        ? "The service is unavailable (an injected fault); retry with backoff"
        : "The upstream timed out (an injected fault); retry with backoff"
      return errorResponse(fault.status, message)
    }
    case "Unavailable": {
      const after = retryAfter(state, now, fault.retryAfter)
      const message = fault.kind === "scalingUp"
        ? `The service is scaling up; retry after ${fault.retryAfter} s`
        : fault.kind === "outage"
        ? `The service is unavailable (outage); retry after ${fault.retryAfter} s`
        : `The service is temporarily unavailable; retry after ${fault.retryAfter} s`
      return errorResponse(503, message, [], { "retry-after": after.value })
    }
    default:
      return undefined
  }
}

/**
 * The rate-limit headers of a quota'd response, in the config's `rateLimitHeaders` style (not `false`). `Reset`
 * and `t` are delta-seconds rounded up (a client waiting that long finds the window over or the bucket full);
 * `X-RateLimit-Reset` is that instant in epoch seconds (from the `Clock`), rounded up, as GitHub sends it.
 */
const rateLimitHeaders = (
  mode: Exclude<RateLimitHeaders, false>,
  quota: Quota,
  check: QuotaCheck,
  now: number
): Record<string, string> => {
  const limit = String(check.limit)
  const remaining = String(check.remaining)
  const reset = String(Math.max(0, Math.ceil(check.resetMs / 1000)))
  switch (mode) {
    case true:
      return {
        "ratelimit-limit": limit,
        "ratelimit-remaining": remaining,
        "ratelimit-reset": reset,
        "ratelimit-policy": `${quota.limit};w=${quota.windowSeconds}`
      }
    case "draft-11":
      return draft11(quota, remaining, reset)
    case "legacy":
      return { "ratelimit-limit": limit, "ratelimit-remaining": remaining, "ratelimit-reset": reset }
    case "x-ratelimit":
      return xRateLimit(limit, remaining, check, now)
    case "all":
      return {
        ...draft11(quota, remaining, reset),
        "ratelimit-limit": limit,
        "ratelimit-remaining": remaining,
        "ratelimit-reset": reset,
        ...xRateLimit(limit, remaining, check, now)
      }
  }
}

/** draft-ietf-httpapi-ratelimit-headers-11: one policy, named `"default"`, as Structured Field lists. */
const draft11 = (quota: Quota, remaining: string, reset: string): Record<string, string> => ({
  "ratelimit-policy": `"default";q=${quota.limit};w=${quota.windowSeconds}`,
  "ratelimit": `"default";r=${remaining};t=${reset}`
})

const xRateLimit = (limit: string, remaining: string, check: QuotaCheck, now: number): Record<string, string> => ({
  "x-ratelimit-limit": limit,
  "x-ratelimit-remaining": remaining,
  "x-ratelimit-reset": String(Math.ceil((now + check.resetMs) / 1000))
})

/**
 * What nginx's `limit_req` sends over its limit (with `limit_req_status 429`): no `Retry-After`, no rate-limit
 * headers, a small HTML page.
 */
const barePage =
  "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center>" +
  "<hr><center>nginx</center></body></html>"

const quotaExceeded = (state: State, quota: Quota, check: QuotaCheck, clientId: string, now: number): Response => {
  const after = retryAfterAt(state, now, now + check.retryMs, 1)
  const seconds = Math.max(1, Math.ceil(check.retryMs / 1000))
  state.noteRetryAfter(clientId, after.at)
  const bucket = quota.algorithm === "token-bucket"
  const rule = bucket
    ? `${quota.limit} requests per ${quota.windowSeconds} s, in bursts of at most ${check.limit}`
    : `${quota.limit} requests per ${quota.windowSeconds} s`
  return errorResponse(
    429,
    `Quota exceeded: client ${clientId} may send ${rule}; retry after ${seconds} s`,
    [
      bucket
        ? { quota: "requests", limit: quota.limit, windowSeconds: quota.windowSeconds, burst: check.limit }
        : { quota: "requests", limit: quota.limit, windowSeconds: quota.windowSeconds }
    ],
    { "retry-after": after.value }
  )
}

const stall = (response: Response): Response | undefined => {
  const body = response.body
  if (body._tag !== "Uint8Array" || body.body.byteLength === 0) return undefined
  const bytes = body.body
  const half = bytes.subarray(0, Math.max(1, Math.floor(bytes.byteLength / 2)))
  return HttpServerResponse.stream(Stream.concat(Stream.succeed(half), Stream.never), {
    status: response.status,
    headers: response.headers,
    contentType: body.contentType,
    contentLength: bytes.byteLength
  })
}

/** @internal */
export const resource = (role: string, handler: ResourceHandler): Handler => (ctx) =>
  Effect.gen(function*() {
    const { request, state } = ctx
    const arrival = yield* Clock.currentTimeMillis
    const bearer = parseBearer(request.headers.authorization)
    const known = bearer === undefined || bearer === "malformed" ? undefined : state.tokens.get(bearer)
    if (known !== undefined && !known.revoked && known.expiresAt > arrival) state.noteArrival(known.clientId, arrival)

    const decision = state.decide(arrival)
    if (decision.latencyMs > 0) yield* Effect.sleep(decision.latencyMs)
    const fault = decision.fault
    const now = decision.latencyMs > 0 ? yield* Clock.currentTimeMillis : arrival
    const injected = faultResponse(state, fault, now)
    if (injected !== undefined) return injected
    if (fault._tag === "Hang") {
      ctx.record("hung")
      return yield* Effect.never
    }
    const connection = yield* ConnectionControl
    if (fault._tag === "ResetBefore") {
      ctx.record("reset")
      return yield* connection.reset(request)
    }

    // Authentication (RFC 6750).
    if (bearer === undefined) {
      return errorResponse(
        401,
        "Authentication required: send Authorization: Bearer <access_token> (get one from POST /oauth/token)",
        [],
        bearerChallenge()
      )
    }
    if (known === undefined || known.revoked || known.expiresAt <= now) {
      const reason = bearer === "malformed"
        ? "The Authorization header does not carry a valid bearer token"
        : known === undefined
        ? "The access token is unknown"
        : known.revoked
        ? "The access token was revoked"
        : `The access token expired at ${new Date(known.expiresAt).toISOString()}`
      return errorResponse(
        401,
        `${reason}; fetch a new token from POST /oauth/token and retry`,
        [],
        bearerChallenge("invalid_token", reason)
      )
    }

    // Quota: the client's own, or the policy's.
    const client = state.clients.get(known.clientId)
    const quota = state.quotaOf(client)
    let limitHeaders: Record<string, string> | undefined
    if (quota !== null) {
      const check = state.checkResourceQuota(quota, known.clientId, now)
      const mode = state.policy.rateLimitHeaders
      if (!check.allowed) {
        state.rateLimited++
        if (state.policy.quotaResponse === "bare") {
          return HttpServerResponse.text(barePage, { status: 429, contentType: "text/html" })
        }
        const response = quotaExceeded(state, quota, check, known.clientId, now)
        return mode === false
          ? response
          : HttpServerResponse.setHeaders(response, rateLimitHeaders(mode, quota, check, now))
      }
      if (mode !== false) limitHeaders = rateLimitHeaders(mode, quota, check, now)
    }

    // Roles.
    if (!known.scopes.has(role)) {
      const hasRole = client !== undefined && client.roles.includes(role)
      const message = hasRole
        ? `The access token was issued without the scope ${role}, which ${request.method} ${ctx.route.split(" ")[1]} ` +
          `needs; request a token with scope ${role}`
        : `The client ${known.clientId} lacks the role ${role}, which ${request.method} ${
          ctx.route.split(" ")[1]
        } needs; grant the role to the service account (a new token will not help)`
      return errorResponse(403, message, [{ missingRole: role }], {
        ...bearerChallenge("insufficient_scope", undefined, role),
        ...limitHeaders
      })
    }

    let response = yield* handler(ctx, known, now)
    if (fault._tag === "ResetAfter") {
      ctx.record("reset")
      return yield* connection.reset(request)
    }
    if (limitHeaders !== undefined) response = HttpServerResponse.setHeaders(response, limitHeaders)
    if (fault._tag === "Stall") {
      const stalled = stall(response)
      if (stalled === undefined) {
        ctx.record("hung")
        return yield* Effect.never
      }
      ctx.outcome = "stalled"
      return stalled
    }
    return response
  })

// ---------------------------------------------------------------------------------------------
// /v1/items
// ---------------------------------------------------------------------------------------------

const encodeCursor = (id: string): string => Buffer.from(id, "utf8").toString("base64url")
const decodeCursor = (cursor: string): number | undefined => {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(cursor)) return undefined
  return itemNumber(Buffer.from(cursor, "base64url").toString("utf8"))
}

const notFoundItem = (id: string): Response =>
  errorResponse(404, `The item ${JSON.stringify(id.slice(0, 100))} does not exist`, [
    { field: "id", issue: "no such item" }
  ])

/** @internal */
export const listItems: ResourceHandler = (ctx) =>
  Effect.sync(() => {
    const { config, items } = ctx.state
    const params = new URLSearchParams(ctx.query)
    const issues: Array<FieldIssue> = []
    let limit = config.defaultPageSize
    const limitParam = params.get("limit")
    if (limitParam !== null) {
      const n = /^\d{1,9}$/.test(limitParam) ? Number(limitParam) : Number.NaN
      if (!(n >= 1 && n <= config.maxPageSize)) {
        issues.push({ field: "limit", issue: `must be an integer between 1 and ${config.maxPageSize}` })
      } else {
        limit = n
      }
    }
    let after = 0
    const cursorParam = params.get("cursor")
    if (cursorParam !== null && cursorParam !== "") {
      const n = decodeCursor(cursorParam)
      if (n === undefined) issues.push({ field: "cursor", issue: "is not a cursor returned by this API" })
      else after = n
    }
    if (issues.length > 0) return badRequest(issues)
    const sku = params.get("sku")
    const page: Array<Items.Item> = []
    let more = false
    for (const item of items.values()) {
      if (after > 0 && itemNumber(item.id)! <= after) continue
      if (sku !== null && item.sku !== sku) continue
      if (page.length === limit) {
        more = true
        break
      }
      page.push(item)
    }
    const nextCursor = more ? encodeCursor(page[page.length - 1]!.id) : null
    return HttpServerResponse.unsafeJson({ items: page, nextCursor })
  })

/** @internal */
export const getItem: ResourceHandler = (ctx) =>
  Effect.sync(() => {
    const id = ctx.params[0]!
    const item = ctx.state.items.get(id)
    return item === undefined ? notFoundItem(id) : HttpServerResponse.unsafeJson(item)
  })

const IDEMPOTENCY_KEY = /^[\x21-\x7E][\x20-\x7E]{0,254}$/

/** @internal */
export const createItem: ResourceHandler = (ctx, caller) =>
  Effect.gen(function*() {
    const { request, state } = ctx
    const key = request.headers["idempotency-key"]
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      return badRequest([{ field: "Idempotency-Key", issue: "must be 1 to 255 printable ASCII characters" }])
    }
    const body = yield* readJson(ctx)
    if (Either.isLeft(body)) return body.left
    // From here on nothing yields: the idempotency check, the creation and the record are one atomic step.
    const now = yield* Clock.currentTimeMillis
    return createAtomically(state, caller, key, body.right, now)
  })

const createAtomically = (
  state: State,
  caller: TokenRecord,
  key: string | undefined,
  body: unknown,
  now: number
): Response => {
  const fingerprint = key === undefined ? "" : canonicalJson(body)
  if (key !== undefined) {
    const lookup = state.lookupIdempotency(caller.clientId, key, fingerprint, now)
    if (lookup._tag === "Replay") return fromStored(lookup.response, { "idempotent-replayed": "true" })
    if (lookup._tag === "Mismatch") {
      return errorResponse(
        422,
        "This Idempotency-Key was already used with a different request body; use a new key for a new request",
        [{ field: "Idempotency-Key", issue: "was used with a different body" }]
      )
    }
  }
  const validated = Items.validate(body, undefined)
  let stored: StoredResponse
  if (Either.isLeft(validated)) {
    const issues = validated.left
    stored = {
      status: 400,
      body: {
        code: errorCodes[400],
        message: `The item is invalid: ${issues.map((i) => `${i.field} ${i.issue}`).join("; ")}`,
        details: issues
      },
      headers: {}
    }
  } else {
    const input = validated.right
    const item = state.createItem({ sku: input.sku, name: input.name, price: input.price, tags: input.tags ?? [] })
    stored = { status: 201, body: item, headers: { location: `/v1/items/${encodeURIComponent(item.id)}` } }
  }
  if (key !== undefined) state.storeIdempotency(caller.clientId, key, fingerprint, now, stored)
  return fromStored(stored)
}

/** @internal */
export const updateItem: ResourceHandler = (ctx) =>
  Effect.gen(function*() {
    const { state } = ctx
    const id = ctx.params[0]!
    if (!state.items.has(id)) return notFoundItem(id)
    const body = yield* readJson(ctx)
    if (Either.isLeft(body)) return body.left
    const validated = Items.validate(body.right, id)
    if (Either.isLeft(validated)) {
      return badRequest(
        validated.left,
        `The item is invalid: ${validated.left.map((i) => `${i.field} ${i.issue}`).join("; ")}`
      )
    }
    if (!state.items.has(id)) return notFoundItem(id)
    const input = validated.right
    const item: Items.Item = { id, sku: input.sku, name: input.name, price: input.price, tags: input.tags ?? [] }
    state.items.set(id, item)
    state.itemsUpdated++
    return HttpServerResponse.unsafeJson(item)
  })

/** @internal */
export const deleteItem: ResourceHandler = (ctx) =>
  Effect.sync(() => {
    const id = ctx.params[0]!
    if (!ctx.state.items.delete(id)) return notFoundItem(id)
    ctx.state.itemsDeleted++
    return HttpServerResponse.empty({ status: 204 })
  })
