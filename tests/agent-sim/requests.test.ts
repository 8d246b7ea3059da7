import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as ResponseEvent from "@mirrord-effect/agent-sim/ResponseEvent"
import type { DaemonMessage } from "@mirrord-effect/protocol/Message"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import type { TestClient } from "./support/testClient.js"
import { connectClient, dec, enc, headers, negotiate, steal, stealFiltered, subscribe, tcpOf } from "./support/testClient.js"

const userFilter: Tcp.HttpFilter = { _tag: "Header", value: "^x-user: me$" }
const request = (body?: AgentSim.HttpRequestInput["body"]): AgentSim.HttpRequestInput => ({
  method: "POST",
  uri: "/items?x=1",
  headers: headers(["x-user", "me"], ["content-type", "text/plain"]),
  ...(body === undefined ? {} : { body })
})

/** A sim of `agent`, a client negotiated to `client` (or not at all), subscribed with a header filter. */
const setup = (agent: string, client: string | undefined) =>
  Effect.gen(function*() {
    const sim = yield* AgentSim.make({ version: agent })
    const c = yield* connectClient(sim.address)
    if (client !== undefined) yield* negotiate(c, client)
    expect(yield* subscribe(c, stealFiltered(80, userFilter))).toEqual({ _tag: "Ok", value: 80 })
    return { sim, client: c }
  })

const nextTcp = (client: TestClient) => Effect.flatMap(client.next(), (m) => tcpOf(m))

const basicResponse = (connection_id: bigint, request_id: number, status: number, body: string) =>
  steal({
    _tag: "HttpResponse",
    value: { port: 80, connection_id, request_id, internal_response: { status, version: "HTTP/1.1", headers: headers(["content-length", String(body.length)]), body: enc(body) } }
  })

const idsOf = (tcp: Tcp.DaemonTcp): { connection_id: bigint; request_id: number } => {
  switch (tcp._tag) {
    case "HttpRequest":
    case "HttpRequestFramed":
      return tcp.value
    case "HttpRequestChunked":
      return tcp.value._tag === "StartV2" || tcp.value._tag === "StartV1" ? tcp.value.value : tcp.value.value
    default:
      throw new Error(`not a request: ${tcp._tag}`)
  }
}

const variantName = (tcp: Tcp.DaemonTcp) => (tcp._tag === "HttpRequestChunked" ? `HttpRequestChunked/${tcp.value._tag}` : tcp._tag)

describe("AgentSim requests", () => {
  // (agent, client negotiated) → the variant a real agent of that version sends
  const table: ReadonlyArray<readonly [string, string | undefined, string]> = [
    ["1.29.0", undefined, "HttpRequest"], // no negotiation: the client counts as 1.2.2
    ["1.29.0", "1.5.0", "HttpRequestFramed"],
    ["1.4.0", "1.29.0", "HttpRequestFramed"], // echo era: the agent itself is 1.4.0
    ["1.29.0", "1.8.1", "HttpRequestChunked/StartV1"],
    ["1.18.2", "1.29.0", "HttpRequestChunked/StartV1"],
    ["1.19.0", "1.29.0", "HttpRequestChunked/StartV2"]
  ]
  for (const [agent, clientVersion, expected] of table) {
    it.scopedLive(`agent ${agent}, client ${clientVersion ?? "not negotiated"}: ${expected}, then Close after the response`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup(agent, clientVersion)
        const response = yield* sim.request(80, request(enc("hello"))).pipe(Stream.runCollect, Effect.fork)
        const first = yield* nextTcp(client)
        expect(variantName(first)).toBe(expected)
        const ids = idsOf(first)
        expect(ids.request_id).toBe(0)
        // the whole body went out (buffered variants, or Start + a final Body for StartV1)
        const sent: Array<Uint8Array> = []
        if (first._tag === "HttpRequest") sent.push(first.value.internal_request.body)
        if (first._tag === "HttpRequestFramed") {
          for (const f of first.value.internal_request.body) if (f._tag === "Data") sent.push(f.value)
        }
        if (first._tag === "HttpRequestChunked" && first.value._tag === "StartV1") {
          for (const f of first.value.value.internal_request.body) if (f._tag === "Data") sent.push(f.value)
          const last = yield* nextTcp(client)
          expect(last).toMatchObject({ _tag: "HttpRequestChunked", value: { _tag: "Body", value: { frames: [], is_last: true } } })
        }
        if (first._tag === "HttpRequestChunked" && first.value._tag === "StartV2") {
          const start = first.value.value
          expect(start.request.body.is_last).toBe(true)
          expect(start.metadata).toEqual({ _tag: "V1", source: "10.0.0.1:40000", destination: "10.0.0.2:80" })
          expect(start.transport).toEqual({ _tag: "Tcp" })
          for (const f of start.request.body.frames) if (f._tag === "Data") sent.push(f.value)
        }
        expect(dec(Buffer.concat(sent))).toBe("hello")
        yield* client.send(basicResponse(ids.connection_id, 0, 201, "made"))
        const events = Chunk.toArray(yield* Fiber.join(response))
        expect(events.map((e) => e._tag)).toEqual(["Head", "Data", "End"])
        expect(events[0]).toMatchObject({ status: 201, variant: "HttpResponse" })
        expect(ResponseEvent.textOf(events)).toBe("made")
        expect(yield* nextTcp(client)).toEqual({ _tag: "Close", value: { connection_id: ids.connection_id } })
      }), 60_000)
  }

  it.scopedLive("a streamed request body goes out frame by frame as the stream produces it", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      const chunks = yield* Queue.unbounded<Uint8Array>()
      const body = Stream.fromQueue(chunks).pipe(Stream.takeWhile((c) => c.length > 0))
      yield* sim.request(80, { ...request(body), trailers: headers(["x-checksum", "42"]) }).pipe(Stream.runDrain, Effect.fork)
      const start = yield* nextTcp(client)
      expect(start).toMatchObject({ _tag: "HttpRequestChunked", value: { _tag: "StartV2", value: { request: { body: { frames: [], is_last: false } } } } })
      expect(yield* client.nothingWithin(100)).toBe(true)
      yield* Queue.offer(chunks, enc("one"))
      expect(yield* nextTcp(client)).toMatchObject({ value: { _tag: "Body", value: { frames: [{ _tag: "Data", value: enc("one") }], is_last: false } } })
      expect(yield* client.nothingWithin(100)).toBe(true)
      yield* Queue.offer(chunks, enc("two"))
      expect(yield* nextTcp(client)).toMatchObject({ value: { _tag: "Body", value: { frames: [{ _tag: "Data", value: enc("two") }], is_last: false } } })
      yield* Queue.offer(chunks, new Uint8Array(0)) // ends the body
      expect(yield* nextTcp(client)).toMatchObject({ value: { _tag: "Body", value: { frames: [{ _tag: "Trailers", value: headers(["x-checksum", "42"]) }], is_last: false } } })
      expect(yield* nextTcp(client)).toMatchObject({ value: { _tag: "Body", value: { frames: [], is_last: true } } })
    }), 60_000)

  it.scopedLive("reassembles Framed (with trailers) and Chunked (Start, Body, is_last) responses", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      // Framed
      const framed = yield* sim.request(80, request()).pipe(Stream.runCollect, Effect.fork)
      const ids1 = idsOf(yield* nextTcp(client))
      yield* client.send(steal({
        _tag: "HttpResponseFramed",
        value: {
          port: 80,
          ...ids1,
          internal_response: {
            status: 200,
            version: "HTTP/1.1",
            headers: headers(["grpc", "yes"]),
            body: [{ _tag: "Data", value: enc("ab") }, { _tag: "Data", value: enc("c") }, { _tag: "Trailers", value: headers(["grpc-status", "0"]) }]
          }
        }
      }))
      const framedEvents = Chunk.toArray(yield* Fiber.join(framed))
      expect(framedEvents.map((e) => e._tag)).toEqual(["Head", "Data", "Data", "Trailers", "End"])
      expect(framedEvents[0]).toMatchObject({ variant: "HttpResponseFramed", status: 200 })
      expect(framedEvents[3]).toMatchObject({ headers: headers(["grpc-status", "0"]) })
      expect(yield* nextTcp(client)).toEqual({ _tag: "Close", value: { connection_id: ids1.connection_id } })

      // Chunked: events arrive as the messages do
      const events = yield* Queue.unbounded<ResponseEvent.ResponseEvent>()
      const fiber = yield* sim.request(80, request()).pipe(Stream.runForEach((e) => Queue.offer(events, e)), Effect.fork)
      const ids2 = idsOf(yield* nextTcp(client))
      expect(ids2.connection_id).not.toBe(ids1.connection_id)
      yield* client.send(steal({
        _tag: "HttpResponseChunked",
        value: { _tag: "Start", value: { port: 80, ...ids2, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [{ _tag: "Data", value: enc("x") }] } } }
      }))
      expect(yield* Queue.take(events)).toMatchObject({ _tag: "Head", variant: "HttpResponseChunked" })
      expect(yield* Queue.take(events)).toMatchObject({ _tag: "Data", bytes: enc("x") })
      yield* client.send(steal({ _tag: "HttpResponseChunked", value: { _tag: "Body", value: { ...ids2, frames: [{ _tag: "Data", value: enc("y") }], is_last: false } } }))
      expect(yield* Queue.take(events)).toMatchObject({ _tag: "Data", bytes: enc("y") })
      expect(yield* client.nothingWithin(50)).toBe(true) // no Close while the body is open
      yield* client.send(steal({ _tag: "HttpResponseChunked", value: { _tag: "Body", value: { ...ids2, frames: [], is_last: true } } }))
      expect(yield* Queue.take(events)).toMatchObject({ _tag: "End" })
      yield* Fiber.join(fiber)
      expect(yield* nextTcp(client)).toEqual({ _tag: "Close", value: { connection_id: ids2.connection_id } })
      expect(yield* sim.receivedVariants(1)).toContain("TcpSteal/HttpResponseChunked/Start")
    }), 60_000)

  it.scopedLive("a chunked Error ends the response with an Error event and no Close", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      const fiber = yield* sim.request(80, request()).pipe(Stream.runCollect, Effect.fork)
      const ids = idsOf(yield* nextTcp(client))
      yield* client.send(steal({
        _tag: "HttpResponseChunked",
        value: { _tag: "Start", value: { port: 80, ...ids, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [] } } }
      }))
      yield* client.send(steal({ _tag: "HttpResponseChunked", value: { _tag: "Error", value: ids } }))
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      expect(events.map((e) => e._tag)).toEqual(["Head", "Error"])
      expect(yield* client.nothingWithin(100)).toBe(true)
    }), 60_000)

  it.scopedLive("a 1.7.0 agent drops the client without Close on HttpResponseChunked, and request fails saying so", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.7.0", "1.29.0")
      const fiber = yield* sim.request(80, request(enc("x"))).pipe(Stream.runCollect, Effect.fork)
      const start = yield* nextTcp(client)
      expect(variantName(start)).toBe("HttpRequestChunked/StartV1")
      expect(yield* nextTcp(client)).toMatchObject({ value: { _tag: "Body", value: { is_last: true } } })
      const ids = idsOf(start)
      yield* client.send(steal({
        _tag: "HttpResponseChunked",
        value: { _tag: "Start", value: { port: 80, ...ids, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [] } } }
      }))
      const after = yield* client.ended()
      expect(after.some((m: DaemonMessage) => m._tag === "Close")).toBe(false)
      const exit = yield* Effect.exit(Fiber.join(fiber))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(String(exit.cause)).toContain("ClientDropped")
        expect(String(exit.cause)).toContain("LayerTcpSteal variant 6 (HttpResponseChunked")
      }
      const [drop] = yield* sim.drops
      expect(drop).toMatchObject({ reason: "UnknownVariant", path: ["ClientMessage::TcpSteal", "LayerTcpSteal"], enumName: "LayerTcpSteal", index: 6, variantName: "HttpResponseChunked", since: "1.8.0" })
    }), 60_000)

  it.scopedLive("responses for unknown ids and second responses are recorded and ignored", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      yield* client.send(basicResponse(999n, 0, 200, "stray"))
      const fiber = yield* sim.request(80, request()).pipe(Stream.runCollect, Effect.fork)
      const ids = idsOf(yield* nextTcp(client))
      yield* client.send(basicResponse(ids.connection_id, 1, 200, "wrong request id"))
      yield* client.send(basicResponse(ids.connection_id, 0, 200, "ok"))
      expect(ResponseEvent.textOf(Chunk.toArray(yield* Fiber.join(fiber)))).toBe("ok")
      const ignored = (yield* sim.events).filter((e) => e._tag === "Ignored")
      expect(ignored.map((e) => e._tag === "Ignored" && [e.connectionId, e.requestId])).toEqual([[999n, 0], [ids.connection_id, 1]])
      expect(yield* sim.drops).toEqual([])
    }), 60_000)

  it.scopedLive("an old-agent connection reuses one connection id with request ids 0, 1 and sends Close on close", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      const connection = yield* sim.httpConnection(80)
      for (const expectedId of [0, 1]) {
        const fiber = yield* connection.request(request()).pipe(Stream.runCollect, Effect.fork)
        const ids = idsOf(yield* nextTcp(client))
        expect([ids.connection_id, ids.request_id]).toEqual([connection.connectionId, expectedId])
        yield* client.send(basicResponse(ids.connection_id, ids.request_id, 200, `r${expectedId}`))
        expect(ResponseEvent.textOf(Chunk.toArray(yield* Fiber.join(fiber)))).toBe(`r${expectedId}`)
      }
      expect(yield* client.nothingWithin(50)).toBe(true)
      yield* connection.close
      expect(yield* nextTcp(client)).toEqual({ _tag: "Close", value: { connection_id: connection.connectionId } })
    }), 60_000)

  it.scopedLive("a 101 response switches the connection to raw Data both ways, then Close", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup("1.29.0", "1.29.0")
      const fiber = yield* sim.request(80, { ...request(), method: "GET", headers: headers(["x-user", "me"], ["upgrade", "echo"]) }).pipe(
        Stream.runCollect,
        Effect.fork
      )
      const ids = idsOf(yield* nextTcp(client))
      yield* client.send(steal({
        _tag: "HttpResponseFramed",
        value: { port: 80, ...ids, internal_response: { status: 101, version: "HTTP/1.1", headers: headers(["upgrade", "echo"]), body: [] } }
      }))
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      const head = events[0]
      if (head?._tag !== "Head" || head.upgrade === undefined) return yield* Effect.fail("no upgrade")
      const upgraded = head.upgrade
      yield* upgraded.write(enc("ping"))
      expect(yield* nextTcp(client)).toEqual({ _tag: "Data", value: { connection_id: ids.connection_id, bytes: enc("ping") } })
      yield* client.send(steal({ _tag: "Data", value: { connection_id: ids.connection_id, bytes: enc("pong") } }))
      yield* client.send(steal({ _tag: "Data", value: { connection_id: ids.connection_id, bytes: new Uint8Array(0) } }))
      const read = Chunk.toArray(yield* Stream.runCollect(upgraded.read))
      expect(dec(Buffer.concat(read))).toBe("pong")
      yield* upgraded.endWrite
      expect(yield* nextTcp(client)).toEqual({ _tag: "Data", value: { connection_id: ids.connection_id, bytes: new Uint8Array(0) } })
      expect(yield* nextTcp(client)).toEqual({ _tag: "Close", value: { connection_id: ids.connection_id } })
      expect(yield* upgraded.ended).toEqual({ _tag: "Closed" })
    }), 60_000)
})
