/**
 * A small, fast, seeded pseudo-random source (mulberry32), derived per `(seed, stream, index)` so that the
 * n-th request of a stream always sees the same numbers for the same seed, whatever happened before it.
 */

const mix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** @internal */
export type Uniform = () => number

/** @internal */
export const streams = {
  faults: 1,
  tokenFaults: 2,
  tokens: 3
} as const

/**
 * Returns a generator of uniform numbers in [0, 1) for the `index`-th draw of `stream` under `seed`.
 *
 * @internal
 */
export const derive = (seed: number, stream: number, index: number): Uniform => {
  const lo = seed >>> 0
  const hi = Math.floor(seed / 4294967296) >>> 0
  let state = mix(mix(mix(mix(lo ^ 0x9e3779b9) ^ hi) ^ Math.imul(stream, 0x27d4eb2f)) ^ (index >>> 0))
  state = mix(state ^ Math.floor(index / 4294967296))
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `bytes` pseudo-random bytes as lower-case hex.
 *
 * @internal
 */
export const hex = (uniform: Uniform, bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++) {
    out += Math.floor(uniform() * 256).toString(16).padStart(2, "0")
  }
  return out
}
