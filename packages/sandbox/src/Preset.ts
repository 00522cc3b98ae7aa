/**
 * Named sets of settings: the `preset` of a config, the CLI's `--faults` and `PUT /__sandbox/preset/:name`.
 * A preset sets `tokens`, `quota`, `retryAfterFormat`, `rateLimitHeaders`, `quotaResponse` and `faults`.
 *
 * | preset | token lifetime | token requests | quota | faults |
 * |---|---|---|---|---|
 * | `none` | 3600 s | unlimited | none | none |
 * | `realistic` | 300 s | 10 / 60 s | 50 req / 1 s, `RateLimit-*` headers | 1% 5xx (500/502/503/504, half of them HTML), 2% latency 20–150 ms |
 * | `harsh` | 60 s | 5 / 60 s | 20 req / 1 s, Retry-After as HTTP-date | 5% 5xx, 2% 503 + Retry-After 1 s, 0.5% hang, 0.5% stall, 1% reset before, 1% reset after, 10% latency 50–500 ms, scaling-up window (40% 503, Retry-After 2 s) 10 s of every 60 s from 30 s, 5% token endpoint 503 |
 * | `outage` | 3600 s | unlimited | none | 100% 503 (Retry-After 5 s) from 5 s to 25 s, then recovery |
 * | `scaling-up` | 3600 s | unlimited | none | 40% 503 (Retry-After 2 s) 30 s of every 60 s from 5 s |
 * | `quota-headers` | 3600 s | unlimited | 100 req / 10 s, fixed windows starting at 3.370 s past every 10 s, every rate-limit header style (`"all"`) | none |
 * | `quota-bare` | 3600 s | unlimited | token bucket of 10 refilled at 20 / s; 429s as nginx sends them (no Retry-After, no headers, HTML) | none |
 *
 * Windows are timed from the moment the preset (or any faults) was set.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/config.js"

/**
 * A preset's name.
 *
 * @since 0.1.0
 * @category models
 */
export type Name = internal.PresetName

/**
 * Every preset name.
 *
 * @since 0.1.0
 * @category constants
 */
export const names: ReadonlyArray<Name> = internal.presetNames

/**
 * The settings a preset stands for, as config input (so they can be spread into a config and adjusted).
 *
 * @example
 * ```ts
 * import { Preset, Sandbox } from "@bulwark/sandbox"
 *
 * const realistic = Preset.settings("realistic")
 * const layer = Sandbox.layer({ ...realistic, quota: null, seed: 7 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings = (name: Name): Settings => internal.presets[name]

/**
 * @since 0.1.0
 * @category models
 */
export type Settings = Pick<
  internal.SandboxConfigInput,
  "tokens" | "quota" | "retryAfterFormat" | "rateLimitHeaders" | "quotaResponse" | "faults"
>
