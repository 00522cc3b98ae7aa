import { BearerChallenge } from "@bulwark/auth-token"
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as fc from "fast-check"

describe("BearerChallenge", () => {
  it("reads the RFC 6750 examples", () => {
    expect(BearerChallenge.parse(`Bearer realm="example"`)).toEqual(
      Option.some({
        realm: "example",
        error: undefined,
        errorDescription: undefined,
        errorUri: undefined,
        scope: undefined
      })
    )
    const expired = BearerChallenge.parse(
      `Bearer realm="example", error="invalid_token", error_description="The access token expired"`
    )
    expect(Option.map(expired, (c) => [c.error, c.errorDescription])).toEqual(
      Option.some(["invalid_token", "The access token expired"])
    )
  })

  it("decides what a challenge asks of the client", () => {
    expect(BearerChallenge.action(undefined)).toBe("none")
    expect(BearerChallenge.action(`Basic realm="x"`)).toBe("none")
    expect(BearerChallenge.action(`Bearer`)).toBe("refresh")
    expect(BearerChallenge.action(`Bearer error="invalid_token"`)).toBe("refresh")
    expect(BearerChallenge.action(`Bearer error="insufficient_scope", scope="items:write"`)).toBe("insufficient-scope")
    expect(BearerChallenge.action(`bearer error=insufficient_scope`)).toBe("insufficient-scope")
    expect(BearerChallenge.action(`Bearer error="invalid_request"`)).toBe("invalid-request")
  })

  it("handles several challenges, escapes, token68 and odd spacing", () => {
    const all = BearerChallenge.parseAll(
      `Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", Bearer  error = "invalid_token" ,scope="a b"`
    )
    expect(all.map((c) => c.scheme)).toEqual(["Newauth", "Basic", "Bearer"])
    expect(all[0]!.params).toEqual({ realm: "apps", type: "1", title: "Login to \"apps\"" })
    expect(all[2]!.params).toEqual({ error: "invalid_token", scope: "a b" })
    const token68 = BearerChallenge.parseAll("Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg==, Bearer")
    expect(token68.map((c) => [c.scheme, c.token68])).toEqual([["Negotiate", "YIIBhwYGKwYBBQUCoIIBezCCAXeg=="], [
      "Bearer",
      undefined
    ]])
  })

  it("never throws on any string (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (header) => {
        BearerChallenge.parseAll(header)
        BearerChallenge.action(header)
      }),
      { seed: 6750, numRuns: 3000 }
    )
  })

  it("round-trips generated challenges (property)", () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/)
    // Quoted strings may hold any visible character or space (RFC 9110 qdtext / quoted-pair).
    const value = fc.string({ maxLength: 30 }).filter((s) => [...s].every((c) => c >= " " && c !== "\u007f"))
    const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(token, fc.uniqueArray(fc.tuple(token, value), { selector: ([k]) => k.toLowerCase(), maxLength: 4 })),
          {
            minLength: 1,
            maxLength: 4
          }
        ),
        (challenges) => {
          const header = challenges
            .map(([scheme, params]) =>
              params.length === 0 ? scheme : `${scheme} ${params.map(([k, v]) => `${k}=${quote(v)}`).join(", ")}`
            )
            .join(", ")
          const parsed = BearerChallenge.parseAll(header)
          expect(parsed.map((c) => c.scheme)).toEqual(challenges.map(([scheme]) => scheme))
          parsed.forEach((c, i) => {
            expect(c.params).toEqual(Object.fromEntries(challenges[i]![1].map(([k, v]) => [k.toLowerCase(), v])))
          })
        }
      ),
      { seed: 9110, numRuns: 1000 }
    )
  })
})
