/**
 * MessageReader, agent-sim's synchronous receive loop, tested directly: any cut of a byte
 * stream of messages yields the same messages as decoding them one by one; payload views stay
 * intact after later chunks; a garbage byte stops decoding with the messages before it kept; an
 * end inside a message is `Truncated`.
 */
import * as MessageReader from "@mirrord-effect/agent-sim/MessageReader"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Message from "@mirrord-effect/protocol/Message"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"

const clientMessages = Arbitrary.make(Message.ClientMessage) as unknown as FastCheck.Arbitrary<ClientMessage>

/** Cuts `bytes` at `cuts` (positions, any order, duplicates allowed). */
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

const body = (connection_id: bigint, bytes: Uint8Array): ClientMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponseChunked",
    value: { _tag: "Body", value: { connection_id, request_id: 0, frames: [{ _tag: "Data", value: bytes }], is_last: false } }
  }
})

describe("MessageReader", () => {
  it("any chunking of a message stream decodes to the same messages", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(clientMessages, { minLength: 1, maxLength: 8 }),
        FastCheck.array(FastCheck.nat(), { maxLength: 12 }),
        (messages, cuts) => {
          const bytes = Codec.encodeAll("ClientMessage", messages)
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const out: Array<ClientMessage> = []
          for (const piece of cut(bytes, cuts)) {
            const fed = reader.feed(piece)
            expect(fed.error).toBeUndefined()
            out.push(...fed.messages)
          }
          expect(reader.end()).toBeUndefined()
          expect(reader.pendingBytes()).toBe(0)
          // compared through the canonical bytes: Uint8Array views and copies compare equal that way
          expect(Codec.encodeAll("ClientMessage", out)).toEqual(bytes)
        }
      ),
      { numRuns: 100 }
    )
  })

  it("payload views handed out stay intact while later chunks arrive", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.uint8Array({ minLength: 0, maxLength: 3000 }), { minLength: 1, maxLength: 6 }),
        FastCheck.array(FastCheck.nat(), { maxLength: 20 }),
        (payloads, cuts) => {
          const messages = payloads.map((p, i) => body(BigInt(i), p))
          const reader = MessageReader.make(Codec.decoder("ClientMessage"))
          const out: Array<ClientMessage> = []
          for (const piece of cut(Codec.encodeAll("ClientMessage", messages), cuts)) out.push(...reader.feed(piece).messages)
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

  it("a large message in many small chunks is decoded once it is complete", () => {
    const payload = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff)
    const bytes = Codec.encode("ClientMessage", body(1n, payload))
    const reader = MessageReader.make(Codec.decoder("ClientMessage"))
    let decoded: Array<ClientMessage> = []
    for (let at = 0; at < bytes.length; at += 1000) {
      const fed = reader.feed(bytes.subarray(at, Math.min(bytes.length, at + 1000)))
      if (at + 1000 < bytes.length) expect(fed.messages).toEqual([])
      else decoded = fed.messages
    }
    expect(decoded).toHaveLength(1)
    expect(Codec.encode("ClientMessage", decoded[0]!)).toEqual(bytes)
  })

  it("a message whose length is learned frame by frame (Framed, many frames) arrives in small pieces", () => {
    const frames = Array.from({ length: 50 }, (_, i) => ({ _tag: "Data" as const, value: new Uint8Array(1000).fill(i) }))
    const framed: ClientMessage = {
      _tag: "TcpSteal",
      value: {
        _tag: "HttpResponseFramed",
        value: { port: 80, connection_id: 2n, request_id: 0, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: frames } }
      }
    }
    const ping = Codec.encode("ClientMessage", { _tag: "Ping" })
    const bytes = Uint8Array.from([...Codec.encode("ClientMessage", framed), ...ping])
    const reader = MessageReader.make(Codec.decoder("ClientMessage"))
    const out: Array<ClientMessage> = []
    for (let at = 0; at < bytes.length; at += 100) out.push(...reader.feed(bytes.slice(at, at + 100)).messages)
    expect(out.map((m) => m._tag)).toEqual(["TcpSteal", "Ping"])
    expect(Codec.encode("ClientMessage", out[0]!)).toEqual(Codec.encode("ClientMessage", framed))
    expect(reader.pendingBytes()).toBe(0)
  })

  it("garbage stops decoding with a typed error; the messages before it in the same chunk are kept", () => {
    const ping = Codec.encode("ClientMessage", { _tag: "Ping" })
    const reader = MessageReader.make(Codec.decoder("ClientMessage"))
    const fed = reader.feed(Uint8Array.from([...ping, ...ping, 0xfe, 0xff]))
    expect(fed.messages).toEqual([{ _tag: "Ping" }, { _tag: "Ping" }])
    expect(fed.error).toMatchObject({ _tag: "DecodeError", offset: ping.length * 2 })
    // nothing more is decoded after an error
    expect(reader.feed(ping)).toEqual({ messages: [], error: undefined })
  })

  it("a version's decoder refuses a newer variant with UnknownVariant", () => {
    const chunkedStart: ClientMessage = {
      _tag: "TcpSteal",
      value: {
        _tag: "HttpResponseChunked",
        value: {
          _tag: "Start",
          value: { port: 80, connection_id: 1n, request_id: 0, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [] } }
        }
      }
    }
    const reader = MessageReader.make(Codec.decoderFor("1.7.0", "ClientMessage"))
    const fed = reader.feed(Codec.encode("ClientMessage", chunkedStart))
    expect(fed.messages).toEqual([])
    expect(fed.error).toMatchObject({ reason: "UnknownVariant" })
  })

  it("an end inside a message is Truncated", () => {
    const bytes = Codec.encode("ClientMessage", body(1n, new Uint8Array(100)))
    const reader = MessageReader.make(Codec.decoder("ClientMessage"))
    expect(reader.feed(bytes.subarray(0, 50)).messages).toEqual([])
    expect(reader.pendingBytes()).toBe(50)
    expect(reader.end()).toMatchObject({ reason: "Truncated", offset: 50 })
  })
})
