import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import nx from "@nx/eslint-plugin"
import globals from "globals"
import tseslint from "typescript-eslint"

const moduleBoundaries = (options) => [
  "error",
  {
    enforceBuildableLibDependency: false,
    allow: [],
    ...options,
    depConstraints: [
      { sourceTag: "scope:core", onlyDependOnLibsWithTags: ["scope:core"] },
      { sourceTag: "scope:plugin", onlyDependOnLibsWithTags: ["scope:core", "scope:plugin"] },
      { sourceTag: "scope:app", onlyDependOnLibsWithTags: ["scope:core", "scope:plugin"] },
      { sourceTag: "scope:tool", onlyDependOnLibsWithTags: ["scope:core", "scope:plugin", "scope:app"] }
    ]
  }
]

export default tseslint.config(
  {
    ignores: ["**/dist", "**/build", "**/coverage", "**/node_modules", "**/.nx", "**/*.md", "**/*.json"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    // Plain ES module scripts (benchmarks, CI helpers) run on Node.
    files: ["**/*.mjs"],
    languageOptions: { globals: globals.node }
  },
  {
    plugins: { "@nx": nx },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module"
    },
    rules: {
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      "object-shorthand": "error",
      "require-yield": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "no-unused-vars": "off",
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/ban-ts-comment": "off",
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  },
  {
    // Module boundaries: core packages never import plugins, nothing imports an app, and every
    // cross-package import goes through the package's public entry point.
    files: ["packages/*/src/**/*.ts", "apps/*/src/**/*.ts", "tools/*/src/**/*.ts"],
    rules: { "@nx/enforce-module-boundaries": moduleBoundaries({}) }
  },
  {
    // Tests exercise the public API exactly as users import it: by the package's own name.
    files: ["packages/*/test/**/*.ts", "apps/*/test/**/*.ts", "tools/*/test/**/*.ts"],
    rules: { "@nx/enforce-module-boundaries": moduleBoundaries({ allowCircularSelfDependency: true }) }
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: {
      "no-console": "error",
      "@effect/no-import-from-barrel-package": ["error", { packageNames: ["effect", "@effect/platform"] }]
    }
  }
)
