/** @internal */
export interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
  readonly token68: string | undefined
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/

class Cursor {
  pos = 0
  constructor(readonly input: string) {}
  get done() {
    return this.pos >= this.input.length
  }
  peek() {
    return this.input[this.pos]
  }
  skipSpaces() {
    while (!this.done && (this.peek() === " " || this.peek() === "\t")) this.pos++
  }
  skipCommasAndSpaces() {
    while (!this.done && (this.peek() === " " || this.peek() === "\t" || this.peek() === ",")) this.pos++
  }
  token(): string | undefined {
    const start = this.pos
    while (!this.done && TCHAR.test(this.peek()!)) this.pos++
    return this.pos > start ? this.input.slice(start, this.pos) : undefined
  }
  quoted(): string | undefined {
    if (this.peek() !== "\"") return undefined
    this.pos++
    let out = ""
    while (!this.done) {
      const ch = this.peek()!
      this.pos++
      if (ch === "\"") return out
      if (ch === "\\" && !this.done) {
        out += this.peek()
        this.pos++
      } else {
        out += ch
      }
    }
    return undefined // unterminated
  }
}

/**
 * Looks ahead: is the text at the cursor `token BWS "="` (an auth-param) rather than the start of a
 * new challenge or a token68?
 */
const atAuthParam = (cursor: Cursor): boolean => {
  const save = cursor.pos
  const name = cursor.token()
  cursor.skipSpaces()
  const isParam = name !== undefined && cursor.peek() === "=" && cursor.input[cursor.pos + 1] !== "="
  // "abc=" at the end, or followed by "=", may be token68 padding; auth-params need a value.
  cursor.pos = save
  return isParam
}

/** @internal */
export const parse = (header: string): Array<Challenge> => {
  const cursor = new Cursor(header)
  const challenges: Array<Challenge> = []
  cursor.skipCommasAndSpaces()
  while (!cursor.done) {
    const scheme = cursor.token()
    if (scheme === undefined) {
      // Not a challenge: skip to the next comma and try again.
      while (!cursor.done && cursor.peek() !== ",") cursor.pos++
      cursor.skipCommasAndSpaces()
      continue
    }
    const params: Record<string, string> = {}
    let token68: string | undefined
    cursor.skipSpaces()
    if (!cursor.done && cursor.peek() !== "," && !atAuthParam(cursor)) {
      const start = cursor.pos
      while (!cursor.done && TOKEN68_CHAR.test(cursor.peek()!)) cursor.pos++
      while (!cursor.done && cursor.peek() === "=") cursor.pos++
      if (cursor.pos > start) token68 = header.slice(start, cursor.pos)
    } else {
      // auth-params, comma-separated, until something that is not an auth-param
      for (;;) {
        const save = cursor.pos
        cursor.skipCommasAndSpaces()
        if (cursor.done || !atAuthParam(cursor)) {
          cursor.pos = save
          break
        }
        const name = cursor.token()!.toLowerCase()
        cursor.skipSpaces()
        cursor.pos++ // "="
        cursor.skipSpaces()
        const value = cursor.peek() === "\"" ? cursor.quoted() : cursor.token()
        if (value === undefined) {
          // Malformed value: drop the rest of this challenge.
          while (!cursor.done && cursor.peek() !== ",") cursor.pos++
          continue
        }
        if (!(name in params)) params[name] = value
        cursor.skipSpaces()
      }
    }
    challenges.push({ scheme, params, token68 })
    // Skip anything unexpected up to the next separator.
    cursor.skipSpaces()
    while (!cursor.done && cursor.peek() !== ",") cursor.pos++
    cursor.skipCommasAndSpaces()
  }
  return challenges
}
