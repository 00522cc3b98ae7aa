import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// The suites share no global state, so each worker loads effect and the platform once for all its files instead of
// once per file (about half of this package's test time on a 2-CPU machine otherwise).
export default mergeConfig(shared, defineConfig({ test: { isolate: false } }))
