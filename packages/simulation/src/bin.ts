#!/usr/bin/env node
/**
 * The `bulwark-simulate` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "./Cli.js"

// Errors were already printed (usage errors by the CLI, the others by the command), so runMain only sets the
// exit code: 1 for a missed scenario goal or a run that could not start.
Cli.run(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disableErrorReporting: true }))
