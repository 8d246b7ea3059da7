/**
 * Incremental decoding of one protocol byte stream in plain synchronous code: byte chunks cut
 * at any point in, whole messages out, in the call that delivered the bytes. This is what a
 * socket's `'data'` handler (client, agent-sim) and `MessageChannel` decode with.
 *
 * A chunk that arrives with nothing pending is decoded in place (payload views into it, no
 * copy). The tail of an unfinished message is kept as a view; later chunks are collected and
 * joined (one copy) once the decoder's lower bound of the message length has arrived. When a
 * join still does not complete the message (its length is learned piece by piece, e.g. a
 * Framed body of many frames), the reader switches to a buffer grown by doubling for that
 * message, so a large message in many chunks costs amortised linear copying. Bytes handed out
 * as views are never overwritten. The size limit is the decoder's (`maxMessageBytes`), so it
 * does not depend on how the bytes were cut.
 *
 * @since 0.2.0
 */
import type { Decoder } from "./Codec.js"
import { MessageReaderImpl } from "./internal/messageReader.js"
import type { DecodeError } from "./ProtocolError.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface MessageReader<A> {
  /**
   * Decodes what `chunk` completes, calling `emit` once per message, in order. Returns the
   * error that stopped decoding; the messages before it (in this chunk too) have been emitted,
   * so the outcome does not depend on how the stream was cut. After an error, further chunks
   * are ignored.
   */
  feed(chunk: Uint8Array, emit: (message: A) => void): DecodeError | undefined
  /**
   * The stream ended here: `Truncated` when it ended inside a message (undefined after an
   * error already returned by `feed`).
   */
  finish(): DecodeError | undefined
  /** Bytes of an unfinished message held. */
  readonly pending: number
  /** Messages decoded so far. */
  readonly decoded: number
}

/**
 * A reader for one byte stream (state is per reader; make one per connection or run). Call
 * `feed`/`finish` as methods (they are not bound).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <A>(decoder: Decoder<A>): MessageReader<A> => new MessageReaderImpl(decoder)
