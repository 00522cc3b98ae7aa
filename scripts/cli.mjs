// The CLIs the READMEs show, run from a clone: `npm run sandbox -- ...`, `npm run simulate -- ...` and
// `npm run policy -- ...` (or `node scripts/cli.mjs bulwark-sandbox ...`). They never go through `npx bulwark-*`, which in a clone (where
// `npm ci` links no bin: dist/ does not exist yet) would fetch whatever the public registry has under that name.
// The first run builds the packages with Nx (its output goes to stderr, so that stdout stays the command's:
// `npm run --silent simulate -- --html > page.html`); Nx's cache makes the next runs start at once.
import { spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const bins = {
  "bulwark-sandbox": { project: "@bulwark/sandbox", path: "packages/sandbox/dist/bin.js" },
  "bulwark-simulate": { project: "@bulwark/simulation", path: "packages/simulation/dist/bin.js" },
  "bulwark-policy": { project: "@bulwark/policy", path: "packages/policy/dist/bin.js" }
}
const [name, ...args] = process.argv.slice(2)
// The sandbox's `simulate` subcommand needs the simulation (and the client it simulates) built too; serving the
// sandbox needs only the sandbox.
const bin = name === "bulwark-sandbox" && args[0] === "simulate"
  ? { ...bins[name], project: "@bulwark/simulation" }
  : bins[name]
if (bin === undefined) {
  console.error(`scripts/cli.mjs: unknown command ${name}; use one of: ${Object.keys(bins).join(", ")}`)
  process.exit(2)
}
const root = fileURLToPath(new URL("..", import.meta.url))
process.stderr.write(`${name}: building ${bin.project} and what it needs (once; Nx caches it) ...\n`)
const build = spawnSync(
  process.platform === "win32" ? "npx.cmd" : "npx",
  ["nx", "run", `${bin.project}:build`, "--output-style=static"],
  { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { NX_TUI: "false", ...process.env }, encoding: "utf8" }
)
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? "")
  process.stderr.write(`${name}: the build failed (see above)\n`)
  process.exit(build.status ?? 1)
}
// Paths in the arguments (--config, --client) are relative to where `npm run` was typed. SIGINT and SIGTERM are
// passed on, so that stopping `npm run sandbox` stops the sandbox rather than orphaning it.
const child = spawn(process.execPath, [fileURLToPath(new URL(`../${bin.path}`, import.meta.url)), ...args], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdio: "inherit"
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)))
