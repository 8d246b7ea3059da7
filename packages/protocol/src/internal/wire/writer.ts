/**
 * Byte writer for bincode 2 (`config::standard()`). Sizes are computed first, the buffer is
 * allocated once, then written without bounds growth.
 * @internal
 */

const encoder = new TextEncoder()

const NodeBuffer: { allocUnsafeSlow(n: number): { readonly buffer: ArrayBuffer } } | undefined = (globalThis as any).Buffer

/** An ArrayBuffer whose bytes need not be zeroed: every byte is written by the encoder. */
const uninitialised = (size: number): ArrayBuffer =>
  NodeBuffer !== undefined ? NodeBuffer.allocUnsafeSlow(size).buffer : new ArrayBuffer(size)

/** Carves buffers of up to `maxSize` out of shared slabs of `slabSize`. */
const slabAllocator = (maxSize: number, slabSize: number) => {
  let slab = new ArrayBuffer(0)
  let used = 0
  return (size: number): Uint8Array => {
    if (used + size > slab.byteLength) {
      slab = uninitialised(slabSize)
      used = 0
    }
    const out = new Uint8Array(slab, used, size)
    used = (used + size + 7) & ~7
    return out
  }
}

const SMALL_MAX = 4096
const MEDIUM_MAX = 64 * 1024
const small = slabAllocator(SMALL_MAX, 64 * 1024)
const medium = slabAllocator(MEDIUM_MAX, 1024 * 1024)

/**
 * A plain `Uint8Array` of exactly `size` bytes. Allocating a fresh ArrayBuffer per message costs
 * more than encoding it, so buffers up to 64 KiB are views into shared slabs (a view keeps its
 * slab alive, as Node's pooled Buffers do: ≤ 64 KiB per small message, ≤ 1 MiB per medium one);
 * larger ones get their own uninitialised ArrayBuffer.
 * @internal
 */
export const allocBuffer = (size: number): Uint8Array =>
  size <= SMALL_MAX ? small(size) : size <= MEDIUM_MAX ? medium(size) : new Uint8Array(uninitialised(size), 0, size)

/**
 * Payloads at least this large are not copied by the segmented encoder: the encoded message
 * becomes a list of buffers that references them (written with one writev by sockets).
 * @internal
 */
export const ZERO_COPY_MIN = 8 * 1024

/**
 * Bytes of zero-copy-sized payloads counted by the last size pass (`size` functions add to it;
 * the segmented encoder resets it first). Module state is safe: encoding is synchronous.
 * @internal
 */
export const sizeStats = { large: 0 }

/** @internal */
export const varSize = (v: number): number => (v < 251 ? 1 : v < 0x10000 ? 3 : v < 0x100000000 ? 5 : 9)

const U16 = 0x10000n
const U32 = 0x100000000n
const U64 = 0x10000000000000000n

/** @internal */
export const varSizeBig = (v: bigint): number =>
  v < 251n ? 1 : v < U16 ? 3 : v < U32 ? 5 : v < U64 ? 9 : 17

/** UTF-8 byte length of a well-formed string. @internal */
export const utf8Length = (s: string): number => {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff) {
      i++ // surrogate pair: 2 UTF-16 units → 4 bytes
      n += 2
    } else n += 2
  }
  return n
}

/** @internal */
export class Writer {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  u8(v: number): void {
    this.buf[this.pos++] = v
  }

  /** unsigned varint for values below 2^53 */
  varint(v: number): void {
    const b = this.buf
    let p = this.pos
    if (v < 251) {
      b[p++] = v
    } else if (v < 0x10000) {
      b[p++] = 251
      b[p++] = v & 0xff
      b[p++] = v >>> 8
    } else if (v < 0x100000000) {
      b[p++] = 252
      b[p++] = v & 0xff
      b[p++] = (v >>> 8) & 0xff
      b[p++] = (v >>> 16) & 0xff
      b[p++] = v >>> 24
    } else {
      b[p++] = 253
      const lo = v % 0x100000000
      const hi = Math.floor(v / 0x100000000)
      for (let i = 0; i < 4; i++) b[p++] = (lo / 2 ** (8 * i)) & 0xff
      for (let i = 0; i < 4; i++) b[p++] = (hi / 2 ** (8 * i)) & 0xff
    }
    this.pos = p
  }

  varintBig(v: bigint): void {
    if (v < 0x100000000n) return this.varint(Number(v))
    const b = this.buf
    let p = this.pos
    const width = v < U64 ? 8 : 16
    b[p++] = width === 8 ? 253 : 254
    let x = v
    for (let i = 0; i < width; i++) {
      b[p++] = Number(x & 0xffn)
      x >>= 8n
    }
    this.pos = p
  }

  /** Set by the segmented encoder: large payloads are referenced here instead of copied. */
  segments: Array<Uint8Array> | undefined = undefined
  private segmentStart = 0

  bytes(v: Uint8Array): void {
    this.varint(v.length)
    if (this.segments !== undefined && v.length >= ZERO_COPY_MIN) {
      if (this.pos > this.segmentStart) this.segments.push(this.buf.subarray(this.segmentStart, this.pos))
      this.segments.push(v)
      this.segmentStart = this.pos
      return
    }
    this.buf.set(v, this.pos)
    this.pos += v.length
  }

  /** Ends segmented output: the buffers that make up everything written, in order. */
  finishSegments(): Array<Uint8Array> {
    const out = this.segments ?? []
    if (this.pos > this.segmentStart) out.push(this.buf.subarray(this.segmentStart, this.pos))
    this.segmentStart = this.pos
    return out
  }

  raw(v: Uint8Array): void {
    this.buf.set(v, this.pos)
    this.pos += v.length
  }

  str(s: string, byteLength: number): void {
    this.varint(byteLength)
    const b = this.buf
    let p = this.pos
    if (byteLength === s.length) {
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i)
      this.pos = p
      return
    }
    encoder.encodeInto(s, b.subarray(p, p + byteLength))
    this.pos = p + byteLength
  }
}
