import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import type { ConnectionOptions, LayerOptions } from "../RedisConnection.js"
import type { Options as RateLimiterOptions } from "../RedisRateLimiter.js"
import type { Options as GateOptions } from "../RedisRateLimitGate.js"
import type { Options as TokenStoreOptions } from "../RedisTokenStore.js"
import type { Options as TrafficStoreOptions } from "../RedisTrafficStore.js"
import * as crypto from "./crypto.js"

// Validation of every option, apart from the components so that `RedisFleet` can report every problem at
// once without importing the components' implementations (and their import cycles with the public modules).

/** @internal */
export const connectionDefaults = {
  redis: "redis://127.0.0.1:6379",
  keyPrefix: "default",
  timeout: Duration.millis(500),
  connectTimeout: Duration.seconds(2),
  cooldown: Duration.seconds(1),
  warnEvery: Duration.seconds(30)
}

const PREFIX_PATTERN = /^[\x21-\x7e]{1,100}$/

const millisOf = (
  issues: Array<string>,
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration,
  min = 1
): number => {
  if (input === undefined) return Duration.toMillis(fallback)
  const decoded = Duration.decodeUnknown(input)
  if (decoded._tag === "None" || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) < min) {
    issues.push(`${name} must be a finite duration of at least ${min} ms`)
    return Duration.toMillis(fallback)
  }
  return Duration.toMillis(decoded.value)
}

/** @internal */
export interface Settings {
  readonly prefix: string
  readonly timeoutMillis: number
  readonly cooldownMillis: number
  readonly warnEveryMillis: number
}

/** @internal */
export const validateConnection = (options: ConnectionOptions | undefined, issues: Array<string>): Settings => {
  const keyPrefix = options?.keyPrefix ?? connectionDefaults.keyPrefix
  if (typeof keyPrefix !== "string" || !PREFIX_PATTERN.test(keyPrefix)) {
    issues.push("keyPrefix must be 1 to 100 printable ASCII characters without spaces")
  }
  return {
    prefix: `bulwark:${keyPrefix}:`,
    timeoutMillis: millisOf(issues, "timeout", options?.timeout, connectionDefaults.timeout),
    cooldownMillis: millisOf(issues, "cooldown", options?.cooldown, connectionDefaults.cooldown, 0),
    warnEveryMillis: millisOf(issues, "warnEvery", options?.warnEvery, connectionDefaults.warnEvery, 0)
  }
}

/** @internal */
export const validateLayer = (options: LayerOptions | undefined, issues: Array<string>) => {
  const settings = validateConnection(options, issues)
  const connectTimeoutMillis = millisOf(
    issues,
    "connectTimeout",
    options?.connectTimeout,
    connectionDefaults.connectTimeout
  )
  const redis = options?.redis ?? connectionDefaults.redis
  if (typeof redis === "string") {
    try {
      const url = new URL(redis)
      if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
        issues.push("redis must be a redis:// or rediss:// URL")
      }
    } catch {
      issues.push("redis must be a redis:// or rediss:// URL or ioredis options")
    }
  } else if (typeof redis !== "object" || redis === null) {
    issues.push("redis must be a redis:// or rediss:// URL or ioredis options")
  }
  return { settings, connectTimeoutMillis, redis }
}

/** @internal */
export const gateDefaults = {
  refreshInterval: Duration.zero,
  maxCooldown: Duration.hours(1)
}

/** @internal */
export const validateGate = (options: GateOptions | undefined, issues: Array<string>) => ({
  refreshMillis: millisOf(issues, "refreshInterval", options?.refreshInterval, gateDefaults.refreshInterval, 0),
  maxCooldownMillis: millisOf(issues, "maxCooldown", options?.maxCooldown, gateDefaults.maxCooldown, 1)
})

/** @internal */
export const gateIssues = (options: GateOptions | undefined): ReadonlyArray<string> => {
  const issues: Array<string> = []
  validateGate(options, issues)
  return issues
}

/** @internal */
export const trafficStoreDefaults = {
  idleTtl: Duration.minutes(10)
}

/** @internal */
export const validateTrafficStore = (options: TrafficStoreOptions | undefined, issues: Array<string>) => ({
  idleTtlMillis: millisOf(issues, "idleTtl", options?.idleTtl, trafficStoreDefaults.idleTtl, 1000)
})

/** @internal */
export const trafficStoreIssues = (options: TrafficStoreOptions | undefined): ReadonlyArray<string> => {
  const issues: Array<string> = []
  validateTrafficStore(options, issues)
  return issues
}

/** @internal */
export const rateLimiterDefaults = {
  burst: 1,
  maxWait: Duration.seconds(30)
}

/** @internal */
export interface RateLimiterSettings {
  readonly limit: number
  readonly windowMillis: number
  readonly burst: number
  readonly maxWaitMillis: number
  readonly fallbackLimit: number
  readonly name: string
}

/** @internal */
export const validateRateLimiter = (options: RateLimiterOptions): RateLimiterSettings | ReadonlyArray<string> => {
  const issues: Array<string> = []
  const positive = (label: string, value: unknown) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      issues.push(`${label} must be a positive number`)
      return 1
    }
    return value
  }
  const limit = positive("limit", options?.limit)
  const fallbackLimit = options?.fallbackLimit === undefined ? limit : positive("fallbackLimit", options.fallbackLimit)
  const burst = options?.burst ?? rateLimiterDefaults.burst
  if (!Number.isInteger(burst) || burst < 1) issues.push("burst must be an integer of at least 1")
  const duration = (label: string, input: Duration.DurationInput | undefined, min: number) => {
    const decoded = input === undefined ? undefined : Duration.decodeUnknown(input)
    if (decoded === undefined || decoded._tag === "None" || !Duration.isFinite(decoded.value)) {
      issues.push(`${label} must be a finite duration`)
      return 1
    }
    const ms = Duration.toMillis(decoded.value)
    if (ms < min) issues.push(`${label} must be at least ${min} ms`)
    return ms
  }
  const windowMillis = duration("window", options?.window, 1)
  const maxWaitMillis = options?.maxWait === undefined
    ? Duration.toMillis(rateLimiterDefaults.maxWait)
    : duration("maxWait", options.maxWait, 0)
  const name = options?.name ?? "default"
  if (typeof name !== "string" || !/^[\x21-\x7e]{1,100}$/.test(name)) {
    issues.push("name must be 1 to 100 printable ASCII characters without spaces")
  }
  if (issues.length > 0) return issues
  return { limit, windowMillis, burst, maxWaitMillis, fallbackLimit, name }
}

/** @internal */
export const rateLimiterIssues = (options: RateLimiterOptions): ReadonlyArray<string> => {
  const settings = validateRateLimiter(options)
  return "limit" in settings ? [] : settings
}

/** @internal */
export const tokenStoreDefaults = {
  name: "default",
  lease: Duration.seconds(10),
  lockTimeout: Duration.seconds(15),
  operationTimeout: Duration.seconds(2),
  pollBase: 5,
  pollCap: 50
}

const NAME_PATTERN = /^[\x21-\x7e]{1,100}$/

/** @internal */
export const validateTokenStore = (options: TokenStoreOptions | undefined, issues: Array<string>) => {
  const name = options?.name ?? tokenStoreDefaults.name
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    issues.push("name must be 1 to 100 printable ASCII characters without spaces")
  }
  const millis = (label: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) =>
    Math.ceil(millisOf(issues, label, input, fallback))
  const leaseMillis = millis("lease", options?.lease, tokenStoreDefaults.lease)
  const operationTimeoutMillis = millis(
    "operationTimeout",
    options?.operationTimeout,
    tokenStoreDefaults.operationTimeout
  )
  const lockTimeoutMillis = options?.lockTimeout === undefined
    ? leaseMillis + 5_000
    : millis("lockTimeout", options.lockTimeout, tokenStoreDefaults.lockTimeout)
  let key: Buffer | undefined
  if (options?.encryptionKey !== undefined) {
    key = Redacted.isRedacted(options.encryptionKey) ? crypto.decodeKey(options.encryptionKey) : undefined
    if (key === undefined) {
      issues.push("encryptionKey must be a Redacted 32-byte key in base64 or 64 hex digits")
    }
  }
  return { name, leaseMillis, lockTimeoutMillis, operationTimeoutMillis, key }
}

/** @internal */
export const tokenStoreIssues = (options: TokenStoreOptions | undefined): ReadonlyArray<string> => {
  const issues: Array<string> = []
  validateTokenStore(options, issues)
  return issues
}
