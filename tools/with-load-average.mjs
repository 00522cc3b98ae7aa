#!/usr/bin/env node
// Runs a benchmark command and prints the machine's load average before and after it, so every figure can be
// reported with the load it was measured under (benchmarks must run alone: `npm run bench` runs them one after
// another). Usage: node tools/with-load-average.mjs <command> [args...]
import { spawnSync } from "node:child_process"
import * as Os from "node:os"

const loadAverage = () => Os.loadavg().map((x) => x.toFixed(2)).join(", ")
const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  console.error("usage: node tools/with-load-average.mjs <command> [args...]")
  process.exit(2)
}
const name = process.env.npm_package_name ?? process.cwd()
console.error(`[bench] ${name}: load average at start ${loadAverage()} (${Os.cpus().length} cores)`)
const result = spawnSync(command, args, { stdio: "inherit" })
console.error(`[bench] ${name}: load average at end ${loadAverage()}`)
process.exit(result.status ?? 1)
