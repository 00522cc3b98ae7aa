/**
 * Reads items from the partner API with nothing but `@effect/platform`'s HttpClient, `@bulwark/core-errors`
 * (typed errors, Retry-After) and `@bulwark/retry-schedules` (backoff, budget). No token layer, no
 * resilient client: the team fetches its token itself and composes the two packages it needs.
 */
import { ApiError, Classify } from "@bulwark/core-errors"
import { Deadline, RetryBudget, RetrySchedule } from "@bulwark/retry-schedules"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Redacted, Schema } from "effect"

const Token = Schema.Struct({ access_token: Schema.String, expires_in: Schema.Number })
const Item = Schema.Struct({ id: Schema.String, sku: Schema.String, name: Schema.String, price: Schema.Number })
const Page = Schema.Struct({ items: Schema.Array(Item), nextCursor: Schema.NullOr(Schema.String) })

export interface Settings {
  readonly baseUrl: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly reads: number
  readonly concurrency: number
}

export interface Summary {
  readonly reads: number
  readonly succeeded: number
  readonly failed: Record<string, number>
  readonly attempts: number
  readonly budget: RetryBudget.Snapshot
}

export const program = (settings: Settings) =>
  Effect.gen(function*() {
    // Every response >= 400 and every transport failure becomes a typed ApiError.
    const http = (yield* HttpClient.HttpClient).pipe(Classify.client())
    let attempts = 0
    const counted = HttpClient.tapRequest(http, () => Effect.sync(() => void attempts++))

    // The token, fetched once (this team keeps it simple: reads finish well within its lifetime).
    const token = yield* counted.execute(
      HttpClientRequest.post(settings.tokenUrl).pipe(
        HttpClientRequest.basicAuth(settings.clientId, settings.clientSecret),
        HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials", scope: "items:read" })
      )
    ).pipe(Effect.flatMap(Classify.schemaBodyJson(Token)), Effect.retry(RetrySchedule.standard()))
    const authorized = HttpClient.mapRequest(counted, HttpClientRequest.bearerToken(Redacted.make(token.access_token)))

    const budget = yield* RetryBudget.RetryBudget
    const read = (i: number) =>
      authorized.get(`${settings.baseUrl}/v1/items`, { urlParams: { limit: 1 + (i % 5) } }).pipe(
        Effect.flatMap(Classify.schemaBodyJson(Page)),
        // Retry what the API calls transient, honour Retry-After, never retry 4xx, within a shared budget,
        // and never start a wait that would end after the call's 10 s deadline.
        RetryBudget.retry(RetrySchedule.standard()),
        Deadline.within("10 seconds")
      )

    const results = yield* Effect.forEach(Array.from({ length: settings.reads }, (_, i) => i), (i) =>
      Effect.either(read(i)), {
      concurrency: settings.concurrency
    })
    const failed: Record<string, number> = {}
    for (const result of results) {
      if (result._tag === "Left") {
        const tag = ApiError.isApiError(result.left) ? result.left._tag : "other"
        failed[tag] = (failed[tag] ?? 0) + 1
      }
    }
    return {
      reads: settings.reads,
      succeeded: results.filter((r) =>
        r._tag === "Right"
      ).length,
      failed,
      attempts,
      budget: yield* budget.snapshot
    } satisfies Summary
  })
