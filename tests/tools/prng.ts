/**
 * A small seeded PRNG (mulberry32) so that every random choice in the vector checker and the
 * fuzzer can be replayed from the printed seed.
 */

/** @since 0.1.0 */
export interface Prng {
  readonly seed: number
  /** uniform in [0, 1) */
  next(): number
  /** uniform integer in [0, n) */
  int(n: number): number
  /** uniform integer in [lo, hi] */
  range(lo: number, hi: number): number
  bytes(n: number): Uint8Array
}

/** @since 0.1.0 */
export const make = (seed: number): Prng => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    seed,
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    bytes: (n) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = int(256)
      return out
    }
  }
}

/** A stable 32-bit seed from a string (FNV-1a), e.g. a vector id. @since 0.1.0 */
export const seedOf = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * Cuts `bytes` into consecutive pieces: sizes drawn from 1..maxPiece (views, no copies).
 * @since 0.1.0
 */
export const chunk = (bytes: Uint8Array, rng: Prng, maxPiece: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let at = 0
  while (at < bytes.length) {
    const n = Math.min(bytes.length - at, 1 + rng.int(maxPiece))
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}
