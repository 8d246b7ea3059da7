/**
 * AgentSession over real TCP against agent-sim: the agent killed and restarted on the same port
 * (same and other protocol version), gone for good (GaveUp within the policy), no reconnect,
 * nothing left behind by earlier connections.
 */
import { describe, expect, it } from "@effect/vitest"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as AgentSession from "@mirrord-effect/client/AgentSession"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import type * as net from "node:net"
import { NodeConnector, portSubscribe } from "./support/connect.js"
import * as ScriptedAgent from "./support/scriptedAgent.js"

/** An agent-sim that can be killed and started again on the same port. */
const restartableSim = Effect.gen(function*() {
  const outer = yield* Effect.scope
  let scope: Scope.CloseableScope | undefined
  let port = 0
  const start = (version: string) =>
    Effect.gen(function*() {
      const s = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const sim = yield* AgentSim.make({ version, listen: { port } }).pipe(Scope.extend(s))
      port = sim.address.port
      scope = s
      return sim
    })
  const kill = Effect.suspend(() => (scope === undefined ? Effect.void : Scope.close(scope, Exit.void)))
  return { start, kill, port: () => port }
})

const show = (o: Option.Option<Version.SemVer>): string => Option.match(o, { onNone: () => "None", onSome: Version.format })

const fastReconnect = { initialDelay: "10 millis", maxDelay: "100 millis", maxAttempts: 1_000, maxElapsed: "50 seconds" } as const

const buildSession = (
  port: number,
  options: Partial<AgentSession.SessionOptions> = {},
  connector: Layer.Layer<AgentConnection.SocketConnector> = NodeConnector
) =>
  Layer.build(
    AgentSession.layer({ address: { host: "127.0.0.1", port }, pingInterval: 0, ...options }).pipe(
      Layer.provide(connector)
    )
  )

/** node:net connector that keeps every socket it opened, for leak checks. */
const recordingConnector = () => {
  const sockets: Array<net.Socket> = []
  const layer = AgentConnection.layerSocketConnector((address) =>
    Effect.tap(NodeTransport.connect(address), (socket) => Effect.sync(() => sockets.push(socket as net.Socket)))
  )
  return { sockets, layer }
}

describe("AgentSession", () => {
  it.scopedLive("agent restarted on the same port: a new connection, negotiated again; restarted older: the version follows", () =>
    Effect.gen(function*() {
      const agent = yield* restartableSim
      const sim1 = yield* agent.start("1.29.0")
      const supervisor = yield* Supervisor.track
      const recording = recordingConnector()
      const context = yield* buildSession(agent.port(), { reconnect: fastReconnect }, recording.layer).pipe(
        Effect.supervised(supervisor)
      )
      const session = Context.get(context, AgentSession.AgentSession)
      const versionRef = Context.get(context, ProtocolVersion.ProtocolVersion)
      const statuses: Array<string> = []
      yield* session.status.pipe(
        Stream.runForEach((s) => Effect.sync(() => statuses.push(s._tag === "Connected" ? `Connected ${Version.format(s.version)}` : s._tag))),
        Effect.forkScoped
      )
      const pull = yield* Stream.toPull(session.connections)
      const nextConnection = Effect.map(pull, (chunk) => {
        expect(chunk.length).toBe(1)
        return [...chunk][0]!
      })

      const first = yield* nextConnection
      expect(show(yield* ProtocolVersion.current.pipe(Effect.provide(context)))).toBe("1.29.0")
      yield* first.send(portSubscribe(80))
      yield* sim1.awaitSubscription(80)
      const fibersWhileFirst = (yield* supervisor.value).length

      // killed, then back on the same port at the same version
      yield* agent.kill
      expect((yield* Effect.flip(first.closed)).reason).toBe("Lost")
      yield* versionRef.changes.pipe(Stream.takeUntil(Option.isNone), Stream.runDrain)
      expect(Option.isNone(yield* session.current)).toBe(true)
      const sim2 = yield* agent.start("1.29.0")
      const second = yield* nextConnection
      expect(second).not.toBe(first)
      expect(Version.format(yield* second.negotiated)).toBe("1.29.0")
      yield* second.send(portSubscribe(80))
      yield* sim2.awaitSubscription(80)
      expect(Option.getOrThrow(yield* session.current)).toBe(second)
      // the old connection stays dead: its sends fail, it is not the sim's client
      expect((yield* Effect.flip(first.send(portSubscribe(81)))).reason).toBe("Lost")
      expect((yield* sim2.clients).length).toBe(1)

      // killed again, back as a 1.7.0 agent: ProtocolVersion changes and response modes follow
      yield* agent.kill
      const sim3 = yield* agent.start("1.7.0")
      const third = yield* nextConnection
      expect(Version.format(yield* third.negotiated)).toBe("1.7.0")
      const checks = Effect.gen(function*() {
        expect(show(yield* ProtocolVersion.current)).toBe("1.7.0")
        expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Framed")
      })
      yield* Effect.provide(checks, context)
      yield* third.send(portSubscribe(80))
      yield* sim3.awaitSubscription(80)
      // no fiber of an earlier connection is left: the session runs as many as with the first
      expect((yield* supervisor.value).length).toBe(fibersWhileFirst)
      // and no socket: every one opened but the live connection's is destroyed
      expect(recording.sockets.length).toBeGreaterThanOrEqual(3)
      expect(recording.sockets.filter((s) => !s.destroyed)).toEqual([recording.sockets.at(-1)])
      expect(statuses).toContain("Reconnecting")
      expect(statuses.filter((s) => s.startsWith("Connected"))).toEqual(["Connected 1.29.0", "Connected 1.29.0", "Connected 1.7.0"])
    }), 60_000)

  it.scopedLive("agent gone for good: connections fail with GaveUp (cause: the last error) after maxAttempts", () =>
    Effect.gen(function*() {
      const agent = yield* restartableSim
      yield* agent.start("1.29.0")
      const context = yield* buildSession(agent.port(), {
        reconnect: { initialDelay: "10 millis", maxDelay: "40 millis", maxAttempts: 4 }
      })
      const session = Context.get(context, AgentSession.AgentSession)
      const consumed = yield* Effect.fork(Stream.runCollect(session.connections))
      yield* agent.kill
      const error = yield* Effect.flip(Fiber.join(consumed))
      expect(error.reason).toBe("GaveUp")
      expect(error.detail).toContain("after 4 attempts")
      expect(error.cause).toBeInstanceOf(AgentConnection.AgentConnectionError)
      expect((error.cause as AgentConnection.AgentConnectionError).reason).toBe("Unreachable")
      const last = yield* session.status.pipe(Stream.take(1), Stream.runHead)
      expect(Option.getOrThrow(last)).toMatchObject({ _tag: "GaveUp", error: { reason: "GaveUp" } })
      expect(show(yield* ProtocolVersion.current.pipe(Effect.provide(context)))).toBe("None")
    }), 60_000)

  it.scopedLive("agent gone for good: GaveUp once maxElapsed has passed", () =>
    Effect.gen(function*() {
      const agent = yield* restartableSim
      yield* agent.start("1.29.0")
      const context = yield* buildSession(agent.port(), {
        reconnect: { initialDelay: "20 millis", maxDelay: "50 millis", maxAttempts: 1_000_000, maxElapsed: "400 millis" }
      })
      const session = Context.get(context, AgentSession.AgentSession)
      const consumed = yield* Effect.fork(Stream.runDrain(session.connections))
      yield* agent.kill
      const started = Date.now()
      const error = yield* Effect.flip(Fiber.join(consumed))
      expect(error.reason).toBe("GaveUp")
      expect(Date.now() - started).toBeGreaterThanOrEqual(350)
    }), 60_000)

  it.scopedLive("reconnect disabled: connections fail with the loss itself", () =>
    Effect.gen(function*() {
      const agent = yield* restartableSim
      yield* agent.start("1.29.0")
      const context = yield* buildSession(agent.port(), { reconnect: false })
      const session = Context.get(context, AgentSession.AgentSession)
      const consumed = yield* Effect.fork(Stream.runDrain(session.connections))
      yield* agent.kill
      const error = yield* Effect.flip(Fiber.join(consumed))
      expect(error.reason).toBe("Lost")
    }), 60_000)

  it.scopedLive("the first dial is one attempt: an unreachable agent fails the layer with Unreachable", () =>
    Effect.gen(function*() {
      const port = yield* ScriptedAgent.closedPort
      const error = yield* Effect.flip(buildSession(port, { reconnect: fastReconnect }))
      expect(error.reason).toBe("Unreachable")
    }), 60_000)

  it.scopedLive("closing the session's scope ends the connection and the stream with Shutdown", () =>
    Effect.gen(function*() {
      const agent = yield* restartableSim
      const sim = yield* agent.start("1.29.0")
      const scope = yield* Scope.make()
      const context = yield* buildSession(agent.port(), { reconnect: fastReconnect }).pipe(Scope.extend(scope))
      const session = Context.get(context, AgentSession.AgentSession)
      const connection = Option.getOrThrow(yield* session.current)
      const consumed = yield* Effect.fork(Stream.runDrain(session.connections))
      yield* Scope.close(scope, Exit.void)
      expect((yield* Effect.flip(connection.closed)).reason).toBe("Shutdown")
      expect((yield* Effect.flip(Fiber.join(consumed))).reason).toBe("Shutdown")
      // the agent sees the socket closed
      yield* sim.clients.pipe(Effect.repeat({ until: (clients) => clients.length === 0, schedule: Schedule.spaced("5 millis") }))
    }), 60_000)
})
