/**
 * `@mirrord-effect/protocol/MessageReader` tested directly, under random chunk boundaries: every
 * message of a random sequence comes out equal and in order; an end inside a message is
 * `Truncated` at the byte where the stream stopped, with the whole messages before it emitted;
 * an invalid message after valid ones stops decoding at its offset with the valid ones emitted;
 * the size limit and payload views do not depend on how the bytes were cut.
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Message from "@mirrord-effect/protocol/Message"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as MessageReader from "@mirrord-effect/protocol/MessageReader"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"

const clientMessages = Arbitrary.make(Message.ClientMessage) as unknown as FastCheck.Arbitrary<ClientMessage>

/** Cuts `bytes` at `cuts` (positions modulo the length, any order, duplicates allowed). */
const cut = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Array<Uint8Array> = []
  let from = 0
  for (const p of [...points, bytes.length]) {
    // a copy per piece, as sockets hand out separate buffers
    pieces.push(Uint8Array.from(bytes.subarray(from, p)))
    from = p
  }
  return pieces
}

/** Feeds every piece; the messages emitted and the first error (pieces after it are still fed). */
const feedAll = (reader: MessageReader.MessageReader<ClientMessage>, pieces: ReadonlyArray<Uint8Array>) => {
  const out: Array<ClientMessage> = []
  let error: DecodeError | undefined
  for (const piece of pieces) {
    const e = reader.feed(piece, (m) => out.push(m))
    error ??= e
  }
  return { out, error }
}

/** Compared through the canonical bytes: Uint8Array views and copies compare equal that way. */
const bytesOf = (messages: ReadonlyArray<ClientMessage>) => Codec.encodeAll("ClientMessage", messages)

const body = (connection_id: bigint, bytes: Uint8Array): ClientMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponseChunked",
    value: { _tag: "Body", value: { connection_id, request_id: 0, frames: [{ _tag: "Data", value: bytes }], is_last: false } }
  }
})

/** a variant index no ClientMessage has (a one-byte varint) */
const UNKNOWN_VARIANT = 250

describe("MessageReader (protocol)", () => {
  it("every message of a random sequence comes out equal, in order, under any chunking", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(clientMessages, { minLength: 1, maxLength: 10 }),
        FastCheck.array(FastCheck.nat(), { maxLength: 16 }),
        (messages, cuts) => {
          const bytes = bytesOf(messages)
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const { error, out } = feedAll(reader, cut(bytes, cuts))
          expect(error).toBeUndefined()
          expect(out).toHaveLength(messages.length)
          expect(reader.decoded).toBe(messages.length)
          out.forEach((m, i) => expect(bytesOf([m])).toEqual(bytesOf([messages[i]!])))
          expect(reader.pending).toBe(0)
          expect(reader.finish()).toBeUndefined()
        }
      ),
      { numRuns: 150 }
    )
  })

  it("an end inside a message is Truncated at the last byte received; the whole messages before it are emitted", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(clientMessages, { maxLength: 6 }),
        clientMessages,
        FastCheck.nat(),
        FastCheck.array(FastCheck.nat(), { maxLength: 12 }),
        (whole, last, keep, cuts) => {
          const prefix = bytesOf(whole)
          const lastBytes = bytesOf([last])
          // 1 .. length-1 bytes of the last message arrive (never all of it)
          const received = lastBytes.length < 2 ? 0 : 1 + (keep % (lastBytes.length - 1))
          const bytes = Uint8Array.from([...prefix, ...lastBytes.subarray(0, received)])
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const { error, out } = feedAll(reader, cut(bytes, cuts))
          expect(error).toBeUndefined()
          expect(bytesOf(out)).toEqual(prefix)
          expect(reader.pending).toBe(received)
          const truncated = reader.finish()
          if (received === 0) {
            expect(truncated).toBeUndefined()
          } else {
            expect(truncated).toMatchObject({ _tag: "DecodeError", reason: "Truncated", offset: bytes.length })
          }
        }
      ),
      { numRuns: 150 }
    )
  })

  it("an invalid message after valid ones: the valid ones are emitted, the error has the invalid one's offset, nothing after it", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(clientMessages, { maxLength: 6 }),
        FastCheck.array(clientMessages, { maxLength: 3 }),
        FastCheck.array(FastCheck.nat(), { maxLength: 12 }),
        (valid, after, cuts) => {
          const prefix = bytesOf(valid)
          const bytes = Uint8Array.from([...prefix, UNKNOWN_VARIANT, ...bytesOf(after)])
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const { error, out } = feedAll(reader, cut(bytes, cuts))
          expect(bytesOf(out)).toEqual(prefix)
          expect(error).toMatchObject({ _tag: "DecodeError", reason: "UnknownVariant", offset: prefix.length })
          // the reader is stopped: later bytes are ignored, the end is not reported again
          expect(reader.feed(bytesOf([{ _tag: "Ping" }]), () => expect.fail("emitted after an error"))).toBeUndefined()
          expect(reader.finish()).toBeUndefined()
          expect(reader.pending).toBe(0)
        }
      ),
      { numRuns: 150 }
    )
  })

  it("the decoder's size limit fails the same way under any chunking", () => {
    const decoder = Codec.decoder("ClientMessage", { maxMessageBytes: 1000 })
    const small = bytesOf([body(1n, new Uint8Array(100).fill(1))])
    const bytes = Uint8Array.from([...small, ...bytesOf([body(2n, new Uint8Array(5000).fill(2))])])
    const whole = feedAll(MessageReader.make(decoder), [bytes])
    expect(whole.error).toMatchObject({ reason: "MessageTooLarge" })
    expect(bytesOf(whole.out)).toEqual(small)
    FastCheck.assert(
      FastCheck.property(FastCheck.array(FastCheck.nat(), { maxLength: 30 }), (cuts) => {
        const reader = MessageReader.make(decoder)
        const { error, out } = feedAll(reader, cut(bytes, cuts))
        expect(bytesOf(out)).toEqual(small)
        expect(error).toMatchObject({ reason: "MessageTooLarge", offset: whole.error!.offset })
        // the oversized message is refused before all of it is held
        expect(reader.pending).toBe(0)
      }),
      { numRuns: 100 }
    )
  })

  it("payload views handed out stay intact while later chunks arrive (large messages in small pieces too)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.uint8Array({ minLength: 0, maxLength: 20000 }), { minLength: 1, maxLength: 6 }),
        FastCheck.array(FastCheck.nat(), { maxLength: 40 }),
        (payloads, cuts) => {
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const { error, out } = feedAll(reader, cut(bytesOf(payloads.map((p, i) => body(BigInt(i), p))), cuts))
          expect(error).toBeUndefined()
          expect(out).toHaveLength(payloads.length)
          out.forEach((m, i) => {
            if (m._tag !== "TcpSteal" || m.value._tag !== "HttpResponseChunked" || m.value.value._tag !== "Body") {
              throw new Error(`unexpected ${m._tag}`)
            }
            const data = m.value.value.value.frames.flatMap((f) => (f._tag === "Data" ? [f.value] : []))
            expect(Buffer.concat(data).equals(Buffer.from(payloads[i]!))).toBe(true)
          })
        }
      ),
      { numRuns: 100 }
    )
  })
})
