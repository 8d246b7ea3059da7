/**
 * Incremental message decoding for the socket's `'data'` events: bytes cut at any point in,
 * whole messages out, synchronously, in the event handler itself.
 *
 * Why below Effect: inbound agent bytes are decoded where they arrive, with no fiber hop between
 * the socket and the inbound mailbox. A chunk that arrives with nothing pending is decoded in
 * place (no copy); the bytes of an unfinished message accumulate in a buffer grown by doubling
 * and are decoded again only once the `needed` bytes are there. Bytes are only appended, never
 * overwritten, so payload views of messages already emitted stay valid.
 * @internal
 */
import type * as Codec from "@mirrord-effect/protocol/Codec"
import { DecodeError } from "@mirrord-effect/protocol/ProtocolError"

export class FrameReader<A> {
  private acc: Uint8Array | undefined = undefined
  private start = 0
  private end = 0
  private needed = 1
  /** stream offset of the first undecoded byte (for error offsets) */
  private offset = 0
  /** messages decoded so far */
  decoded = 0

  constructor(private readonly decoder: Codec.Decoder<A>) {}

  /** Bytes of an unfinished message held. */
  get pending(): number {
    return this.end - this.start
  }

  /**
   * Decodes what `chunk` completes, calling `emit` per message in order; the messages before a
   * failure are emitted too. Returns the failure, if any (the reader is unusable after it).
   */
  feed(chunk: Uint8Array, emit: (message: A) => void): DecodeError | undefined {
    if (chunk.length === 0) return undefined
    if (this.pending === 0) {
      const stop = this.decodeFrom(chunk, 0, chunk.length, emit)
      if (typeof stop !== "number") return stop
      this.acc = undefined
      this.start = this.end = 0
      if (stop < chunk.length) this.append(chunk.subarray(stop))
      return undefined
    }
    this.append(chunk)
    if (this.pending < this.needed) return undefined
    const stop = this.decodeFrom(this.acc!, this.start, this.end, emit)
    if (typeof stop !== "number") return stop
    this.start = stop
    if (this.start === this.end) {
      this.acc = undefined
      this.start = this.end = 0
    }
    return undefined
  }

  /** The failure for a stream that ends here: `Truncated` when inside a message. */
  finish(): DecodeError | undefined {
    if (this.pending === 0) return undefined
    return new DecodeError({
      reason: "Truncated",
      offset: this.offset + this.pending,
      detail: `the byte stream ended inside a message (${this.pending} bytes of it received)`,
      path: []
    })
  }

  private append(piece: Uint8Array): void {
    const length = this.end - this.start
    if (this.acc === undefined || this.end + piece.length > this.acc.length) {
      const grown = new Uint8Array(Math.max(this.needed, 2 * (length + piece.length), 4096))
      if (this.acc !== undefined) grown.set(this.acc.subarray(this.start, this.end))
      this.acc = grown
      this.start = 0
      this.end = length
    }
    this.acc.set(piece, this.end)
    this.end += piece.length
  }

  private decodeFrom(buf: Uint8Array, at: number, end: number, emit: (message: A) => void): number | DecodeError {
    while (at < end) {
      const r = this.decoder.decode(buf, at, end)
      if (r._tag === "Complete") {
        at += r.bytesConsumed
        this.offset += r.bytesConsumed
        this.decoded++
        emit(r.message)
        continue
      }
      if (r._tag === "Incomplete") {
        this.needed = r.needed
        return at
      }
      return new DecodeError({
        reason: r.reason,
        offset: this.offset + r.offset,
        detail: r.detail,
        path: r.path,
        variantIndex: r.variantIndex
      })
    }
    this.needed = 1
    return at
  }
}
