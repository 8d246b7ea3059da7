/**
 * Incremental decoding of a protocol byte stream straight from a socket's chunks, in plain
 * synchronous code: the simulator's receive path (and the benchmarks' light receivers) decode
 * every chunk in the `'data'` callback that delivered it, with no queue, stream or fiber hop
 * per chunk. This is the one tight loop of agent-sim below Effect; everything that reacts to
 * the messages stays in Effect.
 *
 * A chunk that arrives with nothing pending is decoded in place (payload views into it, no
 * copy). The tail of an unfinished message is kept in a buffer grown by doubling, and decoded
 * again only once the decoder's lower bound of the message length is there: a large message
 * arriving in many chunks costs amortised linear copying. Bytes are only appended to that
 * buffer, never overwritten, so views in messages already handed out stay valid.
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
export const make = <A>(decoder: Decoder<A>): MessageReader<A> => {
  let acc: Uint8Array | undefined
  let accStart = 0
  let accEnd = 0
  let needed = 1
  // stream offset of the first undecoded byte, for error offsets
  let streamOffset = 0
  let failed = false

  const pendingBytes = () => accEnd - accStart

  const append = (piece: Uint8Array): void => {
    const length = accEnd - accStart
    if (acc === undefined || accEnd + piece.length > acc.length) {
      const grown = new Uint8Array(Math.max(needed, 2 * (length + piece.length), 4096))
      if (acc !== undefined) grown.set(acc.subarray(accStart, accEnd))
      acc = grown
      accStart = 0
      accEnd = length
    }
    acc.set(piece, accEnd)
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
    const out: Array<A> = []
    let stop: number | DecodeError
    if (pendingBytes() === 0) {
      stop = decodeFrom(chunk, 0, chunk.length, out)
      if (typeof stop === "number") {
        acc = undefined
        accStart = accEnd = 0
        if (stop < chunk.length) append(chunk.subarray(stop))
      }
    } else {
      append(chunk)
      if (pendingBytes() < needed) return { messages: NONE, error: undefined }
      stop = decodeFrom(acc!, accStart, accEnd, out)
      if (typeof stop === "number") {
        accStart = stop
        if (accStart === accEnd) {
          acc = undefined
          accStart = accEnd = 0
        }
      }
    }
    if (typeof stop === "number") return { messages: out, error: undefined }
    failed = true
    return { messages: out, error: stop }
  }

  const end = (): DecodeError | undefined =>
    failed || pendingBytes() === 0 ? undefined : new DecodeError({
      reason: "Truncated",
      offset: streamOffset + pendingBytes(),
      detail: `the byte stream ended inside a message (${pendingBytes()} bytes of it received)`,
      path: []
    })

  return { feed, end, pendingBytes }
}
