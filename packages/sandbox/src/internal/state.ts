import * as Redacted from "effect/Redacted"
import type { Client, Policy, Quota, RateLimit, SandboxConfig } from "./config.js"
import type { Decision, FaultKind } from "./faults.js"
import * as Faults from "./faults.js"
import type { Item } from "./items.js"
import * as Prng from "./prng.js"
import type { FaultCounts, Stats } from "./stats.js"

/** @internal */
export interface TokenRecord {
  readonly clientId: string
  readonly scopes: ReadonlySet<string>
  readonly expiresAt: number
  revoked: boolean
}

/** @internal */
export interface StoredResponse {
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

interface IdempotencyRecord {
  readonly fingerprint: string
  readonly createdAt: number
  readonly response: StoredResponse
}

interface Window {
  start: number
  count: number
}

/**
 * A token bucket. `level` counts tokens in units of `1 / windowMs` of a token, so that a refill of
 * `limit / windowMs` tokens per millisecond adds exactly `limit` units per millisecond: with whole milliseconds
 * and a whole number of milliseconds per window, the arithmetic is exact (no drift over a long simulation).
 */
interface Bucket {
  level: number
  at: number
  /** The `windowMs` that `level` is counted in. */
  windowMs: number
}

/** @internal */
export interface QuotaCheck {
  readonly allowed: boolean
  /** What `*-Limit` headers advertise: the window's limit, or a token bucket's capacity. */
  readonly limit: number
  readonly remaining: number
  /** Milliseconds until the current window ends, or until the token bucket is full again. */
  readonly resetMs: number
  /** Milliseconds until a request would be allowed: the window's end, or the next whole token. */
  readonly retryMs: number
}

/** @internal */
export type IdempotencyLookup =
  | { readonly _tag: "New" }
  | { readonly _tag: "Replay"; readonly response: StoredResponse }
  | { readonly _tag: "Mismatch" }

const zeroFaults = (): { -readonly [K in keyof FaultCounts]: number } => ({
  latency: 0,
  serverError: 0,
  unavailable: 0,
  hang: 0,
  stall: 0,
  resetBefore: 0,
  resetAfter: 0,
  scalingUp: 0,
  outage: 0,
  tokenEndpoint: 0
})

const ITEM_ID = /^itm_(\d{8,})$/

/** @internal */
export const itemId = (n: number): string => `itm_${String(n).padStart(8, "0")}`

/** @internal */
export const itemNumber = (id: string): number | undefined => {
  const match = ITEM_ID.exec(id)
  return match === null ? undefined : Number(match[1])
}

/**
 * Everything the sandbox remembers. It is only read and written by synchronous code between two yields of a
 * request's fiber, on the single JavaScript thread, so each such step is atomic: a check-and-set (idempotency,
 * quotas) cannot interleave with another request.
 *
 * @internal
 */
export class State {
  readonly clients: ReadonlyMap<string, Client>
  policy: Policy
  faultsEpoch: number

  items = new Map<string, Item>()
  itemSeq = 0
  tokens = new Map<string, TokenRecord>()
  tokenSeq = 0
  idempotency = new Map<string, IdempotencyRecord>()
  quotas = new Map<string, Window>()
  buckets = new Map<string, Bucket>()
  tokenQuotas = new Map<string, Window>()
  notBefore = new Map<string, number>()
  requestSeq = 0
  faultSeq = 0
  tokenFaultSeq = 0

  requestsTotal = 0
  byRoute = new Map<string, Map<string, number>>()
  tokensIssued = 0
  tokenRequestsRejected = 0
  tokensRevoked = 0
  rateLimited = 0
  faults = zeroFaults()
  itemsCreated = 0
  itemsUpdated = 0
  itemsDeleted = 0
  duplicateCreationsPrevented = 0
  idempotencyConflicts = 0
  earlyRetries = new Map<string, number>()

  constructor(readonly config: SandboxConfig, now: number) {
    this.clients = new Map(config.clients.map((client) => [client.clientId, client]))
    this.policy = {
      tokens: config.tokens,
      quota: config.quota,
      retryAfterFormat: config.retryAfterFormat,
      rateLimitHeaders: config.rateLimitHeaders,
      quotaResponse: config.quotaResponse,
      faults: config.faults
    }
    this.faultsEpoch = now
  }

  reset(now: number): void {
    this.items.clear()
    this.itemSeq = 0
    this.tokens.clear()
    this.tokenSeq = 0
    this.idempotency.clear()
    this.quotas.clear()
    this.buckets.clear()
    this.tokenQuotas.clear()
    this.notBefore.clear()
    this.requestSeq = 0
    this.faultSeq = 0
    this.tokenFaultSeq = 0
    this.requestsTotal = 0
    this.byRoute.clear()
    this.tokensIssued = 0
    this.tokenRequestsRejected = 0
    this.tokensRevoked = 0
    this.rateLimited = 0
    this.faults = zeroFaults()
    this.itemsCreated = 0
    this.itemsUpdated = 0
    this.itemsDeleted = 0
    this.duplicateCreationsPrevented = 0
    this.idempotencyConflicts = 0
    this.earlyRetries.clear()
    this.faultsEpoch = now
  }

  setPolicy(policy: Policy, now: number): void {
    this.policy = policy
    this.faultsEpoch = now
  }

  nextRequestId(): string {
    this.requestSeq++
    return `req_${this.requestSeq.toString(16).padStart(8, "0")}`
  }

  // ------------------------------------------------------------------------------------------- stats

  record(route: string, outcome: string): void {
    this.requestsTotal++
    let outcomes = this.byRoute.get(route)
    if (outcomes === undefined) {
      outcomes = new Map()
      this.byRoute.set(route, outcomes)
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  }

  countFault(kind: FaultKind): void {
    this.faults[kind]++
  }

  snapshot(now: number): Stats {
    const requests: Record<string, Record<string, number>> = {}
    for (const [route, outcomes] of this.byRoute) requests[route] = Object.fromEntries(outcomes)
    const skus = new Set<string>()
    for (const item of this.items.values()) skus.add(item.sku)
    let activeTokens = 0
    for (const token of this.tokens.values()) if (!token.revoked && token.expiresAt > now) activeTokens++
    return {
      requestsTotal: this.requestsTotal,
      requests,
      tokensIssued: this.tokensIssued,
      tokenRequestsRejected: this.tokenRequestsRejected,
      tokensRevoked: this.tokensRevoked,
      activeTokens,
      rateLimited: this.rateLimited,
      faultsInjected: { ...this.faults },
      itemsStored: this.items.size,
      itemsCreated: this.itemsCreated,
      itemsUpdated: this.itemsUpdated,
      itemsDeleted: this.itemsDeleted,
      duplicateSkus: this.items.size - skus.size,
      duplicateCreationsPrevented: this.duplicateCreationsPrevented,
      idempotencyConflicts: this.idempotencyConflicts,
      earlyRetries: Object.fromEntries(this.earlyRetries)
    }
  }

  // ------------------------------------------------------------------------------------------- faults

  decide(now: number): Decision {
    const decision = Faults.decide(this.policy.faults, this.config.seed, this.faultSeq++, now - this.faultsEpoch)
    if (decision.latencyMs > 0) this.faults.latency++
    switch (decision.fault._tag) {
      case "None":
        break
      case "ServerError":
        this.faults.serverError++
        break
      case "Unavailable":
        this.faults[decision.fault.kind]++
        break
      case "Hang":
        this.faults.hang++
        break
      case "Stall":
        this.faults.stall++
        break
      case "ResetBefore":
        this.faults.resetBefore++
        break
      case "ResetAfter":
        this.faults.resetAfter++
        break
    }
    return decision
  }

  decideToken(): boolean {
    const unavailable = Faults.decideToken(this.policy.faults, this.config.seed, this.tokenFaultSeq++)
    if (unavailable) this.faults.tokenEndpoint++
    return unavailable
  }

  // ------------------------------------------------------------------------------------------- retry-after

  /** Counts a request from `clientId` received before a Retry-After sent to it on a 429 had elapsed. */
  noteArrival(clientId: string, now: number): void {
    const notBefore = this.notBefore.get(clientId)
    if (notBefore === undefined) return
    if (now < notBefore) this.earlyRetries.set(clientId, (this.earlyRetries.get(clientId) ?? 0) + 1)
    else this.notBefore.delete(clientId)
  }

  /** Remembers that `clientId` was told on a 429 not to come back before `at`. */
  noteRetryAfter(clientId: string, at: number): void {
    const previous = this.notBefore.get(clientId)
    if (previous === undefined || previous < at) this.notBefore.set(clientId, at)
  }

  // ------------------------------------------------------------------------------------------- clients and tokens

  authenticate(clientId: string, clientSecret: string): Client | undefined {
    const client = this.clients.get(clientId)
    if (client === undefined) return undefined
    return constantTimeEqual(Redacted.value(client.clientSecret), clientSecret) ? client : undefined
  }

  issueToken(clientId: string, scopes: ReadonlySet<string>, now: number): { token: string; expiresIn: number } {
    const expiresIn = this.policy.tokens.lifetimeSeconds
    const token = `sbx_${Prng.hex(Prng.derive(this.config.seed, Prng.streams.tokens, this.tokenSeq++), 24)}`
    if (this.tokens.size >= 10_000) this.pruneTokens(now)
    this.tokens.set(token, { clientId, scopes, expiresAt: now + expiresIn * 1000, revoked: false })
    this.tokensIssued++
    return { token, expiresIn }
  }

  private pruneTokens(now: number): void {
    for (const [token, record] of this.tokens) {
      if (record.revoked || record.expiresAt <= now) this.tokens.delete(token)
    }
  }

  /** Revokes the tokens (of one client) that are still valid, returning how many. */
  revokeTokens(clientId: string | undefined, now: number): number {
    let revoked = 0
    for (const record of this.tokens.values()) {
      if (!record.revoked && record.expiresAt > now && (clientId === undefined || record.clientId === clientId)) {
        record.revoked = true
        revoked++
      }
    }
    this.tokensRevoked += revoked
    return revoked
  }

  // ------------------------------------------------------------------------------------------- quotas

  /** The quota of a client's resource requests: its own (`null`: none), or the policy's. */
  quotaOf(client: Client | undefined): Quota | null {
    return client !== undefined && client.quota !== undefined ? client.quota : this.policy.quota
  }

  /** Counts a resource request of `clientId` against `quota`, by the quota's algorithm. */
  checkResourceQuota(quota: Quota, clientId: string, now: number): QuotaCheck {
    return quota.algorithm === "token-bucket"
      ? takeToken(this.buckets, quota, clientId, now)
      : countInWindow(this.quotas, quota, quota.alignMillis ?? 0, clientId, now)
  }

  /** Counts a token request of `clientId` against the token request limit (fixed windows on the epoch). */
  checkQuota(windows: Map<string, Window>, limit: RateLimit, clientId: string, now: number): QuotaCheck {
    return countInWindow(windows, limit, 0, clientId, now)
  }

  // ------------------------------------------------------------------------------------------- idempotency

  lookupIdempotency(clientId: string, key: string, fingerprint: string, now: number): IdempotencyLookup {
    const id = `${clientId}\u0000${key}`
    const record = this.idempotency.get(id)
    if (record === undefined) return { _tag: "New" }
    if (now - record.createdAt >= this.config.idempotencyKeyTtlSeconds * 1000) {
      this.idempotency.delete(id)
      return { _tag: "New" }
    }
    if (record.fingerprint !== fingerprint) {
      this.idempotencyConflicts++
      return { _tag: "Mismatch" }
    }
    if (record.response.status === 201) this.duplicateCreationsPrevented++
    return { _tag: "Replay", response: record.response }
  }

  storeIdempotency(clientId: string, key: string, fingerprint: string, now: number, response: StoredResponse): void {
    this.idempotency.set(`${clientId}\u0000${key}`, { fingerprint, createdAt: now, response })
  }

  // ------------------------------------------------------------------------------------------- items

  createItem(fields: Omit<Item, "id">): Item {
    const item: Item = { id: itemId(++this.itemSeq), ...fields }
    this.items.set(item.id, item)
    this.itemsCreated++
    return item
  }
}

/**
 * Fixed windows of `windowSeconds`, their boundaries at `alignMillis` past each multiple of the window since the
 * epoch (of the `Clock`): with 10 s windows and `alignMillis: 3370`, windows start at …:03.370, …:13.370 and so on.
 */
const countInWindow = (
  windows: Map<string, Window>,
  limit: RateLimit,
  alignMillis: number,
  key: string,
  now: number
): QuotaCheck => {
  const windowMs = limit.windowSeconds * 1000
  const start = Math.floor((now - alignMillis) / windowMs) * windowMs + alignMillis
  let window = windows.get(key)
  if (window === undefined) {
    window = { start, count: 0 }
    windows.set(key, window)
  } else if (window.start !== start) {
    window.start = start
    window.count = 0
  }
  const resetMs = start + windowMs - now
  if (window.count >= limit.limit) {
    return { allowed: false, limit: limit.limit, remaining: 0, resetMs, retryMs: resetMs }
  }
  window.count++
  return { allowed: true, limit: limit.limit, remaining: limit.limit - window.count, resetMs, retryMs: resetMs }
}

/**
 * A token bucket of capacity `burst` (default `limit`), refilled continuously with `limit` tokens per
 * `windowSeconds`, full when first used; a request takes one token or is refused.
 */
const takeToken = (buckets: Map<string, Bucket>, quota: Quota, key: string, now: number): QuotaCheck => {
  const windowMs = quota.windowSeconds * 1000
  const burst = quota.burst ?? quota.limit
  const capacity = burst * windowMs
  let bucket = buckets.get(key)
  if (bucket === undefined) {
    bucket = { level: capacity, at: now, windowMs }
    buckets.set(key, bucket)
  } else {
    // A quota switched at run time (a preset) keeps the tokens left, counted in its own unit, and cut down to
    // its capacity by the `min` below.
    if (bucket.windowMs !== windowMs) {
      bucket.level = bucket.level / bucket.windowMs * windowMs
      bucket.windowMs = windowMs
    }
    const elapsed = now - bucket.at
    bucket.level = Math.min(capacity, elapsed > 0 ? bucket.level + elapsed * quota.limit : bucket.level)
    if (elapsed > 0) bucket.at = now
  }
  const allowed = bucket.level >= windowMs
  if (allowed) bucket.level -= windowMs
  return {
    allowed,
    limit: burst,
    remaining: Math.floor(bucket.level / windowMs),
    resetMs: (capacity - bucket.level) / quota.limit,
    retryMs: allowed ? 0 : (windowMs - bucket.level) / quota.limit
  }
}

const constantTimeEqual = (a: string, b: string): boolean => {
  const length = Math.max(a.length, b.length)
  let diff = a.length ^ b.length
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0)
  return diff === 0
}
