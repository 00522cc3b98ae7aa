/**
 * The faults the sandbox injects into its resource routes (`/v1/*`), each drawn per request from a source
 * seeded by the config's `seed`: the same seed and the same sequence of requests give the same faults.
 *
 * | fault | setting | what the client sees |
 * |---|---|---|
 * | server error | `serverError: { probability, statuses, htmlRatio }` | 500/502/503/504 with the JSON error body, or (`htmlRatio` of them) a gateway's HTML page |
 * | unavailable | `unavailable: { probability, retryAfterSeconds }` | 503 with `Retry-After` |
 * | latency | `latency: { probability, minMs, maxMs }` | the response is delayed by a uniform `minMs..maxMs` (`Effect.sleep`) |
 * | hang | `hang` | nothing: no status, no headers, until the client gives up |
 * | stall | `stall` | status, headers and half the body, then nothing (the request was processed; a 204 hangs instead) |
 * | reset before | `resetBefore` | the connection is reset before the request is processed |
 * | reset after | `resetAfter` | the request is processed (a POST creates its item), then the connection is reset |
 * | window | `windows: [{ kind, startAfterSeconds, durationSeconds, repeatEverySeconds?, probability, retryAfterSeconds }]` | during the window, 503 with `Retry-After` at `probability` (`"scaling-up"`: raised 503s; `"outage"`: typically all) |
 * | token endpoint | `tokenEndpoint: { unavailable, retryAfterSeconds }` | `POST /oauth/token` answers 503 `temporarily_unavailable` with `Retry-After` |
 *
 * At most one of `serverError`, `unavailable`, `hang`, `stall`, `resetBefore` and `resetAfter` happens per
 * request, so their probabilities must add up to at most 1; latency combines with any of them; an active
 * window takes precedence. Windows are timed by Effect's `Clock` from the moment the faults were set.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as internal from "./internal/config.js"
import type * as errors from "./internal/errors.js"
import * as faults from "./internal/faults.js"
import * as server from "./internal/server.js"

/**
 * The schema of the faults; its encoded side ({@link Input}) has every field optional.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema: typeof internal.FaultsSchema = internal.FaultsSchema

/**
 * Decoded faults.
 *
 * @since 0.1.0
 * @category models
 */
export type Faults = internal.Faults

/**
 * Faults as a caller writes them: every field optional, probabilities in `[0, 1]`.
 *
 * @example
 * ```ts
 * import type { Faults } from "@bulwark/sandbox"
 *
 * const flaky: Faults.Input = {
 *   serverError: { probability: 0.02, statuses: [502, 503], htmlRatio: 1 },
 *   resetAfter: 0.01,
 *   windows: [{ kind: "outage", startAfterSeconds: 5, durationSeconds: 20 }]
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Input = internal.FaultsInput

/**
 * A time window of raised 503s.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultWindow = Faults["windows"][number]

/**
 * The kinds of fault counted in `Stats.faultsInjected`.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultKind = faults.FaultKind

/**
 * Every {@link FaultKind}.
 *
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<FaultKind> = faults.faultKinds

/**
 * No faults at all.
 *
 * @since 0.1.0
 * @category constants
 */
export const none: Faults = Schema.decodeSync(internal.FaultsSchema)({})

/**
 * Validates faults, failing with a `SandboxConfigError` that names each wrong setting.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: Input): Effect.Effect<Faults, errors.SandboxConfigError> => server.decodeFaults(input)
