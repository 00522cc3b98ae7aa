import { Faults, Preset, SandboxConfig } from "@bulwark/sandbox"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fc from "fast-check"
import * as Util from "node:util"

const notAnObject = `must be a JSON object of settings, such as { "preset": "realistic", "seed": 7 }`
const mustBePreset =
  `must be one of "none", "realistic", "harsh", "outage", "scaling-up", "quota-headers", "quota-bare"`
const mustBeAlgorithm = `must be one of "fixed-window", "token-bucket"`
const mustBeRateLimitHeaders = `must be true, false or one of "draft-11", "legacy", "x-ratelimit", "all"`

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
      { path: "faults.hang", message: "must be a probability between 0 and 1" },
      { path: "faults.hng", message: "is not a known setting (check its spelling)" },
      { path: "faults.latency.maxMs", message: "must be >= minMs" },
      { path: "port", message: "must be a TCP port between 0 and 65535 (0: any free port)" },
      { path: "preset", message: mustBePreset },
      { path: "quota.limit", message: "must be a number of requests (an integer >= 1)" },
      { path: "seed", message: "must be an integer" }
    ])
    expect(issuesOf({ quota: 5, retryAfterFormat: "seconds" })).toEqual([
      { path: "quota", message: "must be null (no limit) or an object { limit, windowSeconds }" },
      { path: "retryAfterFormat", message: `must be one of "delta-seconds", "http-date"` }
    ])
    expect(issuesOf({ faults: { latency: { probability: 0.5, minMs: 100, maxMs: 10 } } })).toEqual([
      { path: "faults.latency.maxMs", message: "must be >= minMs" }
    ])
    expect(issuesOf({ faults: { serverError: { probability: 0.6 }, resetAfter: 0.6 } })[0]!.message).toContain(
      "add up to more than 1"
    )
    expect(issuesOf({ tokens: 5, faults: [], clients: [] })).toEqual([
      { path: "clients", message: "must not be empty" },
      {
        path: "faults",
        message: "must be an object of faults (see the Faults section of the @bulwark/sandbox README)"
      },
      { path: "tokens", message: "must be an object { lifetimeSeconds, requestLimit }" }
    ])
    expect(issuesOf("port=8080")).toEqual([{ path: "(config)", message: notAnObject }])
  })

  it("decodes the quota modes, leaving a quota written without them as it was", () => {
    const config = Effect.runSync(SandboxConfig.decode({
      quota: { limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 10 },
      rateLimitHeaders: "draft-11",
      quotaResponse: "bare",
      clients: [
        {
          clientId: "a",
          clientSecret: "s",
          roles: ["items:read"],
          quota: { limit: 5, windowSeconds: 10, alignMillis: 250 }
        },
        { clientId: "b", clientSecret: "s", roles: ["items:read"], quota: null },
        { clientId: "c", clientSecret: "s", roles: ["items:read"] }
      ]
    }))
    expect(config.quota).toEqual({ limit: 50, windowSeconds: 1, algorithm: "token-bucket", burst: 10 })
    expect(config.rateLimitHeaders).toBe("draft-11")
    expect(config.quotaResponse).toBe("bare")
    expect(config.clients.map((client) => client.quota)).toEqual([
      { limit: 5, windowSeconds: 10, alignMillis: 250 },
      null,
      undefined
    ])
    expect("quota" in config.clients[2]!).toBe(false)
    // The defaults: "api" answers, and a quota decodes to exactly what was written (the algorithm's defaults
    // apply where it is checked), so existing configs mean the same.
    const plain = Effect.runSync(
      SandboxConfig.decode({ quota: { limit: 3, windowSeconds: 10 }, rateLimitHeaders: true })
    )
    expect(plain.quota).toEqual({ limit: 3, windowSeconds: 10 })
    expect(plain.rateLimitHeaders).toBe(true)
    expect(plain.quotaResponse).toBe("api")
    for (const mode of [false, true, "draft-11", "legacy", "x-ratelimit", "all"] as const) {
      expect(Effect.runSync(SandboxConfig.decode({ rateLimitHeaders: mode })).rateLimitHeaders).toBe(mode)
    }
  })

  it("names every wrong quota setting", () => {
    expect(issuesOf({
      quota: { limit: 5, windowSeconds: 1, algorithm: "leaky-bucket", burst: 0, alignMillis: 1.5 },
      rateLimitHeaders: "draft-12",
      quotaResponse: "nginx"
    })).toEqual([
      { path: "quota.algorithm", message: mustBeAlgorithm },
      { path: "quota.alignMillis", message: "must be a number of milliseconds (an integer >= 0)" },
      { path: "quota.burst", message: "must be a number of requests (an integer >= 1)" },
      { path: "quotaResponse", message: `must be one of "api", "bare"` },
      { path: "rateLimitHeaders", message: mustBeRateLimitHeaders }
    ])
    // Settings of the other algorithm, and a shift of a whole window or more.
    expect(issuesOf({ quota: { limit: 5, windowSeconds: 1, burst: 10 } })).toEqual([
      {
        path: "quota.burst",
        message: `applies only to algorithm "token-bucket": set algorithm to "token-bucket" or remove burst`
      }
    ])
    expect(issuesOf({ quota: { limit: 5, windowSeconds: 1, algorithm: "token-bucket", alignMillis: 10 } })).toEqual([
      {
        path: "quota.alignMillis",
        message:
          `applies only to algorithm "fixed-window" (a token bucket has no window boundaries): remove alignMillis`
      }
    ])
    expect(issuesOf({ quota: { limit: 5, windowSeconds: 1, alignMillis: 1000 } })).toEqual([
      {
        path: "quota.alignMillis",
        message:
          "must be less than the window (windowSeconds x 1000 milliseconds): a shift by a whole window changes nothing"
      }
    ])
    expect(Effect.runSync(SandboxConfig.decode({ quota: { limit: 5, windowSeconds: 1, alignMillis: 999 } })).quota)
      .toEqual({ limit: 5, windowSeconds: 1, alignMillis: 999 })
    // A client's own quota is checked the same way, under its path.
    expect(issuesOf({
      clients: [
        { clientId: "a", clientSecret: "s", roles: [], quota: { limit: 0, windowSeconds: 1 } },
        { clientId: "b", clientSecret: "s", roles: [], quota: 5 },
        { clientId: "c", clientSecret: "s", roles: [], quota: { limit: 1, windowSeconds: 1, burst: 2 } }
      ]
    })).toEqual([
      { path: "clients[0].quota.limit", message: "must be a number of requests (an integer >= 1)" },
      { path: "clients[1].quota", message: "must be null (no limit) or an object { limit, windowSeconds }" },
      {
        path: "clients[2].quota.burst",
        message: `applies only to algorithm "token-bucket": set algorithm to "token-bucket" or remove burst`
      }
    ])
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
    expect(duplicate).toEqual([
      { path: "clients[1].clientId", message: "must be unique: an earlier client has the same clientId" }
    ])
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

const CANARY = "CANARY-s3cr3t-9f2"

/** Every way a `SandboxConfigError` shows itself: none may hold the canary. */
const renderings = (error: SandboxConfig.SandboxConfigError): ReadonlyArray<string> => [
  error.message,
  String(error),
  JSON.stringify(error),
  JSON.stringify(error.issues),
  Util.inspect(error, { depth: null }),
  Util.format("%o", error),
  error.stack ?? ""
]

const rejected = (input: unknown): SandboxConfig.SandboxConfigError => {
  const result = decode(input)
  if (Either.isRight(result)) throw new Error("expected the config to be rejected")
  return result.left
}

/** A JSON object with exactly these own keys, `__proto__` included, as `JSON.parse` makes it. */
const objectOf = (entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

describe("SandboxConfig errors never quote the input", () => {
  const client = { clientId: "team-a", clientSecret: "ok-secret", roles: ["items:read"] }
  const wrongShapes: Array<readonly [string, unknown, ReadonlyArray<{ path: string; message: string }>]> = [
    ["clients as an array of strings", { clients: [CANARY, `id:${CANARY}`] }, [
      { path: "clients[0]", message: "must be an object { clientId, clientSecret, roles }" },
      { path: "clients[1]", message: "must be an object { clientId, clientSecret, roles }" }
    ]],
    ["clients as a string", { clients: CANARY }, [
      {
        path: "clients",
        message: "must be a non-empty array of clients, each an object { clientId, clientSecret, roles }"
      }
    ]],
    ["clients as a map of id to secret", { clients: { "team-a": CANARY } }, [
      {
        path: "clients",
        message: "must be a non-empty array of clients, each an object { clientId, clientSecret, roles }"
      }
    ]],
    ["a secret under `secret`", { clients: [{ clientId: "team-a", secret: CANARY, roles: [] }] }, [
      { path: "clients[0].secret", message: "is not a known setting (check its spelling)" },
      { path: "clients[0].clientSecret", message: "is required" }
    ]],
    ["a secret under `client_secret`", { clients: [{ clientId: "team-a", client_secret: CANARY, roles: [] }] }, [
      { path: "clients[0].client_secret", message: "is not a known setting (check its spelling)" },
      { path: "clients[0].clientSecret", message: "is required" }
    ]],
    ["a client nested in arrays", { clients: [[[{ clientId: "team-a", clientSecret: CANARY, roles: [] }]]] }, [
      { path: "clients[0]", message: "must be an object { clientId, clientSecret, roles }" }
    ]],
    ["a secret nested in clientSecret", { clients: [{ ...client, clientSecret: { value: CANARY } }] }, [
      { path: "clients[0].clientSecret", message: "must be a string of 1 to 255 characters" }
    ]],
    ["a secret too long for clientSecret", { clients: [{ ...client, clientSecret: CANARY.repeat(20) }] }, [
      { path: "clients[0].clientSecret", message: "must be a string of 1 to 255 characters" }
    ]],
    ["a secret in roles", { clients: [{ ...client, roles: `${CANARY} items:read` }] }, [
      { path: "clients[0].roles", message: `must be an array of OAuth scope tokens, such as ["items:read"]` }
    ]],
    ["a secret as a role", { clients: [{ ...client, roles: [`${CANARY} x`] }] }, [
      {
        path: "clients[0].roles[0]",
        message: "must be an OAuth scope token (printable ASCII, no spaces, quotes or backslashes)"
      }
    ]],
    ["a secret as the id of a duplicate client", {
      clients: [{ ...client, clientId: CANARY }, { ...client, clientId: CANARY }]
    }, [
      { path: "clients[1].clientId", message: "must be unique: an earlier client has the same clientId" }
    ]],
    ["a secret in settings that quoted their value", {
      preset: CANARY,
      port: CANARY,
      seed: `${CANARY}1`,
      retryAfterFormat: CANARY,
      host: `${CANARY} x`,
      rateLimitHeaders: CANARY,
      quota: CANARY,
      faults: { hang: CANARY, serverError: { statuses: [CANARY] }, windows: [{ kind: CANARY, durationSeconds: 1 }] }
    }, [
      { path: "faults.hang", message: "must be a probability between 0 and 1" },
      { path: "faults.serverError.statuses[0]", message: "must be one of 500, 502, 503, 504" },
      { path: "faults.windows[0].kind", message: `must be one of "scaling-up", "outage"` },
      { path: "host", message: "must be a host name or IP address" },
      { path: "port", message: "must be a TCP port between 0 and 65535 (0: any free port)" },
      { path: "preset", message: mustBePreset },
      { path: "quota", message: "must be null (no limit) or an object { limit, windowSeconds }" },
      { path: "rateLimitHeaders", message: mustBeRateLimitHeaders },
      { path: "retryAfterFormat", message: `must be one of "delta-seconds", "http-date"` },
      { path: "seed", message: "must be an integer" }
    ]]
  ]

  wrongShapes.push(["a secret in the quota settings", {
    quota: { limit: 1, windowSeconds: 1, algorithm: CANARY, burst: CANARY, alignMillis: CANARY },
    quotaResponse: CANARY,
    clients: [{ ...client, quota: CANARY }, { ...client, clientId: "team-b", quota: { limit: CANARY } }]
  }, [
    { path: "clients[0].quota", message: "must be null (no limit) or an object { limit, windowSeconds }" },
    { path: "clients[1].quota.limit", message: "must be a number of requests (an integer >= 1)" },
    { path: "clients[1].quota.windowSeconds", message: "is required" },
    { path: "quota.alignMillis", message: "must be a number of milliseconds (an integer >= 0)" },
    { path: "quota.algorithm", message: `must be one of "fixed-window", "token-bucket"` },
    { path: "quota.burst", message: "must be a number of requests (an integer >= 1)" },
    { path: "quotaResponse", message: `must be one of "api", "bare"` }
  ]])

  for (const [name, input, issues] of wrongShapes) {
    it(`${name}: names the field, never the value`, () => {
      const error = rejected(input)
      expect([...error.issues].sort((a, b) => a.path.localeCompare(b.path))).toEqual(
        [...issues].sort((a, b) => a.path.localeCompare(b.path))
      )
      for (const rendering of renderings(error)) expect(rendering).not.toContain(CANARY)
    })
  }

  it("a secret set at run time with setFaults is not quoted either", () => {
    const error = Effect.runSync(Effect.flip(Faults.decode({ windows: CANARY } as any)))
    expect(error.issues).toEqual([{ path: "faults.windows", message: "must be an array of fault windows" }])
    for (const rendering of renderings(error)) expect(rendering).not.toContain(CANARY)
  })

  it("an unknown key is named, escaped and shortened", () => {
    expect(issuesOf({ "bad\u001b[2Jkey\u202e": 1, ["x".repeat(100)]: 2 })).toEqual([
      { path: `["bad\\u001b[2Jkey\\u202e"]`, message: "is not a known setting (check its spelling)" },
      { path: `["${"x".repeat(40)}..."]`, message: "is not a known setting (check its spelling)" }
    ])
  })
})

describe("SandboxConfig.decodeUnknown never throws", () => {
  // Values that cannot be turned into a string (`String(x)` and `${x}` throw a TypeError), or whose constructor
  // name is not a string (Effect's default "actual ..." rendering interpolates it).
  const crafted: ReadonlyArray<readonly [string, unknown]> = [
    ["{ toString: {} }", JSON.parse(`{"toString":{}}`)],
    ["{ valueOf: {}, toString: {} }", JSON.parse(`{"valueOf":{},"toString":{}}`)],
    ["{ __proto__: { toString: {} } }", JSON.parse(`{"__proto__":{"toString":{}}}`)],
    ["{ constructor: { name: { toString: {} } } }", JSON.parse(`{"constructor":{"name":{"toString":{}}}}`)],
    ["a huge number", JSON.parse("1e400")],
    ["NaN", Number.NaN],
    ["\"NaN\"", "NaN"],
    ["\"1e400\"", "1e400"],
    ["a deeply nested array", JSON.parse(`${"[".repeat(5000)}${"]".repeat(5000)}`)],
    ["a deeply nested object", JSON.parse(`${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}`)]
  ]
  const settings: ReadonlyArray<readonly [string, (value: unknown) => unknown, string]> = [
    ["port", (v) => ({ port: v }), "must be a TCP port between 0 and 65535 (0: any free port)"],
    ["seed", (v) => ({ seed: v }), "must be an integer"],
    ["host", (v) => ({ host: v }), "must be a host name or IP address"],
    ["preset", (v) => ({ preset: v }), mustBePreset],
    ["maxBodyBytes", (v) => ({ maxBodyBytes: v }), "must be a number of bytes (an integer >= 1)"],
    [
      "tokens.lifetimeSeconds",
      (v) => ({ tokens: { lifetimeSeconds: v } }),
      "must be a number of seconds (an integer >= 1)"
    ],
    [
      "quota.limit",
      (v) => ({ quota: { limit: v, windowSeconds: 1 } }),
      "must be a number of requests (an integer >= 1)"
    ],
    ["quota.algorithm", (v) => ({ quota: { limit: 1, windowSeconds: 1, algorithm: v } }), mustBeAlgorithm],
    [
      "quota.burst",
      (v) => ({ quota: { limit: 1, windowSeconds: 1, algorithm: "token-bucket", burst: v } }),
      "must be a number of requests (an integer >= 1)"
    ],
    [
      "quota.alignMillis",
      (v) => ({ quota: { limit: 1, windowSeconds: 1, alignMillis: v } }),
      "must be a number of milliseconds (an integer >= 0)"
    ],
    ["rateLimitHeaders", (v) => ({ rateLimitHeaders: v }), mustBeRateLimitHeaders],
    ["quotaResponse", (v) => ({ quotaResponse: v }), `must be one of "api", "bare"`],
    [
      "clients[0].quota.limit",
      (v) => ({ clients: [{ clientId: "a", clientSecret: "b", roles: [], quota: { limit: v, windowSeconds: 1 } }] }),
      "must be a number of requests (an integer >= 1)"
    ],
    ["faults.hang", (v) => ({ faults: { hang: v } }), "must be a probability between 0 and 1"],
    [
      "faults.latency.maxMs",
      (v) => ({ faults: { latency: { maxMs: v } } }),
      "must be a number of milliseconds (an integer >= 0)"
    ],
    [
      "faults.serverError.statuses[0]",
      (v) => ({ faults: { serverError: { statuses: [v] } } }),
      "must be one of 500, 502, 503, 504"
    ],
    [
      "faults.windows[0].kind",
      (v) => ({ faults: { windows: [{ kind: v, durationSeconds: 1 }] } }),
      `must be one of "scaling-up", "outage"`
    ],
    [
      "clients[0].clientSecret",
      (v) => ({ clients: [{ clientId: "a", clientSecret: v, roles: [] }] }),
      "must be a string of 1 to 255 characters"
    ],
    [
      "clients[0].roles[0]",
      (v) => ({ clients: [{ clientId: "a", clientSecret: "b", roles: [v] }] }),
      "must be an OAuth scope token (printable ASCII, no spaces, quotes or backslashes)"
    ]
  ]

  it("a crafted value in any setting gives the typed error naming that setting", () => {
    for (const [name, value] of crafted) {
      for (const [path, place, message] of settings) {
        // "NaN" is a fine host name, secret or role.
        if (typeof value === "string" && ["host", "clients[0].clientSecret", "clients[0].roles[0]"].includes(path)) {
          continue
        }
        expect({ name, issues: rejected(place(value)).issues }).toEqual({ name, issues: [{ path, message }] })
      }
    }
  })

  it("a crafted config that is not an object gives the typed error", () => {
    for (
      const input of [
        null,
        [],
        [{ port: 1 }],
        5,
        "port=8080",
        true,
        JSON.parse(`${"[".repeat(5000)}${"]".repeat(5000)}`)
      ]
    ) {
      expect(rejected(input).issues).toEqual([{ path: "(config)", message: notAnObject }])
    }
    for (const key of ["toString", "valueOf", "constructor", "__proto__", "hasOwnProperty"]) {
      expect(rejected(objectOf([[key, { toString: {} }]])).issues).toEqual([
        { path: key, message: "is not a known setting (check its spelling)" }
      ])
    }
  })

  it("input whose properties throw when read gives the typed error", () => {
    const input = Object.defineProperty({}, "port", {
      enumerable: true,
      get: () => {
        throw new Error(CANARY)
      }
    })
    const error = rejected(input)
    expect(error.issues).toEqual([
      { path: "(config)", message: "could not be read: reading one of its properties threw (pass plain JSON data)" }
    ])
    for (const rendering of renderings(error)) expect(rendering).not.toContain(CANARY)
  })

  it("property: arbitrary JSON never throws, never quotes a planted secret, and always explains itself", () => {
    const keys = [
      "preset",
      "host",
      "port",
      "seed",
      "clients",
      "tokens",
      "quota",
      "retryAfterFormat",
      "rateLimitHeaders",
      "quotaResponse",
      "maxBodyBytes",
      "defaultPageSize",
      "maxPageSize",
      "idempotencyKeyTtlSeconds",
      "faults",
      "clientId",
      "clientSecret",
      "secret",
      "client_secret",
      "roles",
      "lifetimeSeconds",
      "requestLimit",
      "limit",
      "windowSeconds",
      "algorithm",
      "burst",
      "alignMillis",
      "serverError",
      "unavailable",
      "hang",
      "stall",
      "resetBefore",
      "resetAfter",
      "latency",
      "windows",
      "tokenEndpoint",
      "probability",
      "statuses",
      "htmlRatio",
      "retryAfterSeconds",
      "minMs",
      "maxMs",
      "kind",
      "startAfterSeconds",
      "durationSeconds",
      "repeatEverySeconds",
      "toString",
      "valueOf",
      "constructor",
      "name",
      "__proto__"
    ]
    const key = fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 }))
    const secret = fc.oneof(
      fc.constant(CANARY),
      fc.string({ maxLength: 4 }).map((s) => `${s}${CANARY}`),
      fc.constant(`${CANARY} x`),
      fc.constant(CANARY.repeat(20))
    )
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        secret,
        fc.jsonValue({ maxDepth: 1 }),
        tie("object"),
        tie("array")
      ),
      object: fc.array(fc.tuple(key, tie("value")), { maxLength: 5 }).map(objectOf),
      array: fc.array(tie("value"), { maxLength: 3 })
    }))
    // A planted value under one of the paths the schema looks into, so it gets past the top-level checks.
    const placed = fc.tuple(
      value,
      fc.constantFrom<ReadonlyArray<(v: unknown) => unknown>>(
        [(v) => v],
        [(v) => ({ clients: v })],
        [(v) => ({ clients: [v] })],
        [(v) => ({ clients: [{ clientId: "a", clientSecret: v, roles: [] }] })],
        [(v) => ({ clients: [{ clientId: "a", clientSecret: "b", roles: [v] }] })],
        [(v) => ({ tokens: v })],
        [(v) => ({ tokens: { requestLimit: v } })],
        [(v) => ({ quota: v })],
        [(v) => ({ quota: { limit: 5, windowSeconds: 1, algorithm: v } })],
        [(v) => ({ quota: { limit: 5, windowSeconds: 1, algorithm: "token-bucket", burst: v } })],
        [(v) => ({ quota: { limit: 5, windowSeconds: 1, alignMillis: v } })],
        [(v) => ({ clients: [{ clientId: "a", clientSecret: "b", roles: [], quota: v }] })],
        [(v) => ({ rateLimitHeaders: v, quotaResponse: v })],
        [(v) => ({ faults: v })],
        [(v) => ({ faults: { serverError: v } })],
        [(v) => ({ faults: { latency: v } })],
        [(v) => ({ faults: { windows: [v] } })],
        [(v) => ({ preset: "harsh", faults: { tokenEndpoint: v } })]
      )
    ).map(([v, [place]]) => place!(v))
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), value, placed), (input) => {
        const result = Effect.runSync(Effect.either(SandboxConfig.decodeUnknown(input)))
        if (Either.isRight(result)) return
        const error = result.left
        expect(error._tag).toBe("SandboxConfigError")
        expect(error.issues.length).toBeGreaterThan(0)
        for (const issue of error.issues) {
          expect(issue.message).not.toMatch(/^(is not valid here|could not be read)/)
        }
        for (const rendering of [error.message, JSON.stringify(error), Util.inspect(error, { depth: null })]) {
          expect(rendering).not.toContain(CANARY)
        }
      }),
      { seed: 42, numRuns: 1000 }
    )
  })
})
