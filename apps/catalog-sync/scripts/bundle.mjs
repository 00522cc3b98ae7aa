// `npm start`'s build: catalog-sync and the @bulwark packages it uses, bundled from their sources (the
// "@bulwark/source" condition) into one file, with effect, @effect/* and the other npm packages left as imports.
// It takes well under a second where compiling the five packages with tsc (types, declarations, maps) took
// 30-40 s on 2 cores: the main job needs JavaScript, and `npm test` is what type-checks the sources. Nx caches
// the result (the `bundle` target), so a second `npm start` does not even run this.
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const started = performance.now()
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
  outfile: "dist-start/catalog-sync.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@bulwark/source"],
  sourcemap: "linked",
  logLevel: "warning",
  metafile: true,
  plugins: [{
    name: "npm-packages-external",
    setup(build) {
      // Every bare import but the workspace's own packages stays an import of node_modules.
      build.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith("@bulwark/") ? undefined : { path: args.path, external: true })
    }
  }]
})
const inputs = Object.keys(result.metafile.inputs)
const packages = [...new Set(inputs.map((file) => /packages\/([^/]+)\/src\//.exec(file)?.[1]).filter(Boolean))]
console.log(
  `catalog-sync: bundled ${inputs.length} source files (app + ${packages.join(", ")}) in ` +
    `${Math.round(performance.now() - started)} ms -> apps/catalog-sync/dist-start/catalog-sync.mjs`
)
