// `npm run bench`: runs every scenario against every contender and writes RESULTS.md, results.json and
// charts/*.svg next to this package's package.json.
//
//   node --expose-gc src/run.mjs [--scale=1] [--only=overhead,noise,outage,rateLimit,quotaHeaders,quotaFixed,
//     quotaBucket,quotaBare,tokenExpiry,memory] [--contenders=bulwark,got] [--out=/tmp/bench]
//
// Uses the built workspace packages (dist/): the Nx target depends on `^build`.
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { contenders as allContenders } from "./contenders.mjs"
import { charts, markdown } from "./report.mjs"
import * as Scenarios from "./scenarios.mjs"

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")))
const scale = Number(args.scale ?? 1)
const only = args.only ? new Set(args.only.split(",")) : undefined
const n = (x) => Math.max(1, Math.round(x * scale))
// `--contenders=bulwark,got` runs only those (a quick comparison while tuning).
const contenders = args.contenders
  ? allContenders.filter((c) => args.contenders.split(",").includes(c.name))
  : allContenders
const quotaSeconds = Math.max(5, Math.round(30 * scale))

const plan = {
  overhead: () => Scenarios.overhead({ contenders, calls: n(3000), rounds: 3 }),
  noise: () => Scenarios.noise({ contenders, calls: n(3000) }),
  outage: () => Scenarios.outage({ contenders, ratePerSecond: 25, startS: 1, outageS: 6, afterS: 6 }),
  rateLimit: () => Scenarios.rateLimit({ contenders, limit: 50, durationS: 6 }),
  quotaHeaders: () => Scenarios.quota({ contenders, variant: "headers", durationS: quotaSeconds }),
  quotaFixed: () => Scenarios.quota({ contenders, variant: "fixed", durationS: quotaSeconds }),
  quotaBucket: () => Scenarios.quota({ contenders, variant: "bucket", durationS: quotaSeconds }),
  quotaBare: () => Scenarios.quota({ contenders, variant: "bare", durationS: quotaSeconds }),
  fleet: () => Scenarios.fleet({ variant: "fixed", processes: 8, durationS: quotaSeconds }),
  tokenExpiry: () => Scenarios.tokenExpiry({ contenders, calls: n(1000), timeoutMs: 2000 }),
  tokenExpiry10s: () => Scenarios.tokenExpiry({ contenders, calls: n(1000), timeoutMs: 10_000 }),
  memory: () =>
    Scenarios.memory({
      contenders: contenders.filter((c) => ["bulwark", "platform", "undici"].includes(c.name)),
      calls: n(30_000)
    })
}

const started = performance.now()
const scenarios = {}
for (const [name, run] of Object.entries(plan)) {
  if (only && !only.has(name)) continue
  console.error(`[bench] scenario ${name}`)
  scenarios[name] = await run()
}

const results = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    os: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    cpu: Os.cpus()[0]?.model ?? "unknown CPU",
    cores: Os.cpus().length,
    memoryGiB: Number((Os.totalmem() / 2 ** 30).toFixed(1)),
    seed: 42,
    scale,
    totalSeconds: Math.round((performance.now() - started) / 1000),
    gcExposed: typeof globalThis.gc === "function",
    scaledDown: [
      `Overhead: ${
        n(3000).toLocaleString("en-US")
      } calls × 3 alternating rounds per contender (median), instead of 20,000 calls, so the whole run fits in a few minutes on 2 cores.`,
      "Outage: 6 s of 100% 503 (after 1 s of normal traffic, then 6 s of recovery) instead of 20 s.",
      `Rate limit: R = 50 requests/s for 6 s; token expiry: ${
        n(1000).toLocaleString("en-US")
      } concurrent calls (as the issue asks), run twice: with the 2 s per-attempt timeout of the other scenarios (5a) and with the usual 10 s (5b).`,
      `Memory: ${
        n(30_000).toLocaleString("en-US")
      } calls per contender (Bulwark, bare platform client and raw undici only) instead of 200,000.`,
      "Per-attempt timeout 2 s for every contender (instead of the usual 10 s) so hung responses keep the run bounded; scenario 5b repeats 5a with 10 s because 1,000 simultaneous calls saturate this 2-core machine and a 2 s timeout then fires on queueing, not on a hung server."
    ],
    notes: [
      "The sandbox counts a request as *early* only after a 429 it sent to that client (a 503's Retry-After is about one request, not the client), so scenario 3's `Retry-After: 2` on 503s is not counted as early by anyone.",
      "got, ky and cockatiel/p-retry run over their own HTTP stacks (got: node:http with a keep-alive agent; ky, cockatiel, p-retry: Node's global fetch); Bulwark and the bare platform client over @effect/platform-node's undici client; raw undici over its own Agent."
    ]
  },
  contenders: contenders.map(({ config, label, name }) => ({ name, label, config })),
  scenarios
}

// A partial run may write elsewhere (`--out=dir`) so it does not replace the committed full results.
const root = args.out ? `${args.out.replace(/\/$/, "")}/` : fileURLToPath(new URL("..", import.meta.url))
await mkdir(root, { recursive: true })
await mkdir(`${root}charts`, { recursive: true })
const svg = charts(results)
await writeFile(`${root}charts/amplification.svg`, svg.amplification)
await writeFile(`${root}charts/latency.svg`, svg.latency)
await writeFile(`${root}results.json`, JSON.stringify(results, null, 2) + "\n")
// The hedging benchmark (src/hedging.mjs) writes its own section; a full run keeps it.
const previous = await readFile(`${root}RESULTS.md`, "utf8").catch(() => "")
const hedging = /<!-- hedging:start -->[\s\S]*<!-- hedging:end -->/.exec(previous)?.[0]
await writeFile(
  `${root}RESULTS.md`,
  hedging === undefined ? markdown(results) : `${markdown(results).trimEnd()}\n\n${hedging}\n`
)
console.error(`[bench] wrote RESULTS.md, results.json, charts/ in ${results.meta.totalSeconds} s`)
// Clients' keep-alive sockets and the Effect runtime must not keep the process alive.
process.exit(0)
