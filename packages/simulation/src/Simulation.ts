/**
 * Runs a Bulwark client policy against the sandbox in virtual time: hours of faulty traffic in seconds, the
 * same report for the same seed, byte for byte.
 *
 * The sandbox is served in memory (`Sandbox.makeInMemory`), so the sandbox's time (token lifetimes, quotas,
 * Retry-After, latency, fault windows) and the client's time (backoff, timeouts, deadlines, breaker windows)
 * are one virtual clock that jumps from event to event ({@link VirtualTime}). A seeded arrival process
 * sends logical calls (`GET /v1/items?limit=10`, or `POST /v1/items` for `writeRatio` of them) through the
 * policy under test, and the report counts what happened on both sides of the wire.
 *
 * @since 0.1.0
 */
import type { CircuitBreaker } from "@bulwark/circuit-breaker"
import type { ApiClient } from "@bulwark/http-client"
import type { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as format from "./internal/format.js"
import type * as report from "./internal/report.js"
import * as internal from "./internal/simulation.js"

/**
 * What a custom pipeline is built from: the in-memory `transport` (every exchange it carries is counted),
 * the `sandbox` (its `url`, `tokenUrl` and `clients`) and the run's circuit breaker, when `circuitBreaker`
 * is set (so its transitions are reported).
 *
 * @since 0.1.0
 * @category models
 */
export interface PipelineContext {
  readonly transport: HttpClient.HttpClient
  readonly sandbox: Sandbox.Service
  readonly breaker: Option.Option<CircuitBreaker.Service>
}

/**
 * A client policy of your own: builds, in the run's scope, the `HttpClient` the calls go through. A call
 * succeeds when it returns a 2xx response whose body can be read; its failure is counted by `_tag`.
 *
 * @since 0.1.0
 * @category models
 */
export type Pipeline = (
  context: PipelineContext
) => Effect.Effect<HttpClient.HttpClient.With<unknown>, unknown, Scope.Scope>

/**
 * The traffic: `rate` logical calls per second for `duration` (`"30 minutes"`, `"30m"`, `"1h30m"`, a
 * number of milliseconds or a `Duration`),
 * arriving `"poisson"` (exponential gaps, the default), `"uniform"` (evenly spaced) or `"burst"` (`rate`
 * calls at the same instant at the start of every second); at most `concurrency` in flight (later arrivals
 * wait for a slot, and that wait counts in their latency); `writeRatio` of them `POST`s (default 0).
 *
 * @since 0.1.0
 * @category models
 */
export interface Traffic {
  readonly rate: number
  readonly duration: Duration.DurationInput | `${number}${"ms" | "s" | "m" | "h"}${string}`
  readonly arrival?: "uniform" | "poisson" | "burst" | undefined
  readonly concurrency?: number | undefined
  readonly writeRatio?: number | undefined
}

/**
 * | option | default | meaning |
 * |---|---|---|
 * | `traffic` | required | see {@link Traffic} |
 * | `seed` | 1 | seeds the sandbox's faults, the arrivals and the client's `Random` (jitter, idempotency keys) |
 * | `sandbox` | `{}` (no faults) | a sandbox config: a `preset` and any settings (its `seed` defaults to `seed`) |
 * | `client` | `{}` | `ApiClient` config of the standard pipeline (all but `baseUrl` and `auth`, which point at the sandbox's demo client) |
 * | `pipeline` | the standard pipeline | a {@link Pipeline} of your own instead |
 * | `circuitBreaker` | off | `true` or `CircuitBreaker` options: a breaker per origin, its transitions in the report |
 * | `latency` | `20 millis` | the round trip of every exchange (half each way) |
 * | `bucket` | ≤ 360 points | the time series' bucket |
 * | `drain` | `5 minutes` | after the traffic stops, how long calls still running may take; later ones are `unfinished` |
 * | `startAt` | 2026-01-01T00:00:00Z | the virtual instant the run starts at |
 * | `name` | none | a label for the report |
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly traffic: Traffic
  readonly seed?: number | undefined
  readonly sandbox?: SandboxConfig.Input | undefined
  readonly client?: Omit<ApiClient.ClientConfig, "baseUrl" | "auth"> | undefined
  readonly pipeline?: Pipeline | undefined
  readonly circuitBreaker?: boolean | CircuitBreaker.Options | undefined
  readonly latency?: Duration.DurationInput | undefined
  readonly bucket?: Duration.DurationInput | undefined
  readonly drain?: Duration.DurationInput | undefined
  readonly startAt?: number | undefined
  readonly name?: string | undefined
}

/**
 * What a run observed. Counts on the client's side of the wire come from the transport (`attempts`), those
 * on the API's side from the sandbox's own stats (`rateLimit`, `tokens`, `writes`, `faultsInjected`).
 *
 * | field | meaning |
 * |---|---|
 * | `calls` | logical calls: total, succeeded, failed, unfinished (still running after `drain`), `successRate` |
 * | `attempts` | requests to the resource routes: total, `amplification` (attempts per call), `byStatus` (and `transport error`) |
 * | `errors` | failed calls by the `_tag` of their error |
 * | `received` | what the API received, by route and outcome (`"200"`, `"hung"`, `"reset"`, ...) |
 * | `rateLimit` | 429s the sandbox sent; requests it received before a Retry-After it had sent had passed |
 * | `tokens` | token requests received and tokens issued |
 * | `writes` | items created, duplicate SKUs (a write applied twice), retries answered from the `Idempotency-Key` |
 * | `breaker` | whether it was on, how often it opened, every transition with its time |
 * | `faultsInjected` | by kind, as the sandbox counted them |
 * | `latencyMs` | of logical calls, arrival to outcome, in simulated milliseconds: p50, p90, p99, p99.9, max, mean |
 * | `timeline` | per bucket: calls, succeeded, failed, attempts, token requests, 429s, 5xx, transport errors, p99 latency |
 * | `goals` | a scenario's goals and whether they were met (`null` for a plain run) |
 *
 * @since 0.1.0
 * @category models
 */
export type Report = report.Report

/**
 * One point of a report's time series.
 *
 * @since 0.1.0
 * @category models
 */
export type TimelinePoint = report.TimelinePoint

/**
 * A run that could not start or finish: invalid options (every problem listed), an invalid sandbox or
 * client config, a pipeline that failed to build, or a program stuck with nothing left to wake it.
 *
 * @since 0.1.0
 * @category errors
 */
export const SimulationError: typeof internal.SimulationError = internal.SimulationError

/**
 * @since 0.1.0
 * @category errors
 */
export type SimulationError = internal.SimulationError

/**
 * Runs a simulation. The run takes the CPU time of the calls, not their simulated time: 30 simulated minutes
 * at 20 calls/s take some seconds. The same options give the same report.
 *
 * @example
 * ```ts
 * import { Simulation } from "@bulwark/simulation"
 * import { Effect } from "effect"
 *
 * const report = Simulation.run({
 *   seed: 7,
 *   sandbox: { preset: "scaling-up" },
 *   circuitBreaker: true,
 *   client: { retry: { maxRetries: 5 } },
 *   traffic: { rate: 20, duration: "30 minutes" }
 * }).pipe(Effect.map(Simulation.toText), Effect.flatMap(Effect.log))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: (options: Options) => Effect.Effect<Report, SimulationError> = internal.run

/**
 * The report as a plain-text table with one-line charts of the time series, for a terminal.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toText: (report: Report) => string = format.text

/**
 * The report as indented JSON; the same run gives the same bytes.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toJson: (report: Report) => string = format.json

/**
 * The report as a self-contained HTML page: goals, SVG charts of the time series (breaker openings
 * marked), and the text report. No script, nothing fetched.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toHtml: (report: Report) => string = format.html
