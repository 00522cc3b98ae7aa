// Wall time of simulated traffic: 30 simulated minutes at 20 calls/s (about 36,000 calls) against the
// `realistic` sandbox, through the standard pipeline with the circuit breaker, 20 ms round trip.
// Goal: under 10 s of wall time on the CI machine.
//
// Baseline, measured in the same run: the same traffic through the bare in-memory transport with a fixed
// bearer token (no retries, timeouts, classification or breaker), i.e. the floor set by the sandbox, the
// transport and the virtual-time machinery.
//
// Usage: node bench/speed.mjs [minutes=30] [runs=3]
import { SandboxConfig } from "@bulwark/sandbox"
import { Simulation } from "@bulwark/simulation"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"

const minutes = Number(process.argv[2] ?? 30)
const runs = Number(process.argv[3] ?? 3)

const bareWithToken = ({ sandbox, transport }) =>
  Effect.gen(function*() {
    const response = yield* transport.execute(
      HttpClientRequest.post(sandbox.tokenUrl).pipe(
        HttpClientRequest.basicAuth(SandboxConfig.demoClient.clientId, SandboxConfig.demoClient.clientSecret),
        HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
      )
    )
    const { access_token } = yield* response.json
    return HttpClient.mapRequest(transport, HttpClientRequest.bearerToken(access_token))
  })

const variants = {
  "standard pipeline + breaker": { circuitBreaker: true },
  // Token lifetime beyond the run: the bare client cannot refresh.
  "baseline: bare transport": { pipeline: bareWithToken, sandboxOverrides: { tokens: { lifetimeSeconds: 86_400 } } }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const results = {}
for (let run = 0; run < runs; run++) {
  for (const [name, { sandboxOverrides, ...variant }] of Object.entries(variants)) {
    if (name.startsWith("baseline") && run > 0) continue
    const started = performance.now()
    const report = await Effect.runPromise(Simulation.run({
      seed: 7,
      sandbox: { preset: "realistic", ...sandboxOverrides },
      traffic: { rate: 20, duration: `${minutes} minutes` },
      ...variant
    }))
    const wallMs = performance.now() - started
    ;(results[name] ??= []).push({ wallMs, calls: report.calls.total, simulated: report.simulatedSeconds })
    console.log(
      `${name}, run ${run + 1}: ${report.calls.total} calls, ${report.attempts.total} attempts, ` +
        `${(wallMs / 1000).toFixed(2)} s wall for ${report.simulatedSeconds} s simulated ` +
        `(${(report.simulatedSeconds * 1000 / wallMs).toFixed(0)}x real time, ${
          (wallMs * 1000 / report.calls.total).toFixed(0)
        } µs/call)`
    )
  }
}
const standard = median(results["standard pipeline + breaker"].map((r) => r.wallMs))
const baseline = results["baseline: bare transport"][0].wallMs
console.log(
  `\nmedian ${(standard / 1000).toFixed(2)} s for ${minutes} simulated minutes ` +
    `(${(minutes * 60_000 / standard).toFixed(0)}x real time; goal: under 10 s for 30 minutes); ` +
    `${(standard / baseline).toFixed(2)}x the bare-transport baseline of ${(baseline / 1000).toFixed(2)} s`
)
