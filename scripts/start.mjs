// `npm start`: bundle the main job (apps/catalog-sync) from sources through Nx, which caches the bundle, then
// run it with the arguments given after `npm start --`. Only the bundle is built: no type-checking, no
// declarations (that is `npm test`'s job), so a fresh clone starts in seconds.
import { spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const started = performance.now()
console.log(
  "npm start: bundling apps/catalog-sync from sources (once: Nx caches the bundle until a source changes) ..."
)
const build = spawnSync(
  process.platform === "win32" ? "npx.cmd" : "npx",
  ["nx", "run", "@bulwark/catalog-sync:bundle", "--output-style=static"],
  { cwd: root, stdio: "inherit", env: { NX_TUI: "false", ...process.env } }
)
if (build.status !== 0) {
  console.error("npm start: the bundle failed (see above); `npm test` type-checks and tests everything.")
  process.exit(build.status ?? 1)
}
console.log(`npm start: ready in ${((performance.now() - started) / 1000).toFixed(1)} s; running catalog-sync\n`)
// Paths in the arguments (--file, --report) are relative to where `npm start` was typed. SIGINT and SIGTERM are
// passed on to the job.
const child = spawn(
  process.execPath,
  ["--enable-source-maps", `${root}apps/catalog-sync/dist-start/catalog-sync.mjs`, ...process.argv.slice(2)],
  { cwd: process.env.INIT_CWD ?? root, stdio: "inherit" }
)
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)))
