#!/usr/bin/env node
/**
 * The `catalog-sync` executable. Errors print as messages, never stack traces; the exit code is 0 only when
 * every item was confirmed exactly once (1: sync problems, 2: bad input or setup).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit } from "effect"
import * as Cli from "./Cli.js"

Cli.run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  Effect.catchAll((error) =>
    error._tag === "RunFailed"
      ? Effect.zipRight(
        Console.error(`catalog-sync: ${error.message}`),
        Effect.sync(() => void (process.exitCode = error.exitCode))
      )
      // A usage error: @effect/cli has already printed it with the help.
      : Effect.sync(() => void (process.exitCode = 2))
  ),
  Effect.catchAllDefect((defect) =>
    Effect.zipRight(
      Console.error(`catalog-sync: unexpected failure: ${Cause.pretty(Cause.die(defect))}`),
      Effect.sync(() => void (process.exitCode = 70))
    )
  ),
  Effect.exit,
  Effect.map((exit) => (Exit.isInterrupted(exit) ? void (process.exitCode = 130) : undefined)),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
