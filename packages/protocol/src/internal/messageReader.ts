/**
 * The incremental reader's state machine (see ../MessageReader.ts for the contract).
 * @internal
 */
import type { Decoder } from "../Codec.js"
import { DecodeError } from "../ProtocolError.js"

const NodeBuffer: { allocUnsafeSlow(n: number): Uint8Array } | undefined = (globalThis as any).Buffer

const SLAB_BYTES = 1024 * 1024
let slab: Uint8Array = new Uint8Array(0)
let slabUsed = 0

const uninitialised = (size: number): Uint8Array => {
  if (NodeBuffer === undefined) return new Uint8Array(size)
  const b = NodeBuffer.allocUnsafeSlow(size)
  return new Uint8Array(b.buffer, b.byteOffset, size)
}

/**
 * `size` bytes, not zero-filled (they are overwritten at once). Joins of ordinary messages are
 * cut from a shared 1 MiB slab, as Node pools small Buffers: one backing store per slab rather
 * than one per message keeps GC work down at high message rates. Slab bytes are handed out
 * once and never reused, so views into them stay valid.
 */
const allocate = (size: number): Uint8Array => {
  if (size > SLAB_BYTES / 4) return uninitialised(size)
  if (slabUsed + size > slab.length) {
    slab = uninitialised(SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + size)
  // keep views 8-byte aligned
  slabUsed += (size + 7) & ~7
  return out
}

const join = (parts: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  const out = allocate(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const NO_PARTS: Array<Uint8Array> = []

/** @internal */
export class MessageReaderImpl<A> {
  /** pending bytes of an unfinished message as views (collect mode) */
  private parts: Array<Uint8Array> = NO_PARTS
  /** or acc[0, accEnd) (growing mode: the message's length is learned piece by piece) */
  private acc: Uint8Array | undefined = undefined
  private accEnd = 0
  private total = 0
  private needed = 1
  /** stream offset of the first undecoded byte, for error offsets */
  private streamOffset = 0
  private failed = false
  decoded = 0

  constructor(private readonly decoder: Decoder<A>) {}

  get pending(): number {
    return this.total
  }

  feed(chunk: Uint8Array, emit: (message: A) => void): DecodeError | undefined {
    if (this.failed || chunk.length === 0) return undefined
    let buf: Uint8Array
    let joined = false
    if (this.total === 0) {
      buf = chunk
    } else {
      this.total += chunk.length
      if (this.acc !== undefined) this.appendToAcc(chunk)
      else if (this.parts === NO_PARTS) this.parts = [chunk]
      else this.parts.push(chunk)
      if (this.total < this.needed) return undefined
      joined = true
      buf = this.acc !== undefined ? this.acc.subarray(0, this.accEnd) : join(this.parts, this.total)
    }
    const stop = this.decodeFrom(buf, emit)
    if (typeof stop !== "number") {
      this.failed = true
      this.parts = NO_PARTS
      this.acc = undefined
      this.total = 0
      return stop
    }
    const restLength = buf.length - stop
    this.total = restLength
    if (restLength === 0) {
      this.parts = NO_PARTS
      this.acc = undefined
    } else if (joined && stop === 0) {
      // the message's known lower bound arrived and it is still unfinished: grow in place
      if (this.acc === undefined) {
        const acc = allocate(Math.max(this.needed, 2 * restLength))
        acc.set(buf)
        this.acc = acc
        this.accEnd = restLength
      }
      this.parts = NO_PARTS
    } else {
      // a new message starts in the rest: keep it as a view
      this.acc = undefined
      this.parts = [buf.subarray(stop)]
    }
    return undefined
  }

  finish(): DecodeError | undefined {
    if (this.failed || this.total === 0) return undefined
    return new DecodeError({
      reason: "Truncated",
      offset: this.streamOffset + this.total,
      detail: `the byte stream ended inside a message (${this.total} bytes of it received)`,
      path: []
    })
  }

  private appendToAcc(piece: Uint8Array): void {
    const acc = this.acc!
    if (this.accEnd + piece.length > acc.length) {
      const grown = allocate(Math.max(this.needed, 2 * (this.accEnd + piece.length)))
      grown.set(acc.subarray(0, this.accEnd))
      this.acc = grown
    }
    this.acc!.set(piece, this.accEnd)
    this.accEnd += piece.length
  }

  /** Decodes what it can of `buf`, emitting each message; where it stopped, or the error. */
  private decodeFrom(buf: Uint8Array, emit: (message: A) => void): number | DecodeError {
    const end = buf.length
    let offset = 0
    while (offset < end) {
      const r = this.decoder.decode(buf, offset, end)
      if (r._tag === "Complete") {
        offset += r.bytesConsumed
        this.streamOffset += r.bytesConsumed
        this.decoded++
        emit(r.message)
      } else if (r._tag === "Incomplete") {
        this.needed = r.needed
        return offset
      } else {
        return new DecodeError({
          reason: r.reason,
          offset: this.streamOffset + r.offset,
          detail: r.detail,
          path: r.path,
          variantIndex: r.variantIndex
        })
      }
    }
    this.needed = 1
    return offset
  }
}
