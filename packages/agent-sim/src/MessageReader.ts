/**
 * Incremental decoding of a protocol byte stream straight from a socket's chunks, in plain
 * synchronous code: the simulator's receive path (and the benchmarks' light receivers) decode
 * every chunk in the `'data'` callback that delivered it, with no queue, stream or fiber hop
 * per chunk. This is the one tight loop of agent-sim below Effect; everything that reacts to
 * the messages stays in Effect.
 *
 * A chunk that arrives with nothing pending is decoded in place (payload views into it, no
 * copy). The tail of an unfinished message is kept as a view; later chunks are collected and
 * joined (one copy, no zero-fill) once the decoder's lower bound of the message length has
 * arrived. When a join still does not complete the message (its length is learned piece by
 * piece, e.g. a Framed body of many frames), the reader switches to a buffer grown by doubling
 * for that message, so a large message in many chunks costs amortised linear copying. Bytes
 * handed out as views are never overwritten.
 *
 * @since 0.1.0
 */
import type { Decoder } from "@mirrord-effect/protocol/Codec"
import { DecodeError } from "@mirrord-effect/protocol/ProtocolError"

/**
 * What one chunk completed: the messages in order, then the error that stopped decoding (the
 * messages before it in the same chunk are still returned, so the outcome does not depend on
 * how the bytes were cut).
 *
 * @since 0.1.0
 * @category models
 */
export interface Fed<A> {
  readonly messages: Array<A>
  readonly error: DecodeError | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MessageReader<A> {
  /** Decodes what `chunk` completes. After an error, further chunks are ignored. */
  readonly feed: (chunk: Uint8Array) => Fed<A>
  /** The stream ended: a `Truncated` error when it ended inside a message. */
  readonly end: () => DecodeError | undefined
  /** Bytes of an unfinished message held. */
  readonly pendingBytes: () => number
}

const NONE: Array<never> = []

/**
 * A reader for one byte stream.
 *
 * @since 0.1.0
 * @category constructors
 */
const SLAB_BYTES = 1024 * 1024
let slab: Uint8Array = new Uint8Array(0)
let slabUsed = 0

/**
 * A plain Uint8Array of `size` bytes, not zero-filled (it is overwritten at once). Joins of
 * ordinary messages are cut from a shared 1 MiB slab (as node pools small Buffers): one backing
 * store per slab instead of one per message keeps GC work down at high message rates.
 */
const allocate = (size: number): Uint8Array => {
  if (size > SLAB_BYTES / 4) {
    const b = Buffer.allocUnsafeSlow(size)
    return new Uint8Array(b.buffer, b.byteOffset, size)
  }
  if (slabUsed + size > slab.length) {
    const b = Buffer.allocUnsafeSlow(SLAB_BYTES)
    slab = new Uint8Array(b.buffer, b.byteOffset, SLAB_BYTES)
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

export const make = <A>(decoder: Decoder<A>): MessageReader<A> => {
  // pending bytes of an unfinished message: views in `parts`, or (growing mode) acc[0, accEnd)
  let parts: Array<Uint8Array> = []
  let acc: Uint8Array | undefined
  let accEnd = 0
  let total = 0
  let needed = 1
  // stream offset of the first undecoded byte, for error offsets
  let streamOffset = 0
  let failed = false

  const pendingBytes = () => total

  const appendToAcc = (piece: Uint8Array): void => {
    if (accEnd + piece.length > acc!.length) {
      const grown = allocate(Math.max(needed, 2 * (accEnd + piece.length)))
      grown.set(acc!.subarray(0, accEnd))
      acc = grown
    }
    acc!.set(piece, accEnd)
    accEnd += piece.length
  }

  /** Decodes what it can of buf[offset, end) into `out`; where it stopped, or the error. */
  const decodeFrom = (buf: Uint8Array, offset: number, end: number, out: Array<A>): number | DecodeError => {
    while (offset < end) {
      const r = decoder.decode(buf, offset, end)
      if (r._tag === "Complete") {
        out.push(r.message)
        offset += r.bytesConsumed
        streamOffset += r.bytesConsumed
      } else if (r._tag === "Incomplete") {
        needed = r.needed
        return offset
      } else {
        return new DecodeError({
          reason: r.reason,
          offset: streamOffset + r.offset,
          detail: r.detail,
          path: r.path,
          variantIndex: r.variantIndex
        })
      }
    }
    needed = 1
    return offset
  }

  const feed = (chunk: Uint8Array): Fed<A> => {
    if (failed || chunk.length === 0) return { messages: NONE, error: undefined }
    let buf: Uint8Array
    let joined = false
    if (total === 0) {
      buf = chunk
    } else {
      total += chunk.length
      if (acc !== undefined) appendToAcc(chunk)
      else parts.push(chunk)
      if (total < needed) return { messages: NONE, error: undefined }
      joined = true
      buf = acc !== undefined ? acc.subarray(0, accEnd) : join(parts, total)
    }
    const out: Array<A> = []
    const stop = decodeFrom(buf, 0, buf.length, out)
    if (typeof stop !== "number") {
      failed = true
      parts = []
      acc = undefined
      total = 0
      return { messages: out, error: stop }
    }
    const rest = buf.subarray(stop)
    total = rest.length
    if (rest.length === 0) {
      parts = []
      acc = undefined
    } else if (joined && stop === 0) {
      // the whole message was there by the last bound and is still unfinished: grow in place
      if (acc === undefined) {
        acc = allocate(Math.max(needed, 2 * rest.length))
        acc.set(rest)
        accEnd = rest.length
      }
      parts = []
    } else {
      // a new message starts in `rest`: keep it as a view
      acc = undefined
      parts = [rest]
    }
    return { messages: out, error: undefined }
  }

  const end = (): DecodeError | undefined =>
    failed || total === 0 ? undefined : new DecodeError({
      reason: "Truncated",
      offset: streamOffset + total,
      detail: `the byte stream ended inside a message (${total} bytes of it received)`,
      path: []
    })

  return { feed, end, pendingBytes }
}
