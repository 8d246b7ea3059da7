/**
 * Incremental decoding of a protocol byte stream straight from a socket's chunks, in plain
 * synchronous code: the simulator's receive path (and the benchmarks' light receivers) decode
 * every chunk in the `'data'` callback that delivered it, with no queue, stream or fiber hop
 * per chunk. Everything that reacts to the messages stays in Effect.
 *
 * Kept for compatibility: a thin adapter over `@mirrord-effect/protocol/MessageReader`, which
 * holds the one implementation (buffering, error offsets, truncation).
 *
 * @since 0.1.0
 */
import type { Decoder } from "@mirrord-effect/protocol/Codec"
import * as ProtocolMessageReader from "@mirrord-effect/protocol/MessageReader"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"

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
  const reader = ProtocolMessageReader.make(decoder)
  let out: Array<A> = []
  const emit = (message: A) => {
    out.push(message)
  }
  const feed = (chunk: Uint8Array): Fed<A> => {
    if (chunk.length === 0) return { messages: NONE, error: undefined }
    out = []
    const error = reader.feed(chunk, emit)
    return { messages: out, error }
  }
  return { feed, end: () => reader.finish(), pendingBytes: () => reader.pending }
}
