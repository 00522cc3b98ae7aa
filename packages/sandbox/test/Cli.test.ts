import { SandboxConfig } from "@bulwark/sandbox"
import { Cli, CliKit } from "@bulwark/sandbox/cli"
import { HelpDoc, ValidationError } from "@effect/cli"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Either, Exit, Fiber, FiberId, ParseResult, Schema } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as CliInternal from "../src/internal/cli.js"

const CANARY = "CANARY-s3cr3t-9f2"

const realPause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Runs the CLI in this process with a Console that records what it prints (`errors`: what goes to stderr). */
const runCli = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const errors: Array<string> = []
    const record = (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(parts.join(" ")))
    const recordError = (...parts: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        lines.push(parts.join(" "))
        errors.push(parts.join(" "))
      })
    const console = yield* Effect.console
    const fiber = yield* Cli.run(["node", "bulwark-sandbox", ...args]).pipe(
      Console.withConsole({ ...console, log: record, error: recordError }),
      Effect.provide(NodeContext.layer),
      Effect.fork
    )
    const url = Effect.gen(function*() {
      for (let i = 0; i < 1000; i++) {
        const match = /listening on (http:\/\/\S+)/.exec(lines.join("\n"))
        if (match !== null) return match[1]!
        if (fiber.unsafePoll() !== null) return yield* Effect.dieMessage(`the CLI stopped:\n${lines.join("\n")}`)
        yield* realPause(5)
      }
      return yield* Effect.dieMessage("the CLI did not start")
    })
    return { fiber, lines, errors, url }
  })

const tokenStatus = (tokenUrl: string, clientId: string, clientSecret: string) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http.execute(
      HttpClientRequest.post(tokenUrl).pipe(
        HttpClientRequest.basicAuth(clientId, clientSecret),
        HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
      )
    )).pipe(Effect.map((response) => response.status))

describe("the CLI, in process", () => {
  it.live("prints the URL and sandbox credentials, serves, and stops when interrupted", () =>
    Effect.gen(function*() {
      const { fiber, lines, url } = yield* runCli(["--port", "0", "--faults", "realistic", "--seed", "7"])
      const base = yield* url
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const banner = lines.join("\n")
      expect(banner).toContain("preset: realistic, seed: 7")
      expect(banner).toContain(`token URL:  ${base}/oauth/token`)
      expect(banner).toContain("sandbox-only credentials")
      const secret = /client_id=bulwark-demo\s+client_secret=(\S+)/.exec(banner)?.[1]
      expect(secret).toBeDefined()
      expect(yield* tokenStatus(`${base}/oauth/token`, "bulwark-demo", secret!)).toBe(200)

      yield* Fiber.interrupt(fiber)
      expect(lines.at(-1)).toBe("bulwark-sandbox stopped")
      const refused = yield* Effect.flip(tokenStatus(`${base}/oauth/token`, "bulwark-demo", secret!))
      expect(refused._tag).toBe("RequestError")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("takes a JSON config file, which the flags override, and never prints its secrets", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-sandbox-"))
      const file = Path.join(dir, "sandbox.json")
      Fs.writeFileSync(
        file,
        JSON.stringify({
          port: 1,
          seed: 3,
          clients: [{ clientId: "team-a", clientSecret: "team-a-very-secret", roles: ["items:read"] }]
        })
      )
      const { fiber, lines, url } = yield* runCli(["--config", file, "--port", "0"])
      const base = yield* url
      expect(lines.join("\n")).toContain("seed: 3")
      expect(lines.join("\n")).toContain("client_id=team-a  roles: items:read")
      expect(lines.join("\n")).not.toContain("team-a-very-secret")
      expect(yield* tokenStatus(`${base}/oauth/token`, "team-a", "team-a-very-secret")).toBe(200)
      yield* Fiber.interrupt(fiber)
      Fs.rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("a bad config or option fails with an actionable message", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-sandbox-"))
      const file = Path.join(dir, "sandbox.json")
      Fs.writeFileSync(file, JSON.stringify({ faults: { hang: 3 } }))
      const bad = yield* runCli(["--config", file, "--port", "0"])
      const exit = yield* Fiber.await(bad.fiber)
      expect(exit._tag).toBe("Failure")
      expect(CliInternal.exitCode(exit)).toBe(2)
      expect(bad.lines.join("\n")).toContain("faults.hang: must be a probability between 0 and 1")

      Fs.writeFileSync(file, "{ not json")
      const notJson = yield* runCli(["--config", file])
      const notJsonExit = yield* Fiber.await(notJson.fiber)
      expect(CliInternal.exitCode(notJsonExit)).toBe(2)
      expect(notJson.lines.join("\n")).toContain("not valid JSON (syntax error at line 1, column 3)")

      const unknownPreset = yield* runCli(["--faults", "chaos"])
      const unknownPresetExit = yield* Fiber.await(unknownPreset.fiber)
      expect(unknownPresetExit._tag).toBe("Failure")
      expect(CliInternal.exitCode(unknownPresetExit)).toBe(2)
      Fs.rmSync(dir, { recursive: true })
    }))

  it.live("a wrong or crafted config file prints one message naming the field, never a value, and exits with 2", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-sandbox-"))
      const write = (name: string, text: string) => {
        const file = Path.join(dir, name)
        Fs.writeFileSync(file, text)
        return file
      }
      const cases: ReadonlyArray<readonly [string, string]> = [
        [
          write("crafted.json", `{ "faults": { "hang": { "toString": {} } } }`),
          "faults.hang: must be a probability between 0 and 1"
        ],
        // The file's own port is validated, not replaced by the default 8080.
        [write("port.json", `{ "port": { "toString": {} } }`), "port: must be a TCP port between 0 and 65535"],
        [
          write("clients.json", JSON.stringify({ clients: [CANARY] })),
          "clients[0]: must be an object { clientId, clientSecret, roles }"
        ],
        [
          write(
            "client_secret.json",
            JSON.stringify({ clients: [{ clientId: "a", client_secret: CANARY, roles: [] }] })
          ),
          "clients[0].client_secret: is not a known setting"
        ],
        // V8's own message would quote the text around the error: `..."Secret": CANARY-s3cr3t-9f2 }"`.
        [
          write("broken.json", `{ "clientSecret": ${CANARY} }`),
          "broken.json given with --config: it is not valid JSON"
        ],
        [write("array.json", `["${CANARY}"]`), "array.json given with --config: it holds an array, not a JSON object"],
        [Path.join(dir, "missing.json"), "missing.json given with --config: it does not exist"]
      ]
      for (const [file, expected] of cases) {
        const run = yield* runCli(["--config", file])
        const exit = yield* Fiber.await(run.fiber)
        expect(run.lines.join("\n")).not.toContain("listening on")
        expect(run.errors).toHaveLength(1)
        expect(run.errors[0]).toContain(expected)
        expect(run.errors[0]).not.toContain("\n\n")
        expect(run.lines.join("\n")).not.toContain(CANARY)
        expect(CliInternal.exitCode(exit)).toBe(2)
      }
      Fs.rmSync(dir, { recursive: true })
    }))

  it("exit codes: 0 when stopped, 2 for bad input, 1 for anything else, 70 for a bug", () => {
    expect(CliInternal.exitCode(Exit.void)).toBe(0)
    expect(CliInternal.exitCode(Exit.interrupt(FiberId.none))).toBe(0)
    expect(CliInternal.exitCode(Exit.fail(new SandboxConfig.SandboxConfigError({ issues: [] })))).toBe(2)
    expect(CliInternal.exitCode(Exit.fail(ValidationError.invalidValue(HelpDoc.p("--config x: it is empty"))))).toBe(2)
    expect(
      CliInternal.exitCode(Exit.fail(new CliInternal.SimulationNotInstalled({ reason: "not-built", cause: null })))
    )
      .toBe(1)
    expect(CliInternal.exitCode(Exit.die(new TypeError("Cannot convert object to primitive value")))).toBe(70)
  })
})

// The built executable, as a user runs it. The package's `test` target depends on `build` (see package.json), so
// dist/bin.js exists whenever the tests run through Nx; a bare `vitest run` before any build skips this part.
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))
const built = Fs.existsSync(bin)

const spawnCli = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  ).pipe(Effect.flatMap((child) =>
    Effect.async<{ readonly child: typeof child; readonly url: string; readonly output: () => string }, Error>(
      (resume) => {
        let output = ""
        const onData = (chunk: Buffer) => {
          output += chunk.toString("utf8")
          const match = /listening on (http:\/\/\S+)/.exec(output)
          if (match !== null) resume(Effect.succeed({ child, url: match[1]!, output: () => output }))
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
        child.on("exit", (code) => resume(Effect.fail(new Error(`exited with ${code} before serving:\n${output}`))))
      }
    )
  ))

const exitOf = (child: ReturnType<typeof spawn>) =>
  Effect.async<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>((resume) => {
    if (child.exitCode !== null) return resume(Effect.succeed({ code: child.exitCode, signal: null }))
    child.on("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
  })

describe.skipIf(!built)("the built bulwark-sandbox executable", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.live(
      `starts, serves and stops cleanly on ${signal}, even with a hung request open`,
      () =>
        Effect.gen(function*() {
          const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-sandbox-"))
          const file = Path.join(dir, "hang.json")
          Fs.writeFileSync(file, JSON.stringify({ faults: { hang: 1 } }))
          const { child, output, url } = yield* spawnCli(["--port", "0", "--seed", "5", "--config", file])
          const http = yield* HttpClient.HttpClient
          expect((yield* http.get(`${url}/__sandbox/health`)).status).toBe(200)
          expect(yield* tokenStatus(`${url}/oauth/token`, "bulwark-demo", "sandbox-demo-secret")).toBe(200)
          // A request the sandbox will never answer keeps a connection open.
          const hung = yield* Effect.fork(http.get(`${url}/v1/items`))
          for (let i = 0; i < 200 && !(yield* hungYet(http, url)); i++) yield* realPause(5)

          child.kill(signal)
          const exit = yield* exitOf(child).pipe(Effect.timeout("5 seconds"))
          expect(exit).toEqual({ code: 0, signal: null })
          expect(output()).toContain("bulwark-sandbox stopped")
          const error = yield* Effect.flip(Fiber.join(hung))
          expect(error._tag).toBe("RequestError")
          Fs.rmSync(dir, { recursive: true })
        }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)),
      15_000
    )
  }
})

const runToExit = (args: ReadonlyArray<string>) =>
  Effect.async<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString("utf8")))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe.skipIf(!built)("the built bulwark-sandbox executable, given bad input", () => {
  it.live("prints one message to stderr and exits with 2", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bulwark-sandbox-"))
      const crafted = Path.join(dir, "crafted.json")
      Fs.writeFileSync(crafted, JSON.stringify({ faults: { hang: { toString: {} } }, clients: [CANARY] }))
      const notJson = Path.join(dir, "broken.json")
      Fs.writeFileSync(notJson, `{ "clientSecret": ${CANARY} }`)
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--config", crafted, "--port", "0"], "faults.hang: must be a probability between 0 and 1"],
        [["--config", notJson], "it is not valid JSON"],
        [["--config", Path.join(dir, "missing.json")], "it does not exist"]
      ]
      for (const [args, expected] of cases) {
        const { code, stderr, stdout } = yield* runToExit(args).pipe(Effect.timeout("10 seconds"))
        expect({ code, stdout }).toEqual({ code: 2, stdout: "" })
        expect(stderr).toContain(expected)
        expect(stderr).not.toContain(CANARY)
      }
      Fs.rmSync(dir, { recursive: true })
    }), 30_000)
})

const hungYet = (http: HttpClient.HttpClient, url: string) =>
  http.get(`${url}/__sandbox/stats`).pipe(
    Effect.flatMap((response) => response.json),
    Effect.map((stats: any) => stats.faultsInjected.hang === 1)
  )

describe.skipIf(!built)("the built bulwark-sandbox executable, as a newcomer meets it", () => {
  it.live("a port in use says which port and what to do, and exits with 1", () =>
    Effect.gen(function*() {
      const { url } = yield* spawnCli(["--port", "0"])
      const port = new URL(url).port
      const { code, stderr, stdout } = yield* runToExit(["--port", port]).pipe(Effect.timeout("10 seconds"))
      expect(code).toBe(1)
      expect(stdout).toBe("")
      expect(stderr.trim()).toBe(
        `Cannot listen on 127.0.0.1:${port}: port ${port} is already in use. Stop the program using it, or pass ` +
          "another --port (--port 0 picks any free port)."
      )
    }).pipe(Effect.scoped), 30_000)

  it.live("flag errors name the flag, even after --log-level, and print once", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--faults", "nope"], "--faults \"nope\" is not one of: none, realistic, harsh, outage, scaling-up"],
        [["--port", "abc"], "--port \"abc\" is not a whole number from 0 to 65535"],
        [["--seed", "1", "--log-level", "debug", "--port", "70000"], "--port \"70000\" is not a whole number"],
        [["--log-level", "loud"], "--log-level \"loud\" is not one of: all, trace, debug"]
      ]
      for (const [args, expected] of cases) {
        const { code, stderr } = yield* runToExit(args).pipe(Effect.timeout("10 seconds"))
        expect(code).toBe(2)
        expect(stderr.trim().split("\n").filter((line) => line.trim() !== "")).toEqual([
          expect.stringContaining(expected)
        ])
      }
    }), 30_000)

  it.live("--help lists simulate and carries no ANSI escapes when piped", () =>
    Effect.gen(function*() {
      const { code, stdout } = yield* runToExit(["--help"]).pipe(Effect.timeout("10 seconds"))
      expect(code).toBe(0)
      expect(stdout).toContain("COMMANDS")
      expect(stdout).toMatch(/- simulate \[--scenario/)
      expect(stdout).not.toContain("\u001b[")
      expect(stdout).not.toContain("A user-defined piece of text.")
      expect(stdout).toContain("--port integer")
    }), 30_000)
})

describe("bulwark-sandbox simulate without the simulation", () => {
  it("says how to build it when it is installed but not built, and how to install it otherwise", () => {
    const notBuilt = new CliInternal.SimulationNotInstalled({ reason: "not-built", cause: null }).message
    expect(notBuilt).toContain("installed here but not built yet")
    expect(notBuilt).toContain("npm run sandbox -- simulate")
    expect(notBuilt).toContain("npx nx run @bulwark/simulation:build")
    const notInstalled = new CliInternal.SimulationNotInstalled({ reason: "not-installed", cause: null }).message
    expect(notInstalled).toContain("npm install --save-dev @bulwark/simulation")
  })
})

describe("the CLI kit", () => {
  it("formats a decoding failure as one line per bad field, saying what is allowed, never the value", () => {
    const Settings = Schema.Struct({
      retry: Schema.optional(Schema.Union(
        Schema.Literal(false),
        Schema.Struct({
          maxRetries: Schema.optional(Schema.Number),
          jitter: Schema.optional(Schema.Literal("none", "full"))
        })
      )),
      name: Schema.optional(Schema.String)
    })
    const decode = (input: unknown) =>
      Either.match(ParseResult.decodeUnknownEither(Settings, { errors: "all", onExcessProperty: "error" })(input), {
        onLeft: (issue) => CliKit.formatIssues(issue, "(file)"),
        onRight: () => []
      })
    expect(decode({ retry: { maxRetries: "SECRET-1", jitter: "wild" }, bogus: 1 }).sort()).toEqual([
      "bogus: is not a known setting",
      "retry.jitter: expected one of \"none\", \"full\"",
      "retry.maxRetries: expected number"
    ])
    expect(decode({ retry: "x" })).toEqual(["retry: expected false or an object of settings"])
    expect(JSON.stringify(decode({ name: 7, retry: { maxRetries: "SECRET-2" } }))).not.toContain("SECRET")
  })

  it("wants colours only on a terminal, never with NO_COLOR, always with FORCE_COLOR", () => {
    expect(CliKit.wantsColor({}, true)).toBe(true)
    expect(CliKit.wantsColor({}, false)).toBe(false)
    expect(CliKit.wantsColor({ NO_COLOR: "1" }, true)).toBe(false)
    expect(CliKit.wantsColor({ FORCE_COLOR: "1" }, false)).toBe(true)
    expect(CliKit.wantsColor({ FORCE_COLOR: "0" }, true)).toBe(true)
  })

  it("exit codes: a failure's own exitCode wins; usage errors 2; others 1; a bug 70", () => {
    expect(CliKit.exitCode(Exit.void)).toBe(0)
    expect(CliKit.exitCode(Exit.interrupt(FiberId.none))).toBe(130)
    expect(CliKit.exitCode(Exit.interrupt(FiberId.none), { interrupted: 0 })).toBe(0)
    expect(CliKit.exitCode(Exit.fail({ exitCode: 3 }))).toBe(3)
    expect(CliKit.exitCode(Exit.fail(ValidationError.invalidValue(HelpDoc.p("x"))))).toBe(2)
    expect(CliKit.exitCode(Exit.fail(new Error("x")))).toBe(1)
    expect(CliKit.exitCode(Exit.fail(new Error("x")), { isUsageError: () => true })).toBe(2)
    expect(CliKit.exitCode(Exit.die("bug"))).toBe(70)
  })
})
