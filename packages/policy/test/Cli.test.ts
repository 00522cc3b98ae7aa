import { Cli } from "@bulwark/policy/cli"
import { CliKit } from "@bulwark/sandbox/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** Runs the CLI in this process, recording what it prints to stdout and stderr, and the exit code it would give. */
const runCli = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const console = yield* Effect.console
    const exit = yield* Cli.run(["node", "bulwark-policy", ...args]).pipe(
      Console.withConsole({
        ...console,
        log: (...parts) => Effect.sync(() => void out.push(parts.join(" "))),
        error: (...parts) => Effect.sync(() => void err.push(parts.join(" ")))
      }),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { code: CliKit.exitCode(exit), stdout: out.join("\n"), stderr: err.join("\n") }
  })

const tempFile = (name: string, content: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-policy-"))
  const file = Path.join(dir, name)
  Fs.writeFileSync(file, content)
  return file
}

const valid = {
  baseUrl: "https://api.partner.example/v1",
  auth: { tokenUrl: "https://auth.partner.example/oauth/token", clientId: "catalog-sync" },
  deadline: "20 seconds",
  routes: [
    { name: "reports", match: "GET /reports/**", attemptTimeout: "60 seconds", deadline: "2 minutes" },
    { name: "payments", match: "POST /payments", retry: false }
  ]
}

describe("bulwark-policy check", () => {
  it.effect("a valid policy: exit 0, every route's settings with where each came from", () =>
    Effect.gen(function*() {
      const file = tempFile("policy.json", JSON.stringify(valid))
      const { code, stdout } = yield* runCli(["check", file])
      expect(code).toBe(0)
      expect(stdout).toContain(`Policy ${file}: valid, 2 route rules (first match wins)`)
      expect(stdout).toContain("route \"reports\": GET /reports/**")
      expect(stdout).toMatch(/deadline\s+2m\s+rule "reports"/)
      expect(stdout).toMatch(/retry\s+false\s+rule "payments"/)
      expect(stdout).toMatch(/\(other requests\)\n\s+attemptTimeout\s+10s\s+default\n\s+deadline\s+20s\s+policy/)
      expect(stdout).toContain("client credentials, secret from BULWARK_CLIENT_SECRET")
      const json = yield* runCli(["check", file, "--json"])
      expect(json.code).toBe(0)
      expect(JSON.parse(json.stdout).routes).toHaveLength(3)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("bad input exits 2 with one line per problem, never a value from the file", () =>
    Effect.gen(function*() {
      const secret = "hunter2-Secret"
      const bad = tempFile(
        "policy.json",
        JSON.stringify({
          deadline: "whenever",
          auth: { tokenUrl: "https://auth.example.com/t", clientId: "a", clientSecret: secret },
          routes: [{ name: "reports", match: "GET reports" }]
        })
      )
      const invalid = yield* runCli(["check", bad])
      expect(invalid.code).toBe(2)
      expect(invalid.stderr).toContain("3 problems in the policy")
      expect(invalid.stderr).toContain("  auth.clientSecret: holds a secret")
      expect(invalid.stderr).toContain("  deadline: ")
      expect(invalid.stderr).toContain("  routes.0 (\"reports\").match: ")
      expect(invalid.stderr).not.toContain(secret)
      expect(invalid.stderr).not.toContain("whenever")

      const missing = yield* runCli(["check", "/nonexistent/policy.json"])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("(file): cannot be read (NotFound)")
      const syntax = yield* runCli(["check", tempFile("policy.json", "{ \"deadline\": ")])
      expect(syntax.code).toBe(2)
      expect(syntax.stderr).toContain("is not valid JSON")
      const noFile = yield* runCli(["check"])
      expect(noFile.code).toBe(2)
    }))
})

describe("bulwark-policy simulate", () => {
  it.live("a policy whose scenario goals hold exits 0", () =>
    Effect.gen(function*() {
      const file = tempFile("policy.json", JSON.stringify({ deadline: "30 seconds" }))
      const run = yield* runCli(["simulate", file, "--scenario", "outage", "--duration", "20s", "--seed", "7"])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      expect(run.stdout).toContain("Simulation: outage (seed 7)")
      expect(run.stdout).toContain("✓")
    }), 60_000)

  it.live("a policy that misses a goal exits 1; bad flags exit 2", () =>
    Effect.gen(function*() {
      // Without retries the documented noise reaches callers: "every call succeeds" is missed.
      const file = tempFile("policy.json", JSON.stringify({ retry: { maxRetries: 0 } }))
      const missed = yield* runCli(["simulate", file, "--scenario", "normal-noise", "--duration", "2m", "--json"])
      expect(missed.code).toBe(1)
      expect(JSON.parse(missed.stdout).goals.some((goal: { passed: boolean }) => !goal.passed)).toBe(true)
      expect(missed.stderr).toContain("of the scenario normal-noise missed with this policy")

      // The policy's route rules reach the simulated client: no retries for the scenario's reads misses a goal.
      const noReadRetries = tempFile(
        "policy.json",
        JSON.stringify({ routes: [{ name: "reads", match: "GET /items", retry: false }] })
      )
      const rules = yield* runCli(["simulate", noReadRetries, "--scenario", "normal-noise", "--duration", "2m"])
      expect(rules.code).toBe(1)
      const plain = yield* runCli([
        "simulate",
        tempFile("policy.json", "{}"),
        "--scenario",
        "normal-noise",
        "--duration",
        "2m"
      ])
      expect(plain.code).toBe(0)

      for (
        const args of [
          ["simulate", file, "--scenario", "nope"],
          ["simulate", file],
          ["simulate", file, "--scenario", "outage", "--json", "--html"],
          ["simulate", file, "--scenario", "outage", "--duration", "soon"],
          ["simulate", tempFile("policy.json", "[]"), "--scenario", "outage"]
        ]
      ) {
        const run = yield* runCli(args)
        expect(run.code, args.join(" ")).toBe(2)
      }
    }), 60_000)
})
