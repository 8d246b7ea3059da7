/**
 * Byte reader for bincode 2 (`config::standard()`): little-endian, varint integers.
 *
 * Running out of bytes throws the `INCOMPLETE` signal, a structural problem throws an
 * `InvalidSignal`. Both are caught at the public decode boundary and turned into values;
 * nothing thrown here ever escapes the package.
 * @internal
 */

import type { DecodeFailureReason } from "../../ProtocolError.js"
import type { HttpEra } from "./httpEra.js"

/** Everything that makes bytes invalid (a truncated stream is the Channel's concern). @internal */
export type InvalidReason = Exclude<DecodeFailureReason, "Truncated">

/**
 * Nesting limit of recursive types (HttpFilter::Composite), for decode and encode. A real agent
 * (2 MiB worker stack) decodes about 4,600 levels and aborts the process beyond; we stay below.
 * @internal
 */
export const DEFAULT_MAX_DEPTH = 4096

/** @internal */
export class InvalidSignal {
  constructor(
    readonly reason: InvalidReason,
    readonly offset: number,
    readonly detail: string,
    /**
     * enum path, built innermost first while the signal unwinds (decodeOne turns it around):
     * e.g. ["LayerTcpSteal", "ClientMessage::TcpSteal"]
     */
    readonly path: Array<string> = [],
    /** for UnknownVariant: the variant index that was read */
    readonly variantIndex?: number
  ) {}
}

/** @internal */
export class IncompleteSignal {
  /** the total number of bytes (from the start of the buffer) known to be needed */
  needed = 0
}

/** Thrown when a read runs past the end; a single instance, no stack: this is hot. @internal */
export const INCOMPLETE = new IncompleteSignal()

const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** @internal */
export class Reader {
  pos: number
  /** bytes at index >= limit may not be used by this message (maxMessageBytes) */
  readonly limit: number
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    maxMessageBytes: number,
    /** per-enum allowed variant count, indexed by enum id; undefined = every known variant */
    readonly variantLimits: Int32Array | undefined,
    /** more nested recursive values than this are `TooDeep` */
    readonly maxDepth: number,
    /** what the `http` crate of the emulated version accepts */
    readonly era: HttpEra
  ) {
    this.pos = start
    this.limit = start + maxMessageBytes
  }

  invalid(reason: InvalidReason, offset: number, detail: string): never {
    throw new InvalidSignal(reason, offset, detail)
  }

  /** Ensures `n` more bytes exist; a length that can never fit under the limit is invalid at once. */
  need(n: number): void {
    const want = this.pos + n
    // checked whether or not the bytes are already here, so the limit does not depend on chunking
    if (want > this.limit) {
      this.invalid("MessageTooLarge", this.pos, `needs ${n} more bytes, beyond the message size limit`)
    }
    if (want > this.end) {
      INCOMPLETE.needed = want
      throw INCOMPLETE
    }
  }

  u8(): number {
    if (this.pos >= this.end) this.need(1)
    return this.buf[this.pos++]!
  }

  bool(): boolean {
    const at = this.pos
    const b = this.u8()
    if (b === 0) return false
    if (b === 1) return true
    return this.invalid("InvalidBool", at, `bool byte ${b}`)
  }

  optionTag(): boolean {
    const at = this.pos
    const b = this.u8()
    if (b === 0) return false
    if (b === 1) return true
    return this.invalid("InvalidOptionTag", at, `Option tag ${b}`)
  }

  private le(n: number): number {
    this.need(n)
    const b = this.buf
    const p = this.pos
    this.pos = p + n
    if (n === 2) return b[p]! | (b[p + 1]! << 8)
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000
  }

  private le64(): bigint {
    this.need(8)
    const p = this.pos
    const b = this.buf
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16)) + b[p + 7]! * 0x1000000
    this.pos = p + 8
    return (BigInt(hi) << 32n) | BigInt(lo)
  }

  /** Varint of at most 32 bits (u16 when maxMarker is 251, u32 when 252). */
  varSmall(maxMarker: 251 | 252, what: string): number {
    const at = this.pos
    const m = this.u8()
    if (m < 251) return m
    if (m > maxMarker) return this.invalid("InvalidVarint", at, `marker ${m} too wide for ${what}`)
    return this.le(m === 251 ? 2 : 4)
  }

  u16(): number {
    return this.varSmall(251, "u16")
  }

  u32(): number {
    return this.varSmall(252, "u32")
  }

  i32(): number {
    const z = this.varSmall(252, "i32")
    return (z >>> 1) ^ -(z & 1)
  }

  /** u64 / usize varint */
  u64(): bigint {
    const at = this.pos
    const m = this.u8()
    if (m < 251) return BigInt(m)
    if (m === 251) return BigInt(this.le(2))
    if (m === 252) return BigInt(this.le(4))
    if (m === 253) return this.le64()
    return this.invalid("InvalidVarint", at, `marker ${m} too wide for u64`)
  }

  i64(): bigint {
    const z = this.u64()
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n)
  }

  u128(): bigint {
    const at = this.pos
    const m = this.u8()
    if (m < 251) return BigInt(m)
    if (m === 251) return BigInt(this.le(2))
    if (m === 252) return BigInt(this.le(4))
    if (m === 253) return this.le64()
    if (m === 254) {
      const lo = this.le64()
      const hi = this.le64()
      return (hi << 64n) | lo
    }
    return this.invalid("InvalidVarint", at, `marker ${m} too wide for u128`)
  }

  /** A length (usize varint) as a safe number; lengths beyond 2^53 can never fit and are too large. */
  length(): number {
    const at = this.pos
    const m = this.u8()
    if (m < 251) return m
    if (m === 251) return this.le(2)
    if (m === 252) return this.le(4)
    if (m === 253) {
      const v = this.le64()
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
        return this.invalid("MessageTooLarge", at, `declared length ${v} cannot fit`)
      }
      return Number(v)
    }
    return this.invalid("InvalidVarint", at, `marker ${m} too wide for a length`)
  }

  /** Enum tag (u32 varint). */
  tag(): number {
    return this.varSmall(252, "enum tag")
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number): Uint8Array {
    this.need(n)
    const p = this.pos
    this.pos = p + n
    return this.buf.subarray(p, p + n)
  }

  /** A length-prefixed UTF-8 string; validity is checked after all its bytes are present. */
  str(): string {
    const start = this.pos
    const n = this.length()
    const at = this.pos
    this.need(n)
    const b = this.buf
    const end = at + n
    this.pos = end
    if (n <= 64) {
      let ascii = true
      for (let i = at; i < end; i++) {
        if (b[i]! > 0x7f) {
          ascii = false
          break
        }
      }
      if (ascii) return asciiString(b, at, end)
    }
    try {
      return utf8Fatal.decode(b.subarray(at, end))
    } catch {
      return this.invalid("InvalidUtf8", start, "invalid UTF-8 in string")
    }
  }
}

const buildAscii = (b: Uint8Array, start: number, end: number): string => {
  if (end - start <= 4) {
    let s = ""
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!)
    return s
  }
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as Array<number>)
}

/** Short strings repeat (header names, methods, versions): a small direct-mapped cache of them. */
const CACHE_BITS = 10
const CACHED_MAX = 32
const stringCache: Array<string | undefined> = new Array(1 << CACHE_BITS).fill(undefined)

/**
 * The string of bytes known to be ASCII. Building a string costs far more than hashing and
 * comparing a few bytes, so short ones come from `stringCache` when they were seen before.
 * @internal
 */
export const asciiString = (b: Uint8Array, start: number, end: number): string => {
  const n = end - start
  if (n > CACHED_MAX) return buildAscii(b, start, end)
  let h = n
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x9e3779b1)
  const slot = h >>> (32 - CACHE_BITS)
  const hit = stringCache[slot]
  if (hit !== undefined && hit.length === n) {
    let same = true
    for (let i = 0; i < n; i++) {
      if (hit.charCodeAt(i) !== b[start + i]) {
        same = false
        break
      }
    }
    if (same) return hit
  }
  const s = buildAscii(b, start, end)
  stringCache[slot] = s
  return s
}
