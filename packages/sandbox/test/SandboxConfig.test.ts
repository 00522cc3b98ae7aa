import { Faults, Preset, SandboxConfig } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fc from "fast-check"

const decode = (input: unknown) => Effect.runSync(Effect.either(SandboxConfig.decodeUnknown(input)))

/** The issues of a rejected config, sorted by path. */
const issuesOf = (input: unknown) => {
  const result = decode(input)
  if (Either.isRight(result)) throw new Error("expected the config to be rejected")
  return [...result.left.issues].sort((a, b) => a.path.localeCompare(b.path))
}

describe("SandboxConfig.decode", () => {
  it("fills every default", () => {
    const config = Effect.runSync(SandboxConfig.decode())
    expect(config).toMatchObject({
      preset: "none",
      host: "127.0.0.1",
      port: 0,
      seed: 1,
      tokens: { lifetimeSeconds: 3600, requestLimit: null },
      quota: null,
      retryAfterFormat: "delta-seconds",
      rateLimitHeaders: false,
      maxBodyBytes: 1048576,
      defaultPageSize: 100,
      maxPageSize: 500,
      faults: Faults.none
    })
    expect(config.clients.map((c) => [c.clientId, Redacted.value(c.clientSecret), c.roles])).toEqual([
      [SandboxConfig.demoClient.clientId, SandboxConfig.demoClient.clientSecret, ["items:read", "items:write"]],
      [SandboxConfig.readOnlyClient.clientId, SandboxConfig.readOnlyClient.clientSecret, ["items:read"]]
    ])
  })

  it("applies a preset under the given settings, merging tokens and faults field by field", () => {
    const config = Effect.runSync(SandboxConfig.decode({
      preset: "realistic",
      seed: 7,
      tokens: { lifetimeSeconds: 30 },
      faults: { hang: 0.01 }
    }))
    expect(config.tokens).toEqual({ lifetimeSeconds: 30, requestLimit: { limit: 10, windowSeconds: 60 } })
    expect(config.quota).toEqual({ limit: 50, windowSeconds: 1 })
    expect(config.faults.serverError.probability).toBe(0.01)
    expect(config.faults.hang).toBe(0.01)
    expect(Effect.runSync(SandboxConfig.decode({ preset: "realistic", quota: null })).quota).toBeNull()
  })

  it("decodes every preset", () => {
    for (const name of Preset.names) {
      const config = Effect.runSync(SandboxConfig.decode({ preset: name }))
      expect(config.preset).toBe(name)
      expect(Effect.runSync(SandboxConfig.decode(Preset.settings(name))).faults).toEqual(config.faults)
    }
    expect(Effect.runSync(SandboxConfig.decode({ preset: "outage" })).faults.windows).toEqual([
      { kind: "outage", startAfterSeconds: 5, durationSeconds: 20, probability: 1, retryAfterSeconds: 5 }
    ])
  })

  it("names every wrong setting with an actionable message", () => {
    expect(issuesOf({
      port: 70000,
      seed: 1.5,
      preset: "chaos",
      faults: { hang: 2, hng: 1, latency: { probability: 0.5, minMs: 100, maxMs: 10 } },
      quota: { limit: 0, windowSeconds: 1 }
    })).toEqual([
      { path: "faults.hang", message: "must be a probability between 0 and 1, got 2" },
      { path: "faults.hng", message: "is not a known setting (check its spelling)" },
      { path: "faults.latency.maxMs", message: "must be >= minMs (100), got 10" },
      { path: "port", message: "must be a TCP port between 0 and 65535 (0: any free port), got 70000" },
      {
        path: "preset",
        message: `must be one of "none", "realistic", "harsh", "outage", "scaling-up", got "chaos"`
      },
      { path: "quota.limit", message: "must be a number of requests (an integer >= 1), got 0" },
      { path: "seed", message: "must be an integer, got 1.5" }
    ])
    expect(issuesOf({ quota: 5, retryAfterFormat: "seconds" })).toEqual([
      { path: "quota", message: "must be null (no limit) or an object { limit, windowSeconds }" },
      { path: "retryAfterFormat", message: `must be one of "delta-seconds", "http-date", got "seconds"` }
    ])
    expect(issuesOf({ faults: { latency: { probability: 0.5, minMs: 100, maxMs: 10 } } })).toEqual([
      { path: "faults.latency.maxMs", message: "must be >= minMs (100), got 10" }
    ])
    expect(issuesOf({ faults: { serverError: { probability: 0.6 }, resetAfter: 0.6 } })[0]!.message).toContain(
      "add up to 1.2"
    )
    expect(issuesOf("port=8080")).toEqual([{ path: "(config)", message: "must be an object" }])
  })

  it("rejects duplicate client ids and bad roles without quoting secrets", () => {
    const error = Effect.runSync(Effect.flip(SandboxConfig.decodeUnknown({
      clients: [
        { clientId: "a", clientSecret: "hunter2-secret", roles: ["items:read"] },
        { clientId: "a", clientSecret: "", roles: ["has space"] }
      ]
    })))
    expect(error.issues).toEqual([
      { path: "clients[1].clientSecret", message: "must be a string of 1 to 255 characters" },
      { path: "clients[1].roles[0]", message: expect.stringContaining("must be an OAuth scope token") }
    ])
    expect(error.message).toContain("Invalid sandbox config (2 problems)")
    const duplicate = issuesOf({
      clients: [
        { clientId: "a", clientSecret: "hunter2-secret", roles: [] },
        { clientId: "a", clientSecret: "hunter2-secret", roles: [] }
      ]
    })
    expect(duplicate).toEqual([{ path: "clients[1].clientId", message: `duplicates the client id "a"` }])
    expect(JSON.stringify(duplicate)).not.toContain("hunter2")
  })

  it("property: any input either decodes or fails with issues, never throws", () => {
    const settings = fc.record({
      port: fc.oneof(fc.integer({ min: -10, max: 70000 }), fc.string(), fc.double()),
      seed: fc.oneof(fc.integer(), fc.double()),
      preset: fc.oneof(fc.constantFrom(...Preset.names), fc.string()),
      quota: fc.oneof(fc.constant(null), fc.record({ limit: fc.integer(), windowSeconds: fc.double() })),
      faults: fc.record({
        hang: fc.double(),
        stall: fc.double({ min: 0, max: 1 }),
        serverError: fc.record({ probability: fc.double(), statuses: fc.array(fc.integer({ min: 499, max: 505 })) })
      }, { requiredKeys: [] })
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(fc.oneof(settings, fc.anything()), (input) => {
        const result = decode(input)
        if (Either.isLeft(result)) {
          expect(result.left.issues.length).toBeGreaterThan(0)
          expect(result.left.message).toContain("Invalid sandbox config")
        }
      }),
      { seed: 20261125, numRuns: 500 }
    )
  })

  it("property: faults whose exclusive probabilities add up to at most 1 always decode", () => {
    const p = fc.double({ min: 0, max: 1, noNaN: true })
    fc.assert(
      fc.property(fc.array(p, { minLength: 6, maxLength: 6 }), (raw) => {
        const total = raw.reduce((a, b) => a + b, 0)
        const [serverError, unavailable, hang, stall, resetBefore, resetAfter] = raw.map((x) =>
          total > 1 ? x / total * 0.999 : x
        ) as [number, number, number, number, number, number]
        const result = Effect.runSync(Effect.either(Faults.decode({
          serverError: { probability: serverError },
          unavailable: { probability: unavailable },
          hang,
          stall,
          resetBefore,
          resetAfter
        })))
        expect(Either.isRight(result)).toBe(true)
      }),
      { seed: 7, numRuns: 300 }
    )
  })
})
