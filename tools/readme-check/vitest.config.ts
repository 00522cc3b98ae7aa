import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// The README blocks that are tests run as written; test/Run.test.ts runs the runnable others.
export default mergeConfig(shared, defineConfig({ test: { include: ["test/**/*.test.ts", "generated/**/*.test.ts"] } }))
