import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

// A brand-new project, as a user starts one: the packages packed as npm would publish them (the test target
// depends on every package's build), installed with the READMEs' own install lines (Bulwark's names pointing at
// the tarballs, every other package from the registry, preferring npm's cache), the README examples
// type-checked against the published declarations (NodeNext, strict) and the runnable ones run against the
// in-memory sandbox. It is what `npx publint` and `attw` cannot see: versions that do not resolve together, an
// example that only compiles against the sources, a declaration that needs a type its package does not ship.

const root = fileURLToPath(new URL("../../..", import.meta.url))
const readmeCheck = join(root, "tools", "readme-check")
const npm = process.platform === "win32" ? "npm.cmd" : "npm"

const packages = readdirSync(join(root, "packages")).filter((name) =>
  existsSync(join(root, "packages", name, "package.json")) &&
  JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")).private !== true
).sort()

/** Every `npm install` line of every package README, Bulwark's own packages replaced by their tarballs. */
const installSpecs = (tarballs: ReadonlyMap<string, string>) => {
  const specs = new Set<string>()
  for (const name of packages) {
    const readme = readFileSync(join(root, "packages", name, "README.md"), "utf8")
    for (const line of readme.split("\n").filter((line) => /^\s*npm (install|i)\s/.test(line))) {
      for (const word of line.replace(/#.*$/, "").trim().split(/\s+/).slice(2)) {
        if (word.startsWith("-")) continue
        specs.add(word.startsWith("@bulwark/") ? tarballs.get(word) ?? word : word)
      }
    }
  }
  return [...specs]
}

const run = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20
    })
  } catch (error) {
    const { stderr, stdout } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`)
  }
}

describe("a brand-new consumer project", () => {
  it("installs the packed packages with the README install lines, type-checks and runs the README examples", () => {
    const dir = mkdtempSync(join(tmpdir(), "bulwark-consumer-"))
    try {
      // 1. Pack every published package, as `npm publish` would.
      const tarballDir = join(dir, "tarballs")
      mkdirSync(tarballDir)
      run(npm, [
        "pack",
        "--silent",
        ...packages.flatMap((name) => ["-w", `packages/${name}`]),
        "--pack-destination",
        tarballDir
      ], root)
      const tarballs = new Map(
        packages.map((name) => [`@bulwark/${name}`, join(tarballDir, `bulwark-${name}-${packageVersion(name)}.tgz`)])
      )
      for (const file of tarballs.values()) expect(existsSync(file), file).toBe(true)

      // 2. Install them with the READMEs' lines; the compiler, Node's types, `@types/ws` (see below) and the test
      //    framework the README tests use.
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      const specs = installSpecs(tarballs)
      run(npm, [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...specs,
        "typescript@~5.9",
        "@types/node@^20",
        "@types/ws@^8",
        "@effect/vitest@^0.30",
        "vitest@~3.2"
      ], dir)
      const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as {
        packages: Record<string, { resolved?: string; version?: string }>
      }
      // Every @bulwark package comes from a tarball, never from the registry; one copy of effect.
      const bulwark = Object.entries(lock.packages).filter(([path]) => path.includes("node_modules/@bulwark/"))
      expect(bulwark.map(([path]) => path).sort()).toEqual(packages.map((name) => `node_modules/@bulwark/${name}`))
      for (const [path, entry] of bulwark) expect(entry.resolved, path).toMatch(/^file:/)
      const effects = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/effect$/.test(path))
      expect(effects.map(([, entry]) => entry.version)).toEqual([expect.stringMatching(/^3\./)])

      // A library user never loads @effect/cli: it is reachable only from the ./cli entry points.
      for (const name of packages) {
        const reached = bareImports(join(dir, "node_modules", "@bulwark", name))
        expect([...reached].some((specifier) => specifier.startsWith("effect")), `@bulwark/${name} read`).toBe(true)
        expect([...reached].filter((specifier) => specifier.startsWith("@effect/cli")), `@bulwark/${name}`).toEqual([])
      }

      // 3. The README examples, extracted by tools/readme-check, with its harness for the runnable ones.
      run(process.execPath, [join(readmeCheck, "extract.mjs")], root)
      cpSync(join(readmeCheck, "generated"), join(dir, "generated"), { recursive: true })
      cpSync(join(readmeCheck, "src"), join(dir, "src"), { recursive: true })
      const compilerOptions = {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        moduleDetection: "force",
        strict: true,
        // A consumer that checks every declaration: @effect/platform-node's declarations import `ws`, whose types
        // are `@types/ws` (the READMEs say so); nothing of Bulwark's own needs a lib check skipped.
        skipLibCheck: false,
        outDir: "out",
        rootDir: ".",
        types: ["node"]
      }
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src", "generated"] }))
      run(process.execPath, [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "."], dir)

      // 4. Run the runnable ones against the in-memory sandbox.
      writeFileSync(
        join(dir, "run.mjs"),
        `import { readdirSync } from "node:fs"
import { Effect, Exit } from "effect"
const Harness = await import("./out/src/Harness.js")
const results = []
for (const file of readdirSync("out/generated").filter((f) => f.endsWith(".run.js")).sort()) {
  const module = await import("./out/generated/" + file)
  const exit = await Effect.runPromiseExit((module.main ?? module.program ?? module.check).pipe(Effect.withConfigProvider(Harness.config)))
  results.push({ file, ok: Exit.isSuccess(exit), cause: Exit.isFailure(exit) ? String(exit.cause) : undefined })
}
await Harness.dispose()
console.log(JSON.stringify(results))
`
      )
      const results = JSON.parse(run(process.execPath, ["run.mjs"], dir).trim().split("\n").at(-1)!) as ReadonlyArray<
        { readonly file: string; readonly ok: boolean; readonly cause?: string }
      >
      expect(results.length).toBeGreaterThan(0)
      for (const result of results) expect(result, result.cause).toMatchObject({ ok: true })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})

/** The bare imports reachable from a package's main entry point, following its relative imports. */
const bareImports = (packageDir: string): Set<string> => {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    exports: { ".": { default: string } }
  }
  const seen = new Set<string>()
  const bare = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = readFileSync(file, "utf8")
    for (const [, specifier] of code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"']*?from\s*["']([^"']+)["']/g)) {
      if (specifier!.startsWith(".")) visit(join(dirname(file), specifier!))
      else bare.add(specifier!)
    }
  }
  visit(join(packageDir, manifest.exports["."].default))
  return bare
}

const packageVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as { version: string }).version
