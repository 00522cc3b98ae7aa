import { Scenario, Simulation } from "@bulwark/simulation"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

/** Every fault the sandbox has (hangs, stalls, resets, token endpoint 503s, quotas with HTTP-dates), writes too. */
const harsh: Simulation.Options = {
  seed: 11,
  sandbox: { preset: "harsh" },
  circuitBreaker: true,
  client: { attemptTimeout: "2 seconds" },
  traffic: { rate: 15, duration: "3 minutes", writeRatio: 0.3 }
}

describe("Simulation.run", () => {
  it.live(
    "the same seed gives the same report, byte for byte; another seed another report",
    () =>
      Effect.gen(function*() {
        const first = Simulation.toJson(yield* Simulation.run(harsh))
        const second = Simulation.toJson(yield* Simulation.run(harsh))
        expect(second).toBe(first)
        const other = Simulation.toJson(yield* Simulation.run({ ...harsh, seed: 12 }))
        expect(other).not.toBe(first)
        // The run exercised what makes determinism hard: hangs, resets, the traffic controller's pacing from the
        // quota's headers, breaker transitions, token refreshes.
        const report = JSON.parse(first) as Simulation.Report
        expect(report.faultsInjected.hang).toBeGreaterThan(0)
        expect(report.faultsInjected.resetAfter).toBeGreaterThan(0)
        // The quota advertises itself in headers: the client paces itself just under it; a Poisson burst still
        // meets a 429 now and then, and nothing is ever sent before its Retry-After.
        expect(report.rateLimit.responses429).toBeLessThan(20)
        expect(report.rateLimit.sentBeforeRetryAfter).toBe(0)
        expect(report.tokens.requests).toBeGreaterThan(2)
        expect(report.writes.duplicateSkus).toBe(0)
      }),
    120_000
  )

  it.live("counts calls, attempts and outcomes consistently", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ ...harsh, traffic: { ...harsh.traffic, duration: "1 minute" } })
      const { calls } = report
      expect(calls.succeeded + calls.failed + calls.unfinished).toBe(calls.total)
      // Hung responses were cut by the client's attempt timeout, armed on the virtual clock: nothing is left over.
      expect(report.received["GET /v1/items"]!.hung).toBeGreaterThan(0)
      expect(calls.unfinished).toBe(0)
      expect(Object.values(report.errors).reduce((a, b) => a + b, 0)).toBe(calls.failed)
      expect(Object.values(report.attempts.byStatus).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
        report.attempts.total
      )
      // What the API received on its resource routes is what the transport carried: every answered attempt
      // arrived; an attempt cut by its timeout during the simulated round trip may not have.
      const received = Object.entries(report.received)
        .filter(([route]) => route.includes("/v1/items"))
        .flatMap(([, outcomes]) => Object.values(outcomes))
        .reduce((a, b) => a + b, 0)
      const answered = Object.values(report.attempts.byStatus).reduce((a, b) => a + b, 0)
      expect(received).toBeLessThanOrEqual(report.attempts.total)
      expect(received).toBeGreaterThanOrEqual(answered)
      const timeline = report.timeline.points
      expect(timeline.reduce((total, point) => total + point.calls, 0)).toBe(calls.total)
      expect(timeline.reduce((total, point) => total + point.attempts, 0)).toBe(report.attempts.total)
      expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99)
      expect(report.latencyMs.p99).toBeLessThanOrEqual(report.latencyMs.max)
      expect(report.simulatedSeconds).toBeGreaterThanOrEqual(60)
    }), 60_000)

  it.live("takes a pipeline of one's own", () =>
    Effect.gen(function*() {
      // The bare transport: no token, so every call is a 401.
      const report = yield* Simulation.run({
        pipeline: ({ transport }) => Effect.succeed(transport),
        traffic: { rate: 10, duration: "10 seconds", arrival: "uniform" }
      })
      expect(report.setup.policy).toBe("custom pipeline")
      expect(report.calls.total).toBe(100)
      expect(report.errors).toEqual({ UnexpectedStatus: 100 })
      expect(report.attempts.byStatus).toEqual({ "401": 100 })
    }))

  it.live("arrivals: uniform, burst and a concurrency limit", () =>
    Effect.gen(function*() {
      const uniform = yield* Simulation.run({ traffic: { rate: 4, duration: "10 seconds", arrival: "uniform" } })
      expect(uniform.calls.total).toBe(40)
      const burst = yield* Simulation.run({
        traffic: { rate: 30, duration: "2 seconds", arrival: "burst", concurrency: 10 },
        latency: "100 millis",
        bucket: "1 second"
      })
      expect(burst.calls.total).toBe(60)
      // 30 at once, 10 at a time, 100 ms each: the last of a burst waits two rounds for a slot (the first
      // burst also waits 100 ms for the token).
      expect(burst.latencyMs.max).toBe(400)
      expect(burst.latencyMs.p50).toBe(200)
      // The time series, per simulated second as asked: every call of a burst arrives in its own second.
      expect(burst.timeline.bucketSeconds).toBe(1)
      expect(burst.timeline.points.map((point) => [point.t, point.calls, point.attempts])).toEqual([[0, 30, 30], [
        1,
        30,
        30
      ]])
    }))

  it.live("an invalid option fails with every problem listed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Simulation.run({
        traffic: { rate: -1, duration: "forever" as never, writeRatio: 2 }
      }))
      expect(error._tag).toBe("SimulationError")
      for (const word of ["traffic.rate", "traffic.duration", "traffic.writeRatio", "3 problems"]) {
        expect(error.message).toContain(word)
      }
      const sandbox = yield* Effect.flip(Simulation.run({
        sandbox: { faults: { hang: 3 } },
        traffic: { rate: 1, duration: "1 second" }
      }))
      expect(sandbox.message).toContain("faults.hang")
      const client = yield* Effect.flip(Simulation.run({
        client: { retry: { maxRetries: 99 } },
        traffic: { rate: 1, duration: "1 second" }
      }))
      expect(client.message).toContain("retry.maxRetries")
    }))

  it.live("a program that can only wait forever fails with an explanation instead of hanging", () =>
    Effect.gen(function*() {
      // Building this pipeline waits for a hung response with no timeout: nothing can ever wake it.
      const error = yield* Effect.flip(Simulation.run({
        sandbox: { faults: { hang: 1 } },
        pipeline: ({ sandbox, transport }) => Effect.as(transport.get(`${sandbox.url}/v1/items`), transport),
        traffic: { rate: 1, duration: "2 seconds" }
      }))
      expect(error._tag).toBe("SimulationError")
      expect(error.message).toContain("stuck")
      expect(error.message).toContain("set attemptTimeout")
    }))

  it.live("calls still running after the drain period are reported unfinished", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({
        sandbox: { faults: { hang: 1 } },
        client: { attemptTimeout: "10 minutes", deadline: "10 minutes" },
        traffic: { rate: 1, duration: "3 seconds", arrival: "uniform" },
        drain: "1 minute"
      })
      expect(report.calls).toMatchObject({ total: 3, succeeded: 0, failed: 0, unfinished: 3 })
    }))
})

describe("Simulation report formats", () => {
  it.live("text, JSON and a self-contained HTML page", () =>
    Effect.gen(function*() {
      const report = yield* Scenario.run("outage", { seed: 3, traffic: { duration: "8 minutes" } })
      const text = Simulation.toText(report)
      for (const part of ["Simulation: outage (seed 3)", "amplification", "timeline", "goals", "✓"]) {
        expect(text).toContain(part)
      }
      expect(JSON.parse(Simulation.toJson(report))).toEqual(report)
      const html = Simulation.toHtml(report)
      expect(html).toMatch(/^<!doctype html>/)
      expect(html).toContain("<svg")
      expect(html).not.toMatch(/<script|https?:\/\/(?!sandbox\.test)/)
    }), 60_000)
})
