#!/usr/bin/env node
/**
 * The `bulwark-simulate` executable.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/cli.js"

// The CLI kit's runMain: errors are printed once where they happen; exit code 2 for a usage error (a bad flag or
// --client file), 1 for a missed scenario goal or a run that could not start, 70 for a bug.
internal.main()
