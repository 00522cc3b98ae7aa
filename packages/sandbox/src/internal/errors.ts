import * as Schema from "effect/Schema"

/** @internal */
export class SandboxConfigError extends Schema.TaggedError<SandboxConfigError>("@bulwark/sandbox/SandboxConfigError")(
  "SandboxConfigError",
  {
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
  }
) {
  override get message(): string {
    const lines = this.issues.map((issue) => `  - ${issue.path}: ${issue.message}`)
    return `Invalid sandbox config (${this.issues.length} ${this.issues.length === 1 ? "problem" : "problems"}):\n${
      lines.join("\n")
    }\nFix the settings listed above; the README of @bulwark/sandbox documents each one.`
  }
}
