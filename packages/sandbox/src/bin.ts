#!/usr/bin/env node
/**
 * The `bulwark-sandbox` executable.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/cli.js"

// The shared runMain of the CLI kit: errors are printed once where they happen; the exit code is 2 for a bad
// option, config file or setting, 1 for any other failure, 70 for a bug. SIGINT and SIGTERM interrupt the
// server, which closes every connection and exits 0.
internal.main()
