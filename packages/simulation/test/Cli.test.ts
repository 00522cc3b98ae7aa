import { CliKit } from "@bulwark/sandbox/cli"
import { Simulation } from "@bulwark/simulation"
import { Cli } from "@bulwark/simulation/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Exit } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** Runs the CLI in this process, recording what it prints to stdout and stderr. */
const runCli = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const console = yield* Effect.console
    const exit = yield* Cli.run(["node", "bulwark-simulate", ...args]).pipe(
      Console.withConsole({
        ...console,
        log: (...parts) => Effect.sync(() => void out.push(parts.join(" "))),
        error: (...parts) => Effect.sync(() => void err.push(parts.join(" ")))
      }),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, stdout: out.join("\n"), stderr: err.join("\n") }
  })

const exitCode = (exit: Exit.Exit<unknown, unknown>) => CliKit.exitCode(exit)

const tempFile = (name: string, content: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-simulate-"))
  const file = Path.join(dir, name)
  Fs.writeFileSync(file, content)
  return file
}

describe("bulwark-simulate", () => {
  it.live("the issue's command line: a table on stdout, the wall time on stderr", () =>
    Effect.gen(function*() {
      const { exit, stderr, stdout } = yield* runCli([
        "--preset",
        "scaling-up",
        "--duration",
        "2m",
        "--rate",
        "20",
        "--seed",
        "7"
      ])
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(stdout).toContain("Simulation (seed 7)")
      expect(stdout).toContain("preset scaling-up")
      expect(stdout).toContain("20 calls/s (poisson) for 2 min")
      expect(stderr).toMatch(/simulated 2 min in [\d.]+ s of wall time \(\d+x real time\)/)
    }), 60_000)

  it.live("--json prints exactly the report the API gives for the same options", () =>
    Effect.gen(function*() {
      const { stdout } = yield* runCli(["--preset", "realistic", "--duration", "90s", "--seed", "3", "--json"])
      const report = yield* Simulation.run({
        seed: 3,
        sandbox: { preset: "realistic" },
        circuitBreaker: false,
        traffic: { rate: 20, duration: "90 seconds" }
      })
      expect(stdout).toBe(Simulation.toJson(report))
    }), 60_000)

  it.live("--html prints a page; a client config file sets the policy under test", () =>
    Effect.gen(function*() {
      const client = tempFile("client.json", JSON.stringify({ retry: { maxRetries: 0 } }))
      const { exit, stdout } = yield* runCli([
        "--scenario",
        "normal-noise",
        "--duration",
        "2m",
        "--client",
        client,
        "--html"
      ])
      expect(stdout).toMatch(/^<!doctype html>/)
      expect(stdout).toContain("<svg")
      // Without retries the documented noise reaches callers: a goal is missed, and the exit code says so.
      expect(stdout).toContain("✗")
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") expect(exit.cause.error._tag).toBe("GoalsMissed")
      // A missed goal exits with 1, a usage error with 2: CI can tell them apart.
      expect(exitCode(exit)).toBe(1)
    }), 60_000)

  it.live("bad input gets an actionable message, not a crash", () =>
    Effect.gen(function*() {
      const duration = yield* runCli(["--duration", "soon"])
      expect(Exit.isFailure(duration.exit)).toBe(true)
      expect(duration.stderr).toContain("--duration \"soon\": expected a duration such as 30m, 90s")
      const both = yield* runCli(["--scenario", "quota", "--preset", "harsh"])
      expect(both.stderr).toContain("Pass one of them")
      const withAuth = tempFile("client.json", JSON.stringify({ baseUrl: "https://api.example.com" }))
      const auth = yield* runCli(["--client", withAuth, "--duration", "1s"])
      expect(auth.stderr).toContain("baseUrl: is set by the simulation")
      const notJson = tempFile("client.json", "{ retry:")
      const json = yield* runCli(["--client", notJson])
      expect(json.stderr).toContain("is not valid JSON")
      const rate = yield* runCli(["--rate", "0", "--duration", "1s"])
      expect(rate.stderr).toContain("--rate \"0\" is not a number of calls per second above 0")
      for (const run of [duration, both, auth, json, rate]) expect(exitCode(run.exit)).toBe(2)
    }), 60_000)

  it.live("a bad --client file gets one line per bad field, naming it, and exit code 2", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "client.json",
        JSON.stringify({ retry: { maxRetries: "x", bogus: 1 }, attemptTimeout: "soon", auth: "CANARY-s3cr3t" })
      )
      const run = yield* runCli(["--client", file, "--duration", "1s"])
      expect(exitCode(run.exit)).toBe(2)
      const lines = run.stderr.trim().split("\n")
      expect(lines[0]).toBe("--client: 4 problems in the file:")
      expect(lines.slice(1).map((line) => line.trim().split(":")[0]).sort()).toEqual([
        "attemptTimeout",
        "auth",
        "retry.bogus",
        "retry.maxRetries"
      ])
      expect(run.stderr).not.toContain("Expected undefined")
      expect(run.stderr).not.toContain("CANARY")
    }), 60_000)

  it.live("flags name themselves in errors; --log-level works after other flags", () =>
    Effect.gen(function*() {
      const arrival = yield* runCli(["--duration", "1s", "--arrival", "nope"])
      expect(arrival.stderr).toContain("--arrival \"nope\" is not one of: poisson, uniform, burst")
      const seed = yield* runCli(["--seed", "abc"])
      expect(seed.stderr).toContain("--seed \"abc\" is not a whole number")
      const logLevel = yield* runCli(["--duration", "10s", "--rate", "1", "--log-level", "warning", "--json"])
      expect(Exit.isSuccess(logLevel.exit)).toBe(true)
    }), 60_000)
})

describe("bulwark-sandbox simulate", () => {
  it("hands the rest of the line to bulwark-simulate", () => {
    const sandboxBin = fileURLToPath(new URL("../../sandbox/dist/bin.js", import.meta.url))
    const result = spawnSync(process.execPath, [
      sandboxBin,
      "simulate",
      "--scenario",
      "outage",
      "--duration",
      "20s",
      "--seed",
      "7",
      "--json"
    ], { encoding: "utf8", timeout: 60_000 })
    expect(result.status, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as Simulation.Report
    expect(report.name).toBe("outage")
    expect(report.goals!.every((goal) => goal.passed)).toBe(true)
    expect(result.stderr).toContain("real time")
  }, 60_000)
})
