import { describe, expect, it } from "@effect/vitest"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

const decodeAll = (pieces: ReadonlyArray<Uint8Array>) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    const result = yield* MessageChannel.decodeStream(Stream.fromIterable(pieces), Codec.decoder("ClientMessage")).pipe(
      Stream.runForEach((m) => Effect.sync(() => seen.push(m._tag))),
      Effect.either
    )
    return { seen, result }
  })

describe("MessageChannel.decodeWith", () => {
  it.effect("emits the messages before an invalid one whatever the chunking", () =>
    Effect.gen(function*() {
      const bytes = Uint8Array.from([0x07, 0x07, 0xff])
      const whole = yield* decodeAll([bytes])
      const single = yield* decodeAll([...bytes].map((b) => Uint8Array.of(b)))
      for (const run of [whole, single]) {
        expect(run.seen).toEqual(["Ping", "Ping"])
        expect(Either.isLeft(run.result) && run.result.left._tag === "DecodeError" && run.result.left.offset).toBe(2)
      }
    }))

  it.effect("fails with Truncated when the stream ends inside a message, after the complete ones", () =>
    Effect.gen(function*() {
      const ping = Codec.encodeClientMessage({ _tag: "Ping" })
      const steal = Codec.encodeClientMessage({
        _tag: "TcpSteal",
        value: { _tag: "PortSubscribe", value: { _tag: "All", value: 8080 } }
      })
      const run = yield* decodeAll([ping, steal.subarray(0, steal.length - 1)])
      expect(run.seen).toEqual(["Ping"])
      expect(Either.isLeft(run.result) && run.result.left.reason).toBe("Truncated")
    }))

  it.effect("a message split across many chunks is decoded once enough bytes arrived", () =>
    Effect.gen(function*() {
      const payload = new Uint8Array(100_000).map((_, i) => i & 0xff)
      const data = Codec.encodeClientMessage({
        _tag: "TcpSteal",
        value: { _tag: "Data", value: { connection_id: 7n, bytes: payload } }
      })
      const pieces: Array<Uint8Array> = []
      for (let i = 0; i < data.length; i += 1000) pieces.push(data.subarray(i, i + 1000))
      const out = yield* MessageChannel.decodeStream(Stream.fromIterable(pieces), Codec.decoder("ClientMessage")).pipe(
        Stream.runCollect
      )
      const m = Chunk.unsafeGet(out, 0)
      expect(m._tag === "TcpSteal" && m.value._tag === "Data" && Buffer.compare(m.value.value.bytes, payload)).toBe(0)
    }))
})

describe("Codec.encodeToSegments", () => {
  it.effect("concatenated segments equal the plain encoding; large payloads are referenced, not copied", () =>
    Effect.sync(() => {
      const big = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff)
      const small = Uint8Array.of(1, 2, 3)
      const messages = [
        { _tag: "Ping" as const },
        { _tag: "TcpSteal" as const, value: { _tag: "Data" as const, value: { connection_id: 1n, bytes: big } } },
        { _tag: "TcpSteal" as const, value: { _tag: "Data" as const, value: { connection_id: 2n, bytes: small } } },
        { _tag: "TcpSteal" as const, value: { _tag: "Data" as const, value: { connection_id: 300n, bytes: big } } }
      ]
      const segments = Codec.encodeToSegments("ClientMessage", messages)
      expect(Buffer.compare(Buffer.concat(segments), Codec.encodeAll("ClientMessage", messages))).toBe(0)
      expect(segments.filter((s) => s === big)).toHaveLength(2)
    }))

  it.effect("the streaming encoder output decodes back to the same messages", () =>
    Effect.gen(function*() {
      const big = new Uint8Array(20_000).fill(9)
      const messages = Array.from({ length: 5 }, (_, i) => ({
        _tag: "TcpSteal" as const,
        value: { _tag: "Data" as const, value: { connection_id: BigInt(i), bytes: i % 2 === 0 ? big : Uint8Array.of(i) } }
      }))
      const bytes = yield* MessageChannel.encodeStream("ClientMessage", Stream.fromIterable(messages)).pipe(
        Stream.runCollect
      )
      const back = yield* MessageChannel.decodeStream(Stream.fromChunk(bytes), Codec.decoder("ClientMessage")).pipe(
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(back).map((m) => m._tag === "TcpSteal" && m.value._tag === "Data" && m.value.value.bytes.length))
        .toEqual([20_000, 1, 20_000, 1, 20_000])
    }))
})

describe("maxMessageBytes", () => {
  const framed = (frames: number) =>
    Codec.encodeClientMessage({
      _tag: "TcpSteal",
      value: {
        _tag: "HttpResponseFramed",
        value: {
          port: 80,
          connection_id: 1n,
          request_id: 0,
          internal_response: {
            status: 200,
            version: "HTTP/1.1",
            headers: [],
            body: Array.from({ length: frames }, () => ({ _tag: "Data" as const, value: new Uint8Array(100) }))
          }
        }
      }
    })

  it("a message whose parts each fit but whose total exceeds the limit is Invalid, present or not", () => {
    const bytes = framed(20) // ~2 KiB of 100-byte frames
    const decoder = Codec.decoder("ClientMessage", { maxMessageBytes: 1000 })
    const whole = decoder.decode(bytes)
    const cut = decoder.decode(bytes.subarray(0, 1500))
    expect(whole._tag === "Invalid" && whole.reason).toBe("MessageTooLarge")
    expect(cut._tag === "Invalid" && cut.reason).toBe("MessageTooLarge")
    expect(Codec.decoder("ClientMessage", { maxMessageBytes: 4000 }).decode(bytes)._tag).toBe("Complete")
  })
})
