/**
 * The two boundaries below Effect, tested directly: `SocketWriter` (corked writes per tick,
 * 'drain' waits) on a real node:net socket pair, and `FrameReader` (incremental decoding)
 * under random chunk boundaries.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Message from "@mirrord-effect/protocol/Message"
import type { DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as net from "node:net"
import { FrameReader } from "../../packages/client/src/internal/frameReader.js"
import { LARGE_SEGMENT, SocketWriter } from "../../packages/client/src/internal/socketWriter.js"

/** A connected pair on 127.0.0.1, with a count of the client socket's writev/write calls. */
const socketPair = Effect.acquireRelease(
  Effect.async<{ client: net.Socket; server: net.Socket; calls: { writev: number; write: number }; close: () => void }>((resume) => {
    const server = net.createServer((accepted) => {
      const calls = { writev: 0, write: 0 }
      const internals = client as unknown as { _writev: (...a: Array<unknown>) => unknown; _write: (...a: Array<unknown>) => unknown }
      const writev = internals._writev.bind(client)
      const write = internals._write.bind(client)
      internals._writev = (...a) => {
        calls.writev++
        return writev(...a)
      }
      internals._write = (...a) => {
        calls.write++
        return write(...a)
      }
      resume(Effect.succeed({ client, server: accepted, calls, close: () => server.close() }))
    })
    let client: net.Socket
    server.listen(0, "127.0.0.1", () => {
      client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1")
    })
  }),
  (pair) =>
    Effect.sync(() => {
      pair.client.destroy()
      pair.server.destroy()
      pair.close()
    })
)

const readAll = (socket: net.Socket, bytes: number) =>
  Effect.async<Uint8Array>((resume) => {
    const parts: Array<Buffer> = []
    let got = 0
    socket.on("data", (chunk: Buffer) => {
      parts.push(chunk)
      got += chunk.length
      if (got >= bytes) resume(Effect.succeed(new Uint8Array(Buffer.concat(parts))))
    })
  })

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe("SocketWriter", () => {
  it.scopedLive("the writes of one tick leave in one writev, in order; small segments joined, large ones as they are", () =>
    Effect.gen(function*() {
      const pair = yield* socketPair
      const writer = new SocketWriter(pair.client)
      const large = bytes(LARGE_SEGMENT * 2, 7)
      const messages = [[bytes(3, 1), bytes(5, 2)], [bytes(10, 3), large, bytes(4, 4)], [bytes(1, 5)]]
      const written: Array<Uint8Array> = []
      const original = pair.client.write.bind(pair.client)
      pair.client.write = ((chunk: Uint8Array, cb?: () => void) => {
        written.push(chunk)
        return original(chunk, cb)
      }) as typeof pair.client.write
      let done = 0
      for (const segments of messages) writer.write(segments, () => done++)
      // nothing reached the socket's write path yet: corked until the end of the tick
      expect(pair.calls.writev + pair.calls.write).toBe(0)
      const expected = Buffer.concat(messages.flat())
      const received = yield* readAll(pair.server, expected.length)
      expect(Buffer.from(received).equals(expected)).toBe(true)
      expect(pair.calls).toEqual({ writev: 1, write: 0 })
      // message 1: joined; message 2: 10 bytes, the large segment itself, 4 bytes; message 3
      expect(written.map((w) => w.length)).toEqual([8, 10, large.length, 4, 1])
      expect(written[2]).toBe(large)
      expect(done).toBe(3)
    }))

  it.scopedLive("needsDrain once the socket's buffer is full; onDrain resumes at 'drain', at once otherwise", () =>
    Effect.gen(function*() {
      const pair = yield* socketPair
      pair.server.pause()
      const writer = new SocketWriter(pair.client)
      let resumedAtOnce = false
      writer.onDrain(() => {
        resumedAtOnce = true
      })
      expect(resumedAtOnce).toBe(true)
      let total = 0
      // fill kernel and user buffers: a bounded number of writes until the socket asks to wait
      while (!writer.needsDrain) {
        writer.write([bytes(1024 * 1024, total)])
        total += 1024 * 1024
        yield* Effect.yieldNow()
        if (total > 512 * 1024 * 1024) throw new Error("the socket never asked for drain")
      }
      const drained = Effect.async<void>((resume) => {
        writer.onDrain(() => resume(Effect.void))
      })
      const received = readAll(pair.server, total)
      pair.server.resume()
      yield* Effect.all([drained, received], { concurrency: 2 })
      expect(writer.needsDrain).toBe(false)
    }))

  it.scopedLive("a waiter is resumed when the socket closes; writes after it report an error", () =>
    Effect.gen(function*() {
      const pair = yield* socketPair
      pair.server.pause()
      const writer = new SocketWriter(pair.client)
      while (!writer.needsDrain) {
        writer.write([bytes(1024 * 1024, 0)])
        yield* Effect.yieldNow()
      }
      const woken = Effect.async<void>((resume) => {
        writer.onDrain(() => resume(Effect.void))
      })
      pair.client.destroy()
      yield* woken
      let failed: unknown
      expect(writer.write([bytes(4, 0)], (e) => {
        failed = e
      })).toBe(false)
      expect(failed).toBeInstanceOf(Error)
    }))
})

describe("FrameReader", () => {
  const daemonMessages = Arbitrary.make(Message.DaemonMessage) as unknown as FastCheck.Arbitrary<DaemonMessage>

  it.prop(
    "messages cut at random points come out whole, in order",
    [FastCheck.array(daemonMessages, { minLength: 1, maxLength: 12 }), FastCheck.array(FastCheck.nat(), { maxLength: 20 })],
    ([messages, cuts]) => {
      const encoded = Codec.encodeAll("DaemonMessage", messages)
      const points = [...new Set(cuts.map((c) => c % (encoded.length + 1)))].sort((a, b) => a - b)
      const reader = new FrameReader(Codec.decoder("DaemonMessage"))
      const out: Array<DaemonMessage> = []
      let from = 0
      for (const to of [...points, encoded.length]) {
        expect(reader.feed(encoded.slice(from, to), (m) => out.push(m))).toBeUndefined()
        from = to
      }
      expect(reader.finish()).toBeUndefined()
      expect(Codec.encodeAll("DaemonMessage", out)).toEqual(encoded)
      expect(reader.decoded).toBe(messages.length)
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("a stream that ends inside a message is Truncated; bad bytes fail after the messages before them", () => {
    const pong = Codec.encode("DaemonMessage", { _tag: "Pong" })
    const log = Codec.encode("DaemonMessage", { _tag: "LogMessage", value: { message: "hello", level: { _tag: "Info" } } })
    const truncated = new FrameReader(Codec.decoder("DaemonMessage"))
    expect(truncated.feed(log.subarray(0, log.length - 1), () => {})).toBeUndefined()
    expect(truncated.finish()?.reason).toBe("Truncated")

    const bad = new FrameReader(Codec.decoder("DaemonMessage"))
    const out: Array<DaemonMessage> = []
    const error = bad.feed(Uint8Array.from([...pong, ...pong, 200]), (m) => out.push(m))
    expect(out).toEqual([{ _tag: "Pong" }, { _tag: "Pong" }])
    expect(error?.offset).toBe(pong.length * 2)
  })

  it("payload views of emitted messages stay valid while later bytes arrive", () => {
    const body = bytes(3 * LARGE_SEGMENT, 9)
    const message: DaemonMessage = { _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: 1n, bytes: body } } }
    const one = Codec.encode("DaemonMessage", message)
    const reader = new FrameReader(Codec.decoder("DaemonMessage"))
    const out: Array<DaemonMessage> = []
    // the first message completes inside the accumulation buffer, the second is appended after it
    reader.feed(one.subarray(0, 10), (m) => out.push(m))
    reader.feed(Uint8Array.from([...one.subarray(10), ...one.subarray(0, 100)]), (m) => out.push(m))
    reader.feed(one.subarray(100), (m) => out.push(m))
    reader.feed(Codec.encode("DaemonMessage", { _tag: "Pong" }), (m) => out.push(m))
    expect(out).toEqual([message, message, { _tag: "Pong" }])
  })
})
