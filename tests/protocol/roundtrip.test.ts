/**
 * Property tests over values generated from the message Schemas: byte-exact round trips,
 * canonical JSON round trips, the streaming Channel under random chunking, and the
 * per-version decoders agreeing with `sinceVersion`.
 */
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Files from "@mirrord-effect/protocol/Files"
import * as Message from "@mirrord-effect/protocol/Message"
import type { ClientMessage, DaemonMessage, MessageOf, Root } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"

const clientMessages = Arbitrary.make(Message.ClientMessage)
const daemonMessages = Arbitrary.make(Message.DaemonMessage)

const arbitraryOf = <R extends Root>(root: R): FastCheck.Arbitrary<MessageOf<R>> =>
  (root === "ClientMessage" ? clientMessages : daemonMessages) as unknown as FastCheck.Arbitrary<MessageOf<R>>

// inner types, carried by the one message that holds exactly that value
const innerTypes: ReadonlyArray<readonly [string, FastCheck.Arbitrary<ClientMessage | DaemonMessage>, Root]> = [
  [
    "HttpFilter (recursive)",
    Arbitrary.make(Tcp.HttpFilter).map((filter): ClientMessage => ({
      _tag: "Tcp",
      value: { _tag: "PortSubscribeFilteredHttp", values: [80, filter] }
    })),
    "ClientMessage"
  ],
  [
    "HeaderMap",
    Arbitrary.make(Tcp.HeaderMap).map((headers): ClientMessage => ({
      _tag: "TcpSteal",
      value: {
        _tag: "HttpResponse",
        value: {
          port: 80,
          connection_id: 1n,
          request_id: 0,
          internal_response: { status: 200, version: "HTTP/1.1", headers, body: new Uint8Array(0) }
        }
      }
    })),
    "ClientMessage"
  ],
  [
    "BodyFrame list",
    FastCheck.array(Arbitrary.make(Tcp.BodyFrame), { maxLength: 6 }).map((frames): ClientMessage => ({
      _tag: "TcpSteal",
      value: {
        _tag: "HttpResponseChunked",
        value: { _tag: "Body", value: { frames, is_last: false, connection_id: 7n, request_id: 3 } }
      }
    })),
    "ClientMessage"
  ],
  [
    "DaemonTcp",
    Arbitrary.make(Tcp.DaemonTcp).map((value): DaemonMessage => ({ _tag: "TcpSteal", value })),
    "DaemonMessage"
  ],
  [
    "FileRequest",
    Arbitrary.make(Files.FileRequest).map((value): ClientMessage => ({ _tag: "FileRequest", value })),
    "ClientMessage"
  ],
  [
    "FileResponse",
    Arbitrary.make(Files.FileResponse).map((value): DaemonMessage => ({ _tag: "File", value })),
    "DaemonMessage"
  ]
]

const roundTrips = (root: Root, message: ClientMessage | DaemonMessage): void => {
  const bytes = Codec.encode(root, message as never)
  expect(Codec.encodedSize(root, message as never)).toBe(bytes.length)
  const r = Codec.decoder(root).decode(bytes)
  if (r._tag !== "Complete") throw new Error(`decode: ${JSON.stringify(r)}`)
  expect(r.bytesConsumed).toBe(bytes.length)
  expect(r.message).toEqual(message)
  expect(Codec.encode(root, r.message as never)).toEqual(bytes)
  // through JSON text, as the CLI does
  const canon = JSON.parse(JSON.stringify(Canonical.toCanonical(root, message as never)))
  const back = Canonical.fromCanonical(root, canon)
  if (Either.isLeft(back)) throw new Error(back.left.message)
  expect(back.right).toEqual(message)
}

/** Cuts `bytes` at the given sizes (cycled), every piece at least 1 byte. */
const cut = (bytes: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let at = 0
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.min(bytes.length - at, sizes[i % sizes.length]!)
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

/** Every message the channel emits, then its failure if any. */
const streamThroughChannel = <R extends Root>(root: R, pieces: ReadonlyArray<Uint8Array>) =>
  MessageChannel.decodeStream(Stream.fromChunks(...pieces.map((p) => Chunk.of(p))), Codec.decoder(root)).pipe(
    Stream.either,
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.runSync
  )

const chunkSizes = FastCheck.oneof(
  FastCheck.constant([1]),
  FastCheck.array(FastCheck.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 })
)

for (const root of ["ClientMessage", "DaemonMessage"] as const) {
  describe(root, () => {
    it.effect("decode(encode(m)) = m, re-encoding is byte-identical, canonical JSON round-trips", () =>
      Effect.sync(() =>
        FastCheck.assert(FastCheck.property(arbitraryOf(root), (m) => roundTrips(root, m)), { numRuns: 400 })
      ))

    it.effect("decoderFor(sinceVersion(m)) accepts, the release before rejects with UnknownVariant", () =>
      Effect.sync(() =>
        FastCheck.assert(
          FastCheck.property(arbitraryOf(root), (m) => {
            const bytes = Codec.encode(root, m)
            const since = Codec.sinceVersion(root, m)
            // the arbitraries make 1.29-valid HTTP values; old eras' HTTP rules are tested in edges.test.ts
            const variantsOnly = { httpValidation: "newest" } as const
            expect(Codec.decoderFor(since, root, variantsOnly).decode(bytes)._tag).toBe("Complete")
            if (since === "1.0.0") return
            const before = VariantHistory.releaseBefore(since)!
            const older = Codec.decoderFor(before, root, variantsOnly).decode(bytes)
            expect(older).toMatchObject({ _tag: "Invalid", reason: "UnknownVariant" })
            expect(Codec.firstUndecodableVariant(root, m, before)?.since).toBe(since)
          }),
          { numRuns: 300 }
        )
      ))

    it.effect("the streaming Channel decodes random messages cut at random boundaries", () =>
      Effect.sync(() =>
        FastCheck.assert(
          FastCheck.property(
            FastCheck.array(arbitraryOf(root), { minLength: 1, maxLength: 10 }),
            chunkSizes,
            (messages, sizes) => {
              const bytes = Codec.encodeAll(root, messages)
              const out = streamThroughChannel(root, cut(bytes, sizes))
              expect(out.every(Either.isRight)).toBe(true)
              expect(out.map((e) => Either.getOrThrow(e))).toEqual(messages)
            }
          ),
          { numRuns: 150 }
        )
      ))

    it.effect("a stream cut inside its last message emits the others, then fails with Truncated", () =>
      Effect.sync(() =>
        FastCheck.assert(
          FastCheck.property(
            FastCheck.array(arbitraryOf(root), { minLength: 1, maxLength: 6 }),
            chunkSizes,
            FastCheck.nat(),
            (messages, sizes, seed) => {
              const last = Codec.encode(root, messages[messages.length - 1]!)
              FastCheck.pre(last.length > 1)
              const bytes = Codec.encodeAll(root, messages)
              const drop = 1 + (seed % (last.length - 1))
              const out = streamThroughChannel(root, cut(bytes.subarray(0, bytes.length - drop), sizes))
              expect(out.length).toBe(messages.length)
              expect(out.slice(0, -1).map((e) => Either.getOrThrow(e))).toEqual(messages.slice(0, -1))
              const failure = out[out.length - 1]!
              expect(Either.isLeft(failure) && failure.left.reason).toBe("Truncated")
            }
          ),
          { numRuns: 100 }
        )
      ))
  })
}

describe("inner types", () => {
  for (const [name, arbitrary, root] of innerTypes) {
    it.effect(`${name}: round trips inside a message`, () =>
      Effect.sync(() => FastCheck.assert(FastCheck.property(arbitrary, (m) => roundTrips(root, m)), { numRuns: 200 })))
  }
})
