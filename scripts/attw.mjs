// Runs `attw --pack . --profile esm-only` in the current package and prints one line when the only findings are
// the ones an ESM-only package expects (node10 cannot resolve it; require() of it is ESM). Anything else prints
// attw's full table and fails.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"

const ignored = new Set(["node10", "node16-cjs"])
const args = ["attw", "--pack", ".", "--profile", "esm-only"]
const run = (format) =>
  spawnSync("npx", [...args, "--format", format, "--no-color"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })

const { name } = JSON.parse(readFileSync("package.json", "utf8"))
const result = run("json")
let report
try {
  report = JSON.parse(result.stdout)
} catch {
  process.stdout.write(result.stdout)
  process.stderr.write(result.stderr)
  console.error(`attw: could not read its JSON report for ${name}`)
  process.exit(1)
}
const problems = Object.values(report.problems ?? {}).flat()
const unexpected = problems.filter((problem) => !ignored.has(problem.resolutionKind))
const entrypoints = Object.keys(report.analysis?.entrypoints ?? {})
if (unexpected.length > 0 || (result.status !== 0 && problems.length === 0)) {
  const table = run("table")
  process.stdout.write(table.stdout)
  process.stderr.write(table.stderr)
  process.exit(table.status === 0 ? 1 : table.status ?? 1)
}
console.log(
  `attw: ${name}: ${entrypoints.length} entrypoint(s) (${entrypoints.join(", ")}) resolve for node16 (ESM) and ` +
    `bundlers; the ${problems.length} node10 / require() finding(s) are expected of an ESM-only package`
)
