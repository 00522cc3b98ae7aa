/**
 * Progress output: a live bar redrawn in place on a terminal, plain periodic lines otherwise (CI, logs).
 */
import { Effect } from "effect"
import type { Progress } from "./Sync.js"

export interface Output {
  readonly isTTY: boolean
  readonly write: (text: string) => void
}

export const processOutput: Output = {
  isTTY: process.stdout.isTTY === true,
  write: (text) => void process.stdout.write(text)
}

const describe = (p: Progress) => {
  const seconds = p.elapsedMillis / 1000
  const rate = seconds > 0 ? p.done / seconds : 0
  const wait = p.rateLimitWaitMillis > 0 ? `, 429 wait ${(p.rateLimitWaitMillis / 1000).toFixed(1)} s` : ""
  const failed = p.failed > 0 ? `, ${p.failed} create error(s)` : ""
  return `${p.done}/${p.total} items, ${rate.toFixed(0)}/s, ${p.retries} retries${wait}${failed}`
}

/**
 * Returns the progress callback for `Sync.run`. On a TTY it redraws one line every tick; otherwise it
 * prints a line at most every `plainEveryMillis` (and always the last one).
 */
export const reporter = (output: Output, plainEveryMillis = 2000) => {
  let lastPlain = -Infinity
  let lastLine = ""
  return {
    onProgress: (p: Progress) =>
      Effect.sync(() => {
        if (output.isTTY) {
          const width = 30
          const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width)
          const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
          output.write(`\r\x1b[2K${bar} ${describe(p)}`)
          return
        }
        const line = describe(p)
        if (p.elapsedMillis - lastPlain >= plainEveryMillis && line !== lastLine) {
          output.write(`progress: ${line}\n`)
          lastPlain = p.elapsedMillis
          lastLine = line
        }
      }),
    finish: (p: Progress | undefined) =>
      Effect.sync(() => {
        if (output.isTTY) output.write("\n")
        else if (p !== undefined && describe(p) !== lastLine) output.write(`progress: ${describe(p)}\n`)
      })
  }
}
