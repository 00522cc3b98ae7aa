#!/usr/bin/env node
/**
 * The `catalog-sync` executable, on the CLI kit's shared runMain: errors print once as messages, never stack
 * traces; the exit code is 0 only when every item was confirmed exactly once (1: sync problems, 2: bad input or
 * setup, 70: a bug, 130: interrupted).
 */
import { CliKit } from "@bulwark/sandbox/cli"
import * as Cli from "./Cli.js"

CliKit.runMain(Cli.run)
