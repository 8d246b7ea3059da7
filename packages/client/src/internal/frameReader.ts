/**
 * Incremental message decoding for the socket's `'data'` events: bytes cut at any point in,
 * whole messages out, synchronously, in the event handler itself.
 *
 * Why below Effect: inbound agent bytes are decoded where they arrive, with no fiber hop between
 * the socket and the inbound mailbox. The reader itself (views not copies, an unfinished message
 * accumulated until complete, `Truncated` at the end) is `@mirrord-effect/protocol/MessageReader`.
 * @internal
 */
import type * as Codec from "@mirrord-effect/protocol/Codec"
import * as MessageReader from "@mirrord-effect/protocol/MessageReader"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"

/**
 * The connection's reader (kept as a class so the connection's `new FrameReader(decoder)` stays).
 * @internal
 */
export class FrameReader<A> implements MessageReader.MessageReader<A> {
  private readonly reader: MessageReader.MessageReader<A>

  constructor(decoder: Codec.Decoder<A>) {
    this.reader = MessageReader.make(decoder)
  }

  get pending(): number {
    return this.reader.pending
  }

  get decoded(): number {
    return this.reader.decoded
  }

  feed(chunk: Uint8Array, emit: (message: A) => void): DecodeError | undefined {
    return this.reader.feed(chunk, emit)
  }

  finish(): DecodeError | undefined {
    return this.reader.finish()
  }
}
