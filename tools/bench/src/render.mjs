// Re-renders RESULTS.md and charts/*.svg from results.json (after a change to the report's layout).
import { readFile, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { charts, markdown } from "./report.mjs"

const root = fileURLToPath(new URL("..", import.meta.url))
const results = JSON.parse(await readFile(`${root}results.json`, "utf8"))
const svg = charts(results)
await writeFile(`${root}charts/amplification.svg`, svg.amplification)
await writeFile(`${root}charts/latency.svg`, svg.latency)
await writeFile(`${root}RESULTS.md`, markdown(results))
