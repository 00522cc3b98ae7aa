// Measures the sandbox's throughput with faults off: starts the built CLI (`npm run build` first) on a free
// loopback port, fetches a token, creates one item, then runs autocannon against GET /v1/items/:id.
//
//   node scripts/bench.mjs [seconds=10] [connections=32]     (or: npx nx run @bulwark/sandbox:bench, which builds first)
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const seconds = Number(process.argv[2] ?? 10)
const connections = Number(process.argv[3] ?? 32)
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

const child = spawn(process.execPath, [bin, "--port", "0", "--faults", "none"], {
  stdio: ["ignore", "pipe", "inherit"]
})
const url = await new Promise((resolve, reject) => {
  let out = ""
  child.stdout.on("data", (chunk) => {
    out += chunk
    const match = /listening on (http:\/\/\S+)/.exec(out)
    if (match) resolve(match[1])
  })
  child.on("exit", (code) => reject(new Error(`the sandbox exited with ${code}`)))
})

try {
  const credentials = Buffer.from("bulwark-demo:sandbox-demo-secret").toString("base64")
  const tokenResponse = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${credentials}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials"
  })
  const { access_token: token } = await tokenResponse.json()
  const created = await fetch(`${url}/v1/items`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sku: "BENCH-1", name: "Bench item", price: 1 })
  })
  const { id } = await created.json()

  const result = await autocannon({
    url: `${url}/v1/items/${id}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` }
  })
  const non2xx = result.non2xx + result.errors + result.timeouts
  console.log(
    `GET /v1/items/:id, ${connections} connections, ${seconds} s: ${Math.round(result.requests.average)} req/s ` +
      `(${result.requests.total} requests, ${non2xx} not 2xx/errors), latency p50 ${result.latency.p50} ms, ` +
      `p99 ${result.latency.p99} ms, max ${result.latency.max} ms`
  )
} finally {
  child.kill("SIGINT")
}
