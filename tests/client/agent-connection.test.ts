import { describe, expect, it } from "@effect/vitest"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import type { DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { chunkedResponseError, connect, portSubscribe, stealData, tags } from "./support/connect.js"
import * as ScriptedAgent from "./support/scriptedAgent.js"

/** Everything `messages` emitted before it failed, and the failure. */
const drain = (connection: AgentConnection.AgentConnectionShape) =>
  Effect.gen(function*() {
    const seen: Array<DaemonMessage> = []
    const error = yield* connection.messages.pipe(
      Stream.runForEach((m) => Effect.sync(() => seen.push(m))),
      Effect.flip
    )
    return { seen, error }
  })

describe("AgentConnection", () => {
  it.scopedLive("Ping every interval, Pongs consumed; a silent peer fails with PongTimeout", () =>
    Effect.gen(function*() {
      let answering = true
      const standard = ScriptedAgent.standardScript("1.29.0")
      const agent = yield* ScriptedAgent.make({
        version: "1.29.0",
        script: (message, peer) => (message._tag === "Ping" && !answering ? Effect.void : standard(message, peer))
      })
      // a deadline generous enough that a busy machine does not miss an answered Pong
      const connection = yield* connect(agent, { pingInterval: "40 millis", pongTimeout: "2 seconds" })
      const drained = yield* Effect.fork(drain(connection))
      const peer = yield* agent.nextConnection
      // three answered rounds (other tests share the event loop, so wait for them rather than a fixed time);
      // a connection that ends meanwhile fails the test at once rather than leaving it waiting
      const fourPings = Effect.sync(() => peer.received().filter((m) => m._tag === "Ping").length).pipe(
        Effect.repeat({ until: (pings) => pings >= 4, schedule: Schedule.spaced("10 millis") })
      )
      yield* Effect.raceFirst(
        fourPings,
        Effect.flatMap(Fiber.await(drained), (exit) => Effect.dieMessage(`the connection ended early: ${String(exit)}`))
      )
      expect(Option.isNone(yield* Fiber.poll(drained))).toBe(true)

      answering = false
      const started = Date.now()
      const { error, seen } = yield* Fiber.join(drained)
      expect(error.reason).toBe("PongTimeout")
      // not before the deadline (a wall-clock upper bound would fail on a busy machine; the test's timeout is that bound)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900)
      // Pongs never reach the consumer
      expect(seen).toEqual([])
    }), 60_000)

  it.scopedLive("Close(reason) ends messages with ClosedByAgent after what came before; LogMessage is logged and forwarded", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        logged.push(`${logLevel.label}:${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent).pipe(Effect.locallyWith(FiberRef.currentLoggers, HashSet.add(capture)))
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      yield* peer.send(
        { _tag: "LogMessage", value: { message: "agent says hi", level: { _tag: "Warn" } } },
        { _tag: "Close", value: "Pause isn't supported anymore." }
      )
      const { error, seen } = yield* drain(connection)
      expect(seen).toEqual([{ _tag: "LogMessage", value: { message: "agent says hi", level: { _tag: "Warn" } } }])
      expect(error.reason).toBe("ClosedByAgent")
      expect(error.detail).toBe("Pause isn't supported anymore.")
      expect(logged).toContain("WARN:agent says hi")
      expect((yield* Effect.flip(connection.send(portSubscribe(80)))).reason).toBe("ClosedByAgent")
    }), 60_000)

  it.scopedLive("a 1.7.0 agent that drops after HttpResponseChunked: Lost, diagnosed", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.7.0" })
      const connection = yield* connect(agent)
      yield* connection.negotiated
      yield* connection.send(portSubscribe(80))
      yield* connection.send(stealData(1n, new Uint8Array([1, 2, 3])))
      yield* connection.send(chunkedResponseError(1n))
      const { error } = yield* drain(connection)
      expect(error.reason).toBe("Lost")
      expect(error.detail).toContain(
        "agent 1.7.0 closed the connection after LayerTcpSteal::HttpResponseChunked, which it cannot decode (since 1.8.0)"
      )
      expect(error.detail).toContain("TcpSteal > LayerTcpSteal::Data")
      const undecodable = Option.getOrThrow(error.diagnosis!.undecodable)
      expect(undecodable.variant).toBe("LayerTcpSteal::HttpResponseChunked")
      expect(undecodable.since).toBe("1.8.0")
      expect(undecodable.message).toEqual(chunkedResponseError(1n))
      const peer = yield* agent.nextConnection
      expect(peer.dropReason()).toMatch(/UnknownVariant/)
    }), 60_000)

  it.scopedLive("a peer that just goes away: Lost naming the last messages, nothing undecodable", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent)
      yield* connection.negotiated
      yield* connection.send(portSubscribe(8080))
      const peer = yield* agent.nextConnection
      yield* peer.awaitReceived(3)
      yield* peer.drop
      const { error } = yield* drain(connection)
      expect(error.reason).toBe("Lost")
      expect(error.detail).toContain("agent 1.29.0 closed the connection without Close")
      expect(error.detail).toContain("TcpSteal > LayerTcpSteal::PortSubscribe > StealType::All")
      expect(Option.isNone(error.diagnosis!.undecodable)).toBe(true)
      expect(error.diagnosis!.lastSent.map((s) => s.message._tag)).toEqual([
        "SwitchProtocolVersion",
        "ReadyForLogs",
        "TcpSteal"
      ])
    }), 60_000)

  it.scopedLive("send suspends when the outbound queue is full and the peer does not read", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent, { outboundCapacity: 4 })
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      yield* peer.awaitReceived(2)
      yield* peer.pause
      const payload = new Uint8Array(256 * 1024)
      let accepted = 0
      let blocked: Fiber.RuntimeFiber<void, AgentConnection.AgentConnectionError> | undefined
      // a bounded number of sends completes, then one suspends
      while (accepted < 200) {
        const fiber = yield* Effect.fork(connection.send(stealData(BigInt(accepted), payload)))
        const done = yield* Fiber.await(fiber).pipe(Effect.timeoutOption("300 millis"))
        if (Option.isNone(done)) {
          blocked = fiber
          break
        }
        accepted++
      }
      expect(blocked).toBeDefined()
      expect(accepted).toBeLessThan(200)

      yield* peer.resume
      yield* Fiber.join(blocked!)
      const received = yield* peer.awaitReceived(2 + accepted + 1)
      const ids = received.slice(2).map((m) => (m._tag === "TcpSteal" && m.value._tag === "Data" ? m.value.value.connection_id : -1n))
      expect(ids).toEqual(Array.from({ length: accepted + 1 }, (_, i) => BigInt(i)))
    }), 60_000)

  it.scopedLive("an unreachable address fails with Unreachable", () =>
    Effect.gen(function*() {
      const port = yield* ScriptedAgent.closedPort
      const error = yield* Effect.flip(
        connect({ address: { host: "127.0.0.1", port }, nextConnection: Effect.never })
      )
      expect(error.reason).toBe("Unreachable")
      expect(error.detail).toContain(`127.0.0.1:${port}`)
    }), 60_000)

  it.scopedLive("bytes that are no DaemonMessage fail with Decode", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent)
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      yield* peer.sendBytes(new Uint8Array([200]))
      const { error } = yield* drain(connection)
      expect(error.reason).toBe("Decode")
    }), 60_000)

  it.live("closing the scope ends the connection: Shutdown for the host, the socket closed for the peer", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" }).pipe(Scope.extend(scope))
      const connectionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const connection = yield* connect(agent).pipe(Scope.extend(connectionScope))
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      const drained = yield* Effect.fork(drain(connection))
      yield* Scope.close(connectionScope, Exit.void)
      expect((yield* Fiber.join(drained)).error.reason).toBe("Shutdown")
      expect((yield* Effect.flip(connection.send(portSubscribe(80)))).reason).toBe("Shutdown")
      yield* peer.closed
      yield* Scope.close(scope, Exit.void)
    }), 60_000)

  it.effect("fromStreams: a plain pair, no socket", () =>
    Effect.gen(function*() {
      const outbox = yield* Queue.unbounded<Parameters<AgentConnection.AgentConnectionShape["send"]>[0]>()
      const connection = AgentConnection.fromStreams({
        messages: Stream.make<Array<DaemonMessage>>({ _tag: "Pong" }, { _tag: "Close", value: "bye" }),
        send: outbox
      })
      yield* connection.send(portSubscribe(80))
      expect(tags(Chunk.toReadonlyArray(yield* Queue.takeAll(outbox)))).toEqual(["TcpSteal.PortSubscribe"])
      expect(Chunk.size(yield* Stream.runCollect(connection.messages))).toBe(2)
      yield* Queue.shutdown(outbox)
      expect((yield* Effect.flip(connection.send(portSubscribe(80)))).reason).toBe("Shutdown")
    }))
})
