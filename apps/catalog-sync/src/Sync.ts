/**
 * The job: create every catalog item (POST with an idempotency key derived from the item, bounded
 * concurrency), list the API's items back page by page, and verify each catalog item is present exactly
 * once with the right content. The read-back settles the creates that ended in an error: one whose item is
 * confirmed is a warning, not a failure (see `settleCreateErrors`). Counters for the report are read from
 * Bulwark's metrics around the job.
 */
import { TokenProvider } from "@bulwark/auth-token"
import { ApiClient, Plugins, RateLimitGate } from "@bulwark/http-client"
import { Clock, Effect, type Either, Fiber, Metric, Option, Ref, Schema } from "effect"
import { createHash } from "node:crypto"
import type { CatalogItem } from "./Catalog.js"

/** An item as the API returns it. */
export const ApiItem = Schema.Struct({
  id: Schema.String,
  sku: Schema.String,
  name: Schema.String,
  price: Schema.Number,
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
export type ApiItem = typeof ApiItem.Type

const ItemPage = Schema.Struct({ items: Schema.Array(ApiItem), nextCursor: Schema.NullOr(Schema.String) })

/**
 * The idempotency key of an item: a hash of its content. A re-run, or a retry after a connection reset,
 * sends the same key for the same item, so the API replays the first creation instead of duplicating it.
 */
export const idempotencyKeyOf = (item: CatalogItem): string =>
  `catalog-sync-${
    createHash("sha256").update(JSON.stringify([item.sku, item.name, item.price, [...item.tags]])).digest("hex").slice(
      0,
      40
    )
  }`

export interface Counters {
  readonly attempts: Record<Plugins.RetryReason, number>
  readonly retryWaitMillis: Record<Plugins.RetryReason, number>
  readonly gateWaitMillis: number
  readonly tokensFetched: number
}

/** Reads Bulwark's process-wide counters; the report is the difference of two readings. */
export const readCounters: Effect.Effect<Counters> = Effect.gen(function*() {
  return {
    attempts: yield* Plugins.attemptCounts,
    retryWaitMillis: yield* Plugins.retryWaitMillis,
    gateWaitMillis: (yield* Metric.value(Plugins.metrics.gateWaitMillis)).count,
    tokensFetched: (yield* Metric.value(TokenProvider.metrics.tokensFetched)).count
  }
})

const diff = (after: Counters, before: Counters): Counters => {
  const sub = <K extends string>(a: Record<K, number>, b: Record<K, number>) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, a[k as K] - b[k as K]])) as Record<K, number>
  return {
    attempts: sub(after.attempts, before.attempts),
    retryWaitMillis: sub(after.retryWaitMillis, before.retryWaitMillis),
    gateWaitMillis: after.gateWaitMillis - before.gateWaitMillis,
    tokensFetched: after.tokensFetched - before.tokensFetched
  }
}

/** A point of the timeline: cumulative counts at `atMillis` after the start. */
export interface Sample {
  readonly atMillis: number
  readonly itemsDone: number
  readonly attempts: number
  readonly retries: number
  readonly rateLimitWaitMillis: number
}

export interface Progress {
  readonly total: number
  readonly done: number
  /** Creates that ended in an error so far; the read-back decides which of them are failures. */
  readonly failed: number
  readonly elapsedMillis: number
  readonly retries: number
  /** Milliseconds until the API's 429 cool-down ends, 0 when it is open. */
  readonly rateLimitWaitMillis: number
}

export interface Verification {
  readonly confirmed: number
  readonly missing: ReadonlyArray<string>
  readonly duplicated: ReadonlyArray<{ readonly sku: string; readonly count: number }>
  readonly mismatched: ReadonlyArray<{ readonly sku: string; readonly problem: string }>
  readonly listed: number
}

export interface CreateError {
  readonly sku: string
  readonly error: string
}

export interface Outcome {
  readonly items: number
  /** Creates that ended in an error (after the client's retries) and whose item the read-back did not confirm. */
  readonly createFailures: ReadonlyArray<CreateError>
  /**
   * Creates that ended in an error although the read-back confirmed their item exactly once with the right
   * content: the API applied the create but its answer was lost (a reset or a timeout after processing).
   */
  readonly createWarnings: ReadonlyArray<CreateError>
  readonly verification: Verification | undefined
  readonly verificationError: string | undefined
  readonly logicalCalls: number
  readonly counters: Counters
  readonly createLatenciesMillis: ReadonlyArray<number>
  readonly timeline: ReadonlyArray<Sample>
  readonly wallMillis: number
}

const sameContent = (expected: CatalogItem, actual: ApiItem): string | undefined => {
  if (actual.name !== expected.name) return `name is "${actual.name}", expected "${expected.name}"`
  if (actual.price !== expected.price) return `price is ${actual.price}, expected ${expected.price}`
  const a = [...actual.tags].sort().join(";")
  const e = [...expected.tags].sort().join(";")
  return a === e ? undefined : `tags are [${a}], expected [${e}]`
}

/** Compares the catalog with what the API lists. */
export const verify = (catalog: ReadonlyArray<CatalogItem>, listed: ReadonlyArray<ApiItem>): Verification => {
  const bySku = new Map<string, Array<ApiItem>>()
  for (const item of listed) bySku.set(item.sku, [...(bySku.get(item.sku) ?? []), item])
  const missing: Array<string> = []
  const duplicated: Array<{ sku: string; count: number }> = []
  const mismatched: Array<{ sku: string; problem: string }> = []
  let confirmed = 0
  for (const expected of catalog) {
    const found = bySku.get(expected.sku) ?? []
    if (found.length === 0) missing.push(expected.sku)
    else if (found.length > 1) duplicated.push({ sku: expected.sku, count: found.length })
    else {
      const problem = sameContent(expected, found[0]!)
      if (problem === undefined) confirmed++
      else mismatched.push({ sku: expected.sku, problem })
    }
  }
  return { confirmed, missing, duplicated, mismatched, listed: listed.length }
}

/**
 * Settles the creates that ended in an error by what the read-back found. The client cannot tell whether
 * the API applied a create whose answer never arrived (a connection reset or a timeout after processing);
 * the read-back can. An item confirmed exactly once with the right content is a success, and its create's
 * error only a warning; any other item's create error stays a failure. Without a verification (the listing
 * failed) nothing is confirmed, so every error stays a failure.
 */
export const settleCreateErrors = (
  errors: ReadonlyArray<CreateError>,
  verification: Verification | undefined
): { readonly failures: ReadonlyArray<CreateError>; readonly warnings: ReadonlyArray<CreateError> } => {
  if (verification === undefined) return { failures: errors, warnings: [] }
  // `verify` puts every catalog item that is not confirmed in exactly one of these lists.
  const unconfirmed = new Set([
    ...verification.missing,
    ...verification.duplicated.map((d) => d.sku),
    ...verification.mismatched.map((m) => m.sku)
  ])
  const failures: Array<CreateError> = []
  const warnings: Array<CreateError> = []
  for (const error of errors) (unconfirmed.has(error.sku) ? failures : warnings).push(error)
  return { failures, warnings }
}

export interface RunOptions {
  readonly concurrency: number
  readonly pageSize: number
  /** Called on every tick of the progress loop (every `tickMillis`). */
  readonly onProgress: (progress: Progress) => Effect.Effect<void>
  readonly tickMillis: number
  readonly origin: string
  /** Counters read before the client was built (so the first token fetch counts). Default: at the start of the run. */
  readonly baseline?: Counters | undefined
}

/**
 * Runs the job with the `ApiClient` and `RateLimitGate` in the context. Never fails: every problem is in
 * the outcome, so the report can show it.
 */
export const run = (
  catalog: ReadonlyArray<CatalogItem>,
  options: RunOptions
): Effect.Effect<Outcome, never, ApiClient.ApiClient | RateLimitGate.RateLimitGate> =>
  Effect.gen(function*() {
    const api = yield* ApiClient.ApiClient
    const gate = yield* RateLimitGate.RateLimitGate
    const before = options.baseline ?? (yield* readCounters)
    const start = yield* Clock.currentTimeMillis
    const done = yield* Ref.make(0)
    const failures = yield* Ref.make<Array<CreateError>>([])
    const latencies: Array<number> = []
    const timeline: Array<Sample> = []
    let logicalCalls = 0

    const snapshot = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const counters = diff(yield* readCounters, before)
      const attempts = Object.values(counters.attempts).reduce((a, b) => a + b, 0)
      const closedUntil = yield* gate.closedUntil(options.origin)
      const sample: Sample = {
        atMillis: now - start,
        itemsDone: yield* Ref.get(done),
        attempts,
        retries: attempts - counters.attempts.initial,
        rateLimitWaitMillis: counters.gateWaitMillis + counters.retryWaitMillis["429"]
      }
      timeline.push(sample)
      yield* options.onProgress({
        total: catalog.length,
        done: sample.itemsDone,
        failed: (yield* Ref.get(failures)).length,
        elapsedMillis: sample.atMillis,
        retries: sample.retries,
        rateLimitWaitMillis: Option.match(closedUntil, { onNone: () => 0, onSome: (until) => Math.max(0, until - now) })
      })
    })
    const ticker = yield* snapshot.pipe(
      Effect.zipRight(Effect.sleep(`${options.tickMillis} millis`)),
      Effect.forever,
      Effect.fork
    )

    yield* Effect.forEach(
      catalog,
      (item) =>
        Effect.gen(function*() {
          const t0 = yield* Clock.currentTimeMillis
          logicalCalls++
          const result = yield* Effect.either(
            api.post("/items", item, ApiItem, { idempotencyKey: idempotencyKeyOf(item) })
          )
          latencies.push((yield* Clock.currentTimeMillis) - t0)
          if (result._tag === "Left") {
            yield* Ref.update(failures, (all) => [...all, { sku: item.sku, error: result.left.message }])
          }
          yield* Ref.update(done, (n) => n + 1)
        }),
      { concurrency: options.concurrency, discard: true }
    )

    // Read everything back, page by page.
    const listed: Array<ApiItem> = []
    let verificationError: string | undefined
    let cursor: string | null = null
    do {
      logicalCalls++
      const page: Either.Either<typeof ItemPage.Type, ApiClient.CallError> = yield* Effect.either(
        api.get("/items", ItemPage, {
          urlParams: cursor === null ? { limit: options.pageSize } : { limit: options.pageSize, cursor }
        })
      )
      if (page._tag === "Left") {
        verificationError = page.left.message
        break
      }
      listed.push(...page.right.items)
      cursor = page.right.nextCursor
    } while (cursor !== null)

    yield* snapshot
    yield* Fiber.interrupt(ticker)
    const end = yield* Clock.currentTimeMillis
    const verification = verificationError === undefined ? verify(catalog, listed) : undefined
    const settled = settleCreateErrors(yield* Ref.get(failures), verification)
    return {
      items: catalog.length,
      createFailures: settled.failures,
      createWarnings: settled.warnings,
      verification,
      verificationError,
      logicalCalls,
      counters: diff(yield* readCounters, before),
      createLatenciesMillis: latencies,
      timeline,
      wallMillis: end - start
    }
  })
