import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

// Every install line names the Effect versions that work together (npm's `latest` for effect is 4.x, whose
// platform packages refuse effect 3), and names every package its README's examples import.

const root = fileURLToPath(new URL("../../..", import.meta.url))
const readmes = ["packages", "apps", "tools"].flatMap((group) =>
  readdirSync(join(root, group)).map((name) => join(group, name, "README.md")).filter((file) =>
    existsSync(join(root, file))
  )
)

const pinned: Record<string, string> = {
  "effect": "^3.22",
  "@effect/platform": "^0.97",
  "@effect/platform-node": "^0.108",
  "@effect/cli": "^0.77",
  "@effect/opentelemetry": "^0.64"
}

/** The package a bare import specifier belongs to: `@effect/platform/HttpClient` -> `@effect/platform`. */
const packageOf = (specifier: string) =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!

const installLines = (text: string) =>
  text.split("\n").filter((line) => /^\s*npm (install|i)\s/.test(line)).map((line) => line.replace(/#.*$/, ""))

const specsOf = (line: string) =>
  line.trim().split(/\s+/).slice(2).filter((word) => !word.startsWith("-")).map((spec) => {
    const at = spec.lastIndexOf("@")
    return at > 0 ? { name: spec.slice(0, at), range: spec.slice(at + 1) } : { name: spec, range: undefined }
  })

const importsOf = (text: string) => {
  const blocks = [...text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((match) => match[1]!)
  const imports = blocks.flatMap((block) => [...block.matchAll(/^import .* from "([^".][^"]*)"/gm)].map((m) => m[1]!))
  // The test framework of the examples that are tests is the reader's own.
  return [...new Set(imports.map(packageOf))].filter((name) => name !== "@effect/vitest" && !name.startsWith("node:"))
}

describe("README install lines", () => {
  for (const readme of readmes) {
    const text = readFileSync(join(root, readme), "utf8")
    const lines = installLines(text)
    if (lines.length === 0) continue
    it(`${readme}: Effect packages pinned to the 3.x line, every imported package installed`, () => {
      const specs = lines.flatMap(specsOf)
      for (const spec of specs.filter((spec) => spec.name in pinned)) {
        expect({ name: spec.name, range: spec.range }).toEqual({ name: spec.name, range: pinned[spec.name] })
      }
      const installed = new Set(specs.map((spec) => spec.name))
      const missing = importsOf(text).filter((name) => !installed.has(name))
      expect(missing, `${readme} imports packages its install line does not name`).toEqual([])
    })
  }
})
