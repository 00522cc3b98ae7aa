/**
 * What the sandbox counted since it started (or was last reset), as `GET /__sandbox/stats` and
 * `Sandbox.stats` return it. Tests use it to prove "nothing lost, nothing duplicated".
 *
 * | field | meaning |
 * |---|---|
 * | `requestsTotal` | requests to the token and resource routes (and unmatched ones); `/__sandbox/*` is not counted |
 * | `requests` | by route (`"POST /v1/items"`, `"(unmatched)"`) and outcome: the status sent (`"201"`), or `"hung"`, `"stalled"`, `"reset"` |
 * | `tokensIssued` / `tokenRequestsRejected` | token responses 200 / 4xx (429 included) |
 * | `tokensRevoked` / `activeTokens` | tokens revoked by control calls / tokens neither expired nor revoked now |
 * | `rateLimited` | 429s sent (quota, bare ones included, and token request limit); by route in `requests` (outcome `"429"`) |
 * | `faultsInjected` | by kind: `latency`, `serverError`, `unavailable`, `hang`, `stall`, `resetBefore`, `resetAfter`, `scalingUp`, `outage`, `tokenEndpoint` |
 * | `itemsStored` | items stored now |
 * | `itemsCreated` / `itemsUpdated` / `itemsDeleted` | successful POST / PUT / DELETE |
 * | `duplicateSkus` | stored items whose `sku` another stored item has too (a client that created twice) |
 * | `duplicateCreationsPrevented` | POSTs answered by replaying a stored 201 for their `Idempotency-Key` |
 * | `idempotencyConflicts` | 422s: a key reused with a different body |
 * | `earlyRetries` | by client id: requests received before a `Retry-After` sent to that client on a 429 had elapsed (a bare 429, `quotaResponse: "bare"`, gives no `Retry-After`, so it makes no later request early) |
 *
 * @since 0.1.0
 */
import * as internal from "./internal/stats.js"

/**
 * The schema of a stats snapshot, to decode `GET /__sandbox/stats`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema: typeof internal.StatsSchema = internal.StatsSchema

/**
 * A stats snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export type Stats = internal.Stats

/**
 * Faults injected, by kind.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultCounts = internal.FaultCounts
