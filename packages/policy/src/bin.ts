#!/usr/bin/env node
/**
 * The `bulwark-policy` executable.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/cli.js"

// The CLI kit's runMain: errors are printed once where they happen; exit code 2 for bad input (a flag, a policy
// that does not decode, a file that cannot be read), 1 for a missed scenario goal or a run that could not start,
// 70 for a bug.
internal.main()
