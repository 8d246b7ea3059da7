/**
 * Streaming codecs as `Channel`s, shaped like @effect/platform's `MsgPack`: bytes cut at any
 * point in, messages out (and back). Leftover bytes are carried between chunks; decoder state
 * is created per run. An upstream end inside a message fails with `DecodeError{reason:"Truncated"}`.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { encodeSegments } from "./internal/decode.js"
import { root } from "./internal/messages/index.js"
import type { Codec } from "./internal/wire/codec.js"
import type { Decoder, DecodeOptions } from "./Codec.js"
import { decoder as newestDecoder } from "./Codec.js"
import type { ClientMessage, DaemonMessage, MessageOf, Root } from "./Message.js"
import * as MessageReader from "./MessageReader.js"
import type { DecodeError } from "./ProtocolError.js"

/**
 * Bytes → messages with a given decoder (for example `decoderFor("1.7.0", "ClientMessage")`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeWith = <A>(decoder: Decoder<A>) =>
<IE = never, Done = unknown>(): Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Uint8Array>, IE | DecodeError, IE, Done, Done> =>
  Channel.suspend(() => {
    // one reader per run; messages decoded before a failure in the same input are still
    // emitted, so the output never depends on how the byte stream was chunked
    const reader = MessageReader.make(decoder)
    let out: Array<A> = []
    const emit = (message: A) => {
      out.push(message)
    }
    const feed = (input: Chunk.Chunk<Uint8Array>): { readonly out: Array<A>; readonly error?: DecodeError } => {
      out = []
      for (const piece of input) {
        const error = reader.feed(piece, emit)
        if (error !== undefined) return { out, error }
      }
      return { out }
    }

    const loop: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Uint8Array>, IE | DecodeError, IE, Done, Done> = Channel
      .readWithCause({
        onInput: (input: Chunk.Chunk<Uint8Array>) => {
          const { error, out } = feed(input)
          const next = error === undefined ? loop : Channel.fail(error)
          return out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
        },
        onFailure: Channel.failCause,
        onDone: (done: Done) => {
          const truncated = reader.finish()
          return truncated !== undefined ? Channel.fail(truncated) : Channel.succeed(done)
        }
      })
    return loop
  })

/**
 * Messages → bytes: each input chunk becomes one buffer (sized exactly, allocated once), or a
 * few when messages carry large payloads, which are passed through without a copy.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeWith = <A>(codec: Codec<A>) =>
<IE = never, Done = unknown>(): Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<A>, IE, IE, Done, Done> => {
  const loop: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<A>, IE, IE, Done, Done> = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<A>) =>
      Chunk.isEmpty(input)
        ? loop
        : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(encodeSegments(codec, input))), loop),
    onFailure: Channel.failCause,
    onDone: Channel.succeed
  })
  return loop
}

/** @since 0.1.0 @category decoding */
export const decodeClientMessages = <IE = never, Done = unknown>(options?: DecodeOptions) =>
  decodeWith(newestDecoder("ClientMessage", options))<IE, Done>()

/** @since 0.1.0 @category decoding */
export const decodeDaemonMessages = <IE = never, Done = unknown>(options?: DecodeOptions) =>
  decodeWith(newestDecoder("DaemonMessage", options))<IE, Done>()

/** @since 0.1.0 @category encoding */
export const encodeClientMessages = <IE = never, Done = unknown>() =>
  encodeWith(root.ClientMessage as Codec<ClientMessage>)<IE, Done>()

/** @since 0.1.0 @category encoding */
export const encodeDaemonMessages = <IE = never, Done = unknown>() =>
  encodeWith(root.DaemonMessage as Codec<DaemonMessage>)<IE, Done>()

/** @since 0.1.0 @category encoding */
export const encodeMessages = <R extends Root, IE = never, Done = unknown>(rootName: R) =>
  encodeWith((rootName === "ClientMessage" ? root.ClientMessage : root.DaemonMessage) as unknown as Codec<
    MessageOf<R>
  >)<IE, Done>()

/**
 * The client side of a connection: a byte channel (e.g. `Socket.toChannel(socket)`) becomes a
 * channel that takes `ClientMessage`s and emits `DaemonMessage`s.
 *
 * @since 0.1.0
 * @category combinators
 */
export const duplexClient = <R, IE, OE, OutDone, InDone>(
  self: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, OE, IE, OutDone, InDone, R>,
  options?: DecodeOptions
): Channel.Channel<Chunk.Chunk<DaemonMessage>, Chunk.Chunk<ClientMessage>, OE | DecodeError, IE, OutDone, InDone, R> =>
  Channel.pipeTo(
    Channel.pipeTo(encodeClientMessages<IE, InDone>(), self),
    decodeWith(newestDecoder("DaemonMessage", options))<OE, OutDone>()
  )

/**
 * The agent side: takes `DaemonMessage`s and emits `ClientMessage`s, decoding with `decoder`
 * (e.g. `decoderFor(agentVersion, "ClientMessage")` to behave like an agent of that version).
 *
 * @since 0.1.0
 * @category combinators
 */
export const duplexAgent = <R, IE, OE, OutDone, InDone>(
  self: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, OE, IE, OutDone, InDone, R>,
  decoder: Decoder<ClientMessage> = newestDecoder("ClientMessage")
): Channel.Channel<Chunk.Chunk<ClientMessage>, Chunk.Chunk<DaemonMessage>, OE | DecodeError, IE, OutDone, InDone, R> =>
  Channel.pipeTo(
    Channel.pipeTo(encodeDaemonMessages<IE, InDone>(), self),
    decodeWith(decoder)<OE, OutDone>()
  )

/**
 * Decodes a byte stream into messages.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeStream = <A, E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  decoder: Decoder<A>
): Stream.Stream<A, E | DecodeError, R> => Stream.pipeThroughChannelOrFail(bytes, decodeWith(decoder)<E, unknown>())

/**
 * Encodes a stream of messages into a byte stream.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeStream = <R extends Root, E, Env>(
  rootName: R,
  messages: Stream.Stream<MessageOf<R>, E, Env>
): Stream.Stream<Uint8Array, E, Env> => Stream.pipeThroughChannel(messages, encodeMessages<R, E, unknown>(rootName))
