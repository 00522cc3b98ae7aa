import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * Shared Vitest settings for every project in the workspace.
 *
 * The `@bulwark/source` condition makes `import "@bulwark/core-errors"` resolve to the package's
 * `src/index.ts`, so tests run on sources without building dependencies first.
 */
const conditions = ["@bulwark/source", "import", "module", "node", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    // Time budgets for fast-check properties, so that a loaded machine runs fewer cases instead of timing out.
    setupFiles: [fileURLToPath(new URL("./vitest.setup.ts", import.meta.url))],
    sequence: { concurrent: false },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The JSON report lets `.ci/run` print one "N passed, N failed" line for the whole workspace.
    reporters: ["default", "json"],
    outputFile: { json: "./test-results.json" }
  }
})
