// Wall time of simulated traffic: 30 simulated minutes at 20 calls/s (36,000 calls) against the `realistic`
// sandbox with the standard pipeline and the circuit breaker. Goal: under 10 s on the CI machine.
// Usage: node bench/speed.mjs [minutes] [runs]
import { Simulation } from "@bulwark/simulation"
import { Effect } from "effect"

const minutes = Number(process.argv[2] ?? 30)
const runs = Number(process.argv[3] ?? 3)
const results = []
for (let run = 0; run < runs; run++) {
  const started = performance.now()
  const report = await Effect.runPromise(Simulation.run({
    seed: 7,
    sandbox: { preset: "realistic" },
    circuitBreaker: true,
    traffic: { rate: 20, duration: `${minutes} minutes` }
  }))
  const wallMs = performance.now() - started
  results.push(wallMs)
  console.log(
    `run ${run + 1}: ${report.calls.total} calls, ${report.attempts.total} attempts in ${(wallMs / 1000).toFixed(2)} s ` +
      `of wall time for ${report.simulatedSeconds} simulated s: ${(report.simulatedSeconds * 1000 / wallMs).toFixed(0)}x ` +
      `real time, ${(wallMs * 1000 / report.calls.total).toFixed(0)} µs per call`
  )
}
const sorted = [...results].sort((a, b) => a - b)
console.log(`median ${(sorted[Math.floor(sorted.length / 2)] / 1000).toFixed(2)} s (goal: under 10 s for 30 minutes)`)
