#!/usr/bin/env node
/**
 * The `bulwark-sandbox` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "./Cli.js"
import * as internal from "./internal/cli.js"

// Errors were already printed (the CLI prints usage errors, the command prints its own), so runMain only
// sets the exit code: 2 for a bad option, config file or setting, 1 for any other failure. SIGINT and SIGTERM
// interrupt the server, which closes every connection and exits 0.
Cli.run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: internal.teardown })
)
