import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { readFileSync } from "node:fs"
import * as ReadmeHarness from "../src/Harness.js"

interface Entry {
  readonly name: string
  readonly readme: string
  readonly line: number
  readonly kind: "run" | "typecheck" | "test"
  readonly notRun?: string
}

const manifest = JSON.parse(
  readFileSync(new URL("../generated/manifest.json", import.meta.url), "utf8")
) as ReadonlyArray<Entry>

describe("README examples, run against the in-memory sandbox", () => {
  it("every README's TypeScript blocks were extracted (the typecheck target checks them all)", () => {
    expect(manifest.length).toBeGreaterThan(15)
    for (const entry of manifest.filter((entry) => entry.notRun !== undefined)) {
      console.log(`not run: ${entry.readme}:${entry.line}: ${entry.notRun}`)
    }
  })

  for (const entry of manifest.filter((entry) => entry.kind === "run")) {
    it.live(`${entry.readme}, the block at line ${entry.line}, runs to completion`, () =>
      Effect.gen(function*() {
        const module = (yield* Effect.promise(() => import(`../generated/${entry.name}.run.ts`))) as Record<
          string,
          unknown
        >
        const program = (module.main ?? module.program ?? module.check) as Effect.Effect<unknown, unknown, never>
        expect(Effect.isEffect(program)).toBe(true)
        const exit = yield* program.pipe(Effect.withConfigProvider(ReadmeHarness.config), Effect.exit)
        if (Exit.isFailure(exit)) expect.fail(`the example failed: ${String(exit.cause)}`)
      }), 60_000)
  }
})
