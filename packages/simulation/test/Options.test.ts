import { Simulation } from "@bulwark/simulation"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as fc from "fast-check"
import { parseDuration } from "../src/internal/options.js"

const units = [["h", 3_600_000], ["m", 60_000], ["s", 1_000], ["ms", 1]] as const

describe("durations", () => {
  it("reads the CLI's short forms and Effect's long ones", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["30m", 1_800_000],
      ["90s", 90_000],
      ["2h", 7_200_000],
      ["1h30m", 5_400_000],
      ["250ms", 250],
      ["1.5m", 90_000],
      ["10 minutes", 600_000],
      ["2 hours", 7_200_000],
      [" 5s ", 5_000],
      ["0", 0]
    ]
    for (const [text, millis] of cases) {
      expect(Option.map(parseDuration(text), Duration.toMillis)).toEqual(Option.some(millis))
    }
    for (const text of ["", "soon", "5", "m5", "5 parsecs", "-3s", "1e400h"]) {
      expect(Option.isNone(parseDuration(text)) || !Duration.isFinite(Option.getOrThrow(parseDuration(text))))
        .toBe(true)
    }
  })

  it("property: any sum of hours, minutes, seconds and milliseconds reads back exactly", () => {
    fc.assert(
      fc.property(
        fc.subarray([0, 1, 2, 3], { minLength: 1 }),
        fc.array(fc.nat({ max: 10_000 }), { minLength: 4, maxLength: 4 }),
        (picked, amounts) => {
          const parts = picked.map((i) => [amounts[i]!, units[i]!] as const)
          const text = parts.map(([amount, [unit]]) => `${amount}${unit}`).join("")
          const expected = parts.reduce((total, [amount, [, millis]]) => total + amount * millis, 0)
          expect(Option.map(parseDuration(text), Duration.toMillis)).toEqual(Option.some(expected))
        }
      ),
      { seed: 20261125, numRuns: 1000 }
    )
  })

  it("property: arbitrary text never throws", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        expect(Option.isOption(parseDuration(text))).toBe(true)
      }),
      { seed: 7, numRuns: 2000 }
    )
  })

  it.live("the API takes the same forms", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ traffic: { rate: 1, duration: "1m30s", arrival: "uniform" } })
      expect(report.calls.total).toBe(90)
    }))
})
