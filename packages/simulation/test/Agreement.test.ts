import { ApiClient } from "@bulwark/http-client"
import { Sandbox, SandboxConfig } from "@bulwark/sandbox"
import { Simulation } from "@bulwark/simulation"
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"

const CALLS = 150
const SEED = 5

// Faults that depend on the request's index only (not on time), so the same sequence of requests meets the same
// faults over TCP, in real time, and in memory, in virtual time.
const sandbox: SandboxConfig.Input = {
  seed: SEED,
  faults: {
    serverError: { probability: 0.15, statuses: [500, 502, 503, 504], htmlRatio: 0.5 },
    resetBefore: 0.05,
    resetAfter: 0.05
  }
}
// Short backoff, so the real-time run is quick; the counts do not depend on the delays.
const client = { retry: { base: "1 millis", cap: "5 millis" } } satisfies Simulation.Options["client"]

const tally = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

/** The same calls, one after the other, through the standard pipeline over real HTTP to a TCP sandbox. */
const overTcp = (writes: boolean) =>
  Effect.gen(function*() {
    const server = yield* Sandbox.Sandbox
    const api = yield* ApiClient.make({
      ...client,
      baseUrl: server.url,
      auth: {
        tokenUrl: server.tokenUrl,
        clientId: SandboxConfig.demoClient.clientId,
        clientSecret: Redacted.make(SandboxConfig.demoClient.clientSecret)
      }
    })
    let succeeded = 0
    const errors: Record<string, number> = {}
    for (let index = 0; index < CALLS; index++) {
      const request = writes
        ? HttpClientRequest.post(`${server.url}/v1/items`).pipe(
          HttpClientRequest.bodyUnsafeJson({ sku: `SIM-${SEED}-${index}`, name: `Simulated item ${index}`, price: 1 })
        )
        : HttpClientRequest.get(`${server.url}/v1/items`, { urlParams: { limit: "10" } })
      const exit = yield* Effect.exit(Effect.flatMap(api.client.execute(request), (response) => response.text))
      if (Exit.isSuccess(exit)) succeeded++
      else tally(errors, exit.cause._tag === "Fail" ? (exit.cause.error as { _tag: string })._tag : "Defect")
    }
    const stats = yield* server.stats
    return { succeeded, errors, stats }
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(Sandbox.layer(sandbox), NodeHttpClient.layerUndici)))

describe("the simulation agrees with real HTTP", () => {
  for (const writes of [false, true]) {
    it.live(
      `same seed, same counts: ${CALLS} ${writes ? "writes" : "reads"} with 5xx and connection resets`,
      () =>
        Effect.gen(function*() {
          const simulated = yield* Simulation.run({
            seed: SEED,
            sandbox,
            client,
            latency: 0,
            traffic: {
              rate: 1,
              duration: `${CALLS} seconds`,
              arrival: "uniform",
              concurrency: 1,
              writeRatio: writes ? 1 : 0
            }
          })
          const real = yield* overTcp(writes)
          expect(simulated.calls.total).toBe(CALLS)
          expect(simulated.calls.succeeded).toBe(real.succeeded)
          expect(simulated.errors).toEqual(real.errors)
          const route = writes ? "POST /v1/items" : "GET /v1/items"
          expect(simulated.received[route]).toEqual(real.stats.requests[route])
          expect(simulated.received["POST /oauth/token"]).toEqual(real.stats.requests["POST /oauth/token"])
          expect(simulated.faultsInjected).toEqual(
            Object.fromEntries(Object.entries(real.stats.faultsInjected).filter(([, count]) => count > 0))
          )
          expect(simulated.writes).toEqual({
            created: real.stats.itemsCreated,
            duplicateSkus: real.stats.duplicateSkus,
            replayedByIdempotencyKey: real.stats.duplicateCreationsPrevented
          })
          // Not a vacuous agreement: the faults happened and were retried.
          expect(simulated.attempts.total).toBeGreaterThan(CALLS * 1.1)
          expect(simulated.faultsInjected.resetAfter).toBeGreaterThan(0)
        }),
      60_000
    )
  }
})
