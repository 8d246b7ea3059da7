/**
 * The agent connection at the floor, over real TCP: a full inbound mailbox pauses the OS socket
 * (and pulling resumes it, nothing lost); the Pong deadline starts when the Ping is written (a
 * slow agent reader behind a large HttpResponseFramed keeps the connection); any message from
 * the agent counts as alive; what the client says about an HTTP server and a pre-1.3.0 agent;
 * the @effect/platform Socket path still works.
 */
import { describe, expect, it } from "@effect/vitest"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as Handshake from "@mirrord-effect/client/Handshake"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type * as net from "node:net"
import { connect, platformConnector, portSubscribe, tags } from "./support/connect.js"
import * as ScriptedAgent from "./support/scriptedAgent.js"

/** Waits until `check` gives a value (looking every 5 ms). */
const poll = <A>(what: string, check: () => A | undefined): Effect.Effect<A> => {
  const loop: Effect.Effect<A> = Effect.suspend(() => {
    const a = check()
    return a !== undefined ? Effect.succeed(a) : Effect.zipRight(Effect.sleep("5 millis"), loop)
  })
  return Effect.annotateLogs(loop, "waiting for", what)
}

/** The error the connection ended with, if it has ended. */
const endedWith = (connection: AgentConnection.LiveAgentConnection) =>
  Effect.map(Effect.flip(connection.closed).pipe(Effect.timeoutOption("0 millis")), (o) =>
    Option.isSome(o) ? `${o.value.reason}: ${o.value.detail}` : undefined)

/** Connects over node:net and keeps the client's socket for the test to look at. */
const connectKeepingSocket = (agent: ScriptedAgent.ScriptedAgent, options: Omit<AgentConnection.Options, "address">) =>
  Effect.gen(function*() {
    let socket: net.Socket | undefined
    const connection = yield* connect(agent, options, (address) =>
      Effect.tap(NodeTransport.connect(address), (s) =>
        Effect.sync(() => {
          socket = s as net.Socket
        })))
    return { connection, socket: socket! }
  })

const stolenData = (id: number, size: number): DaemonMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "Data", value: { connection_id: BigInt(id), bytes: new Uint8Array(size).fill(id & 0xff) } }
})

const stealDataMessage = (id: number): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "Data", value: { connection_id: BigInt(id), bytes: new Uint8Array([id & 0xff]) } }
})

const framedResponse = (body: Uint8Array): ClientMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponseFramed",
    value: {
      port: 80,
      connection_id: 1n,
      request_id: 0,
      internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [{ _tag: "Data", value: body }] }
    }
  }
})

describe("AgentConnection at the floor", () => {
  it.scopedLive("a full inbound mailbox pauses the socket; pulling resumes it and every message arrives in order", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const { connection, socket } = yield* connectKeepingSocket(agent, { inboundCapacity: 16 })
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      const count = 2_000
      const size = 16 * 1024
      // 32 MiB: more than loopback's kernel buffers hold, so the peer's write completes only if the client reads
      const sending = yield* Effect.fork(
        peer.sendBytes(Codec.encodeAll("DaemonMessage", Array.from({ length: count }, (_, i) => stolenData(i, size))))
      )
      yield* poll("the client's socket paused", () => (socket.isPaused() ? true : undefined))
      expect(Option.isNone(yield* Fiber.poll(sending))).toBe(true)

      const pull = yield* Stream.toPull(connection.messages)
      const first = yield* pull
      // what was decoded before the pause: the capacity plus at most one socket read's worth
      expect(first.length).toBeGreaterThanOrEqual(16)
      expect(first.length).toBeLessThanOrEqual(16 + Math.ceil((256 * 1024) / size))
      const seen: Array<bigint> = []
      for (const m of first) if (m._tag === "TcpSteal" && m.value._tag === "Data") seen.push(m.value.value.connection_id)
      while (seen.length < count) {
        for (const m of yield* pull) if (m._tag === "TcpSteal" && m.value._tag === "Data") seen.push(m.value.value.connection_id)
      }
      yield* Fiber.join(sending)
      expect(seen).toEqual(Array.from({ length: count }, (_, i) => BigInt(i)))
      expect(socket.isPaused()).toBe(false)
    }), 60_000)

  it.scopedLive("concurrent senders against a reader that stops: memory bounded by the socket's buffer plus one message; each sender's order kept", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const { connection, socket } = yield* connectKeepingSocket(agent, {})
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      yield* peer.awaitReceived(2)
      yield* peer.pause
      const senders = 4
      const perSender = 100
      const payload = new Uint8Array(64 * 1024)
      const message = (sender: number, seq: number): ClientMessage => ({
        _tag: "TcpSteal",
        value: { _tag: "Data", value: { connection_id: BigInt(sender * 1_000 + seq), bytes: payload } }
      })
      const sending = yield* Effect.fork(Effect.forEach(
        Array.from({ length: senders }, (_, s) => s),
        (s) => Effect.forEach(Array.from({ length: perSender }, (_, i) => i), (i) => connection.send(message(s, i)), { discard: true }),
        { concurrency: "unbounded", discard: true }
      ))
      yield* poll("the socket asks for drain", () => (socket.writableNeedDrain ? true : undefined))
      // every sender checks before writing: at most the one message that crossed the mark is over it
      const bound = socket.writableHighWaterMark + 64 * 1024 + 1024
      expect(socket.writableLength).toBeLessThanOrEqual(bound)
      yield* Effect.yieldNow()
      expect(socket.writableLength).toBeLessThanOrEqual(bound)
      expect(Option.isNone(yield* Fiber.poll(sending))).toBe(true)

      yield* peer.resume
      yield* Fiber.join(sending)
      const received = (yield* peer.awaitReceived(2 + senders * perSender)).slice(2)
      const ids = received.map((m) => (m._tag === "TcpSteal" && m.value._tag === "Data" ? Number(m.value.value.connection_id) : -1))
      for (let s = 0; s < senders; s++) {
        expect(ids.filter((id) => Math.floor(id / 1_000) === s)).toEqual(Array.from({ length: perSender }, (_, i) => s * 1_000 + i))
      }
    }), 60_000)

  it.scopedLive("a renegotiation amid concurrent sends: nothing is written between SwitchProtocolVersion and the answer; nothing lost, order kept", () =>
    Effect.gen(function*() {
      const standard = ScriptedAgent.standardScript("1.29.0")
      // the agent answers the renegotiation only when the test says so
      const agent = yield* ScriptedAgent.make({
        version: "1.29.0",
        script: (message, peer) =>
          message._tag === "SwitchProtocolVersion" && message.value === "1.19.0" ? Effect.void : standard(message, peer)
      })
      // the test holds the answer for as long as it needs: the product's negotiation deadline must not decide
      const connection = yield* connect(agent, { negotiationTimeout: "50 seconds" })
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      const count = 400
      let accepted = 0
      const go = yield* Deferred.make<void>()
      const sendOne = (i: number) =>
        connection.send(stealDataMessage(i)).pipe(
          Effect.zipRight(Effect.sync(() => accepted++)),
          Effect.zipRight(Effect.yieldNow())
        )
      // half before the renegotiation, the other half while and after it runs
      const sending = yield* Effect.fork(Effect.gen(function*() {
        for (let i = 0; i < count / 2; i++) yield* sendOne(i)
        yield* Deferred.await(go)
        for (let i = count / 2; i < count; i++) yield* sendOne(i)
      }))
      yield* poll("the first half accepted", () => (accepted >= count / 2 ? true : undefined))
      const renegotiating = yield* Effect.fork(connection.renegotiate("1.19.0"))
      yield* poll("the renegotiation's offer", () =>
        tags(peer.received()).includes("SwitchProtocolVersion(1.19.0)") ? true : undefined)
      // sends go on while the answer is outstanding: they are accepted and held
      yield* Deferred.succeed(go, undefined)
      yield* poll("sends accepted during the handshake", () => (accepted >= count / 2 + 20 ? true : undefined))
      yield* peer.send({ _tag: "SwitchProtocolVersionResponse", value: "1.19.0" })
      expect(Version.format(yield* Fiber.join(renegotiating))).toBe("1.19.0")
      yield* Fiber.join(sending)
      const received = yield* peer.awaitReceived(2 + count + 2)
      const t = tags(received)
      const at = t.indexOf("SwitchProtocolVersion(1.19.0)")
      expect(t[at + 1]).toBe("ReadyForLogs")
      // the sender was busy on both sides of the renegotiation
      expect(t.slice(0, at).filter((x) => x === "TcpSteal.Data").length).toBeGreaterThan(0)
      expect(t.slice(at).filter((x) => x === "TcpSteal.Data").length).toBeGreaterThan(0)
      const ids = received.flatMap((m) => (m._tag === "TcpSteal" && m.value._tag === "Data" ? [Number(m.value.value.connection_id)] : []))
      expect(ids).toEqual(Array.from({ length: count }, (_, i) => i))
    }), 60_000)

  it.scopedLive("the Pong deadline starts when the Ping is written: a slow agent reader behind a large HttpResponseFramed keeps the connection", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.7.0" })
      // the deadline covers what the agent must still read once the Ping is in the kernel (loopback
      // buffers grow to tens of MiB once it reads fast again), on a busy machine too
      const connection = yield* connect(agent, { pingInterval: "100 millis", pongTimeout: "5 seconds" })
      expect(yield* connection.negotiated).toMatchObject({ major: 1, minor: 7 })
      const peer = yield* agent.nextConnection
      yield* peer.awaitReceived(2)
      // the agent stops reading (a debug-built agent busy elsewhere) while 24 MiB are written to it:
      // far more than the kernel holds for a reader that does not read, so most stays in our buffer
      yield* peer.pause
      yield* connection.send(framedResponse(new Uint8Array(24 * 1024 * 1024).fill(7)))
      // it stays away longer than a Pong deadline: Pings queue behind our own bytes meanwhile (a
      // deadline counted from queueing would end the connection here). This wait is the simulated
      // agent's behaviour, not synchronisation: the outcome does not depend on it.
      yield* Effect.sleep("7 seconds")
      expect(yield* endedWith(connection)).toBeUndefined()
      yield* peer.resume
      // the Framed response, then Pings answered: the second Ping is only written after a Pong came back
      const received = yield* poll("two Pings after the Framed response", () => {
        const all = peer.received()
        const framedAt = all.findIndex((m) => m._tag === "TcpSteal" && m.value._tag === "HttpResponseFramed")
        return framedAt >= 0 && all.slice(framedAt).filter((m) => m._tag === "Ping").length >= 2 ? all : undefined
      })
      expect(tags(received.filter((m) => m._tag !== "Ping"))).toEqual(["SwitchProtocolVersion(1.29.0)", "ReadyForLogs", "TcpSteal.HttpResponseFramed"])
      expect(peer.dropReason()).toBeUndefined()
      expect(yield* endedWith(connection)).toBeUndefined()
    }), 60_000)

  it.scopedLive("any message from the agent counts as alive; silence after a written Ping is PongTimeout", () =>
    Effect.gen(function*() {
      let talking = true
      const agent = yield* ScriptedAgent.make({
        version: "1.29.0",
        // never answers Ping; answers everything else as a 1.29.0 agent
        script: (message, peer) => message._tag === "Ping" ? Effect.void : ScriptedAgent.standardScript("1.29.0")(message, peer)
      })
      // the deadline leaves the 100 ms chatter a wide margin for a busy event loop
      const connection = yield* connect(agent, { pingInterval: "50 millis", pongTimeout: "2 seconds" })
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      const consumed = yield* Effect.fork(Stream.runCount(connection.messages))
      // the agent keeps sending other messages, well within the deadline, for several deadlines
      const chatter = yield* Effect.fork(
        Effect.whileLoop({
          while: () => talking,
          body: () => Effect.zipRight(peer.send(stolenData(1, 16)), Effect.sleep("100 millis")),
          step: () => {}
        })
      )
      yield* poll("three Pings unanswered", () => peer.received().filter((m) => m._tag === "Ping").length >= 1 ? true : undefined)
      yield* Effect.sleep("5 seconds") // the agent chatters for 2.5 deadlines (simulated behaviour, not synchronisation)
      expect(Option.isNone(yield* Fiber.poll(consumed))).toBe(true)
      talking = false
      yield* Fiber.join(chatter)
      const silentFrom = Date.now()
      const error = yield* Effect.flip(Fiber.join(consumed))
      expect(error.reason).toBe("PongTimeout")
      expect(error.detail).toContain("of a Ping written to the socket")
      expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(1_900)
    }), 60_000)

  it.scopedLive("an HTTP server given as the agent: 'this looks like an HTTP server, not a mirrord agent', no assumeVersion advice", () =>
    Effect.gen(function*() {
      const port = yield* Effect.acquireRelease(
        Effect.async<{ server: http.Server; port: number }>((resume) => {
          const server = http.createServer((_req, res) => res.end("hello"))
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, port: (server.address() as net.AddressInfo).port })))
        }),
        ({ server }) => Effect.sync(() => server.close())
      ).pipe(Effect.map(({ port }) => port))
      const connection = yield* connect({ address: { host: "127.0.0.1", port }, nextConnection: Effect.never })
      const error = yield* Effect.flip(connection.negotiated)
      expect(error.reason).toBe("NegotiationFailed")
      expect(error.detail).toMatch(/^this looks like an HTTP server, not a mirrord agent: 127\.0\.0\.1:\d+ answered "HTTP\/1\.1 400 Bad Request"$/)
      expect(error.suggestAssumeVersion).toBeUndefined()
    }), 60_000)

  it.scopedLive("an agent older than 1.3.0 closes without a byte: the hint, and suggestAssumeVersion", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.2.2" })
      const connection = yield* connect(agent)
      const error = yield* Effect.flip(connection.negotiated)
      expect(error.detail).toBe(Handshake.OLDER_THAN_1_3_0_HINT)
      expect(error.suggestAssumeVersion).toBe(true)
    }), 60_000)

  it.scopedLive("the @effect/platform Socket path: negotiates, sends, receives, reports the loss", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.7.0" })
      const connection = yield* connect(agent, {}, platformConnector)
      expect(yield* connection.negotiated).toMatchObject({ major: 1, minor: 7 })
      yield* connection.send(portSubscribe(80))
      const peer = yield* agent.nextConnection
      expect(tags(yield* peer.awaitReceived(3))).toEqual(["SwitchProtocolVersion(1.29.0)", "ReadyForLogs", "TcpSteal.PortSubscribe"])
      yield* peer.send(stolenData(5, 100), stolenData(6, 100))
      const messages = yield* Stream.toPull(connection.messages)
      const got: Array<DaemonMessage> = []
      while (got.length < 2) got.push(...Chunk.toReadonlyArray(yield* messages))
      expect(got).toEqual([stolenData(5, 100), stolenData(6, 100)])
      yield* peer.drop
      expect((yield* Effect.flip(connection.closed)).reason).toBe("Lost")
    }), 60_000)
})
