import * as Schema from "effect/Schema"

const Count = Schema.Number

/** @internal */
export const FaultCountsSchema = Schema.Struct({
  latency: Count,
  serverError: Count,
  unavailable: Count,
  hang: Count,
  stall: Count,
  resetBefore: Count,
  resetAfter: Count,
  scalingUp: Count,
  outage: Count,
  tokenEndpoint: Count
}).annotations({ identifier: "FaultCounts" })

/** @internal */
export const StatsSchema = Schema.Struct({
  requestsTotal: Count,
  requests: Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Count }) }),
  tokensIssued: Count,
  tokenRequestsRejected: Count,
  tokensRevoked: Count,
  activeTokens: Count,
  rateLimited: Count,
  faultsInjected: FaultCountsSchema,
  itemsStored: Count,
  itemsCreated: Count,
  itemsUpdated: Count,
  itemsDeleted: Count,
  duplicateSkus: Count,
  duplicateCreationsPrevented: Count,
  idempotencyConflicts: Count,
  earlyRetries: Schema.Record({ key: Schema.String, value: Count })
}).annotations({ identifier: "Stats" })

/** @internal */
export type Stats = Schema.Schema.Type<typeof StatsSchema>

/** @internal */
export type FaultCounts = Schema.Schema.Type<typeof FaultCountsSchema>
