import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import { orderTable } from "../src/internal/pipeline.js"

// The order of the standard pipeline is written once, in `pipeline.ts`; the README and the `Plugins` module show
// the table rendered from it. When this fails, paste the table it prints.

const read = (path: string) => Fs.readFileSync(new URL(path, import.meta.url), "utf8")

describe("the pipeline order is written once", () => {
  it("the README shows the order table rendered from the list", () => {
    const table = orderTable()
    const readme = read("../README.md")
    if (!readme.includes(table)) console.log(`Expected in README.md:\n\n${table}\n`)
    expect(readme.includes(table)).toBe(true)
  })

  it("the Plugins module's JSDoc shows the same table", () => {
    const table = orderTable().split("\n").map((line) => ` * ${line}`).join("\n")
    const plugins = read("../src/Plugins.ts")
    if (!plugins.includes(table)) console.log(`Expected in src/Plugins.ts:\n\n${table}\n`)
    expect(plugins.includes(table)).toBe(true)
  })
})
