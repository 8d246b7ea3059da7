import { describe, expect, it } from "@effect/vitest"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as Handshake from "@mirrord-effect/client/Handshake"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { connect, NodeConnector, portSubscribe, tags } from "./support/connect.js"
import * as ScriptedAgent from "./support/scriptedAgent.js"

const show = (o: Option.Option<Version.SemVer>): string => Option.match(o, { onNone: () => "None", onSome: Version.format })

describe("Handshake", () => {
  it.scopedLive("a 1.29.0 agent answers min(agent, client) = 1.29.0; ReadyForLogs follows", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent)
      expect(Version.format(yield* connection.negotiated)).toBe("1.29.0")
      expect(show(yield* SubscriptionRef.get(connection.version))).toBe("1.29.0")
      const peer = yield* agent.nextConnection
      expect(tags(yield* peer.awaitReceived(2))).toEqual(["SwitchProtocolVersion(1.29.0)", "ReadyForLogs"])
    }), 60_000)

  it.scopedLive("a 1.7.0 agent negotiates 1.7.0; the layer's ProtocolVersion caps responses at Framed", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.7.0" })
      const context = yield* Layer.build(
        AgentConnection.layer({ address: agent.address, pingInterval: 0 }).pipe(Layer.provide(NodeConnector))
      )
      const check = Effect.gen(function*() {
        expect(show(yield* ProtocolVersion.current)).toBe("1.7.0")
        expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Framed")
      })
      yield* Effect.provide(check, context)
    }), 60_000)

  it.scopedLive("a 1.4.0 agent echoes the offered version", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.4.0" })
      const connection = yield* connect(agent)
      // the echo era: the number is the client's, not what the agent can decode
      expect(Version.format(yield* connection.negotiated)).toBe("1.29.0")
      const diagnosis = yield* connection.diagnose
      expect(diagnosis.versionMayBeEcho).toBe(true)
    }), 60_000)

  it.scopedLive("an agent older than 1.3.0 drops the connection: NegotiationFailed with the hint", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.2.2" })
      const error = yield* Layer.build(
        AgentConnection.layer({ address: agent.address, pingInterval: 0 }).pipe(Layer.provide(NodeConnector))
      ).pipe(Effect.flip)
      expect(error.reason).toBe("NegotiationFailed")
      expect(error.detail).toBe(Handshake.OLDER_THAN_1_3_0_HINT)
      const peer = yield* agent.nextConnection
      expect(peer.dropReason()).toMatch(/UnknownVariant/)
    }), 60_000)

  it.scopedLive("assumeVersion skips the handshake and publishes the version", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.2.2" })
      const connection = yield* connect(agent, { assumeVersion: "1.2.2" })
      expect(Version.format(yield* connection.negotiated)).toBe("1.2.2")
      expect(show(yield* SubscriptionRef.get(connection.version))).toBe("1.2.2")
      yield* connection.send(portSubscribe(80))
      const peer = yield* agent.nextConnection
      expect(tags(yield* peer.awaitReceived(1))).toEqual(["TcpSteal.PortSubscribe"])
      yield* Effect.sleep("50 millis")
      expect(peer.isClosed()).toBe(false)
      expect(peer.received()).toHaveLength(1)
    }), 60_000)

  it.scopedLive("messages sent before the answer are held back, then released in order", () =>
    Effect.gen(function*() {
      const offered = yield* Deferred.make<string>()
      const standard = ScriptedAgent.standardScript("1.29.0")
      const agent = yield* ScriptedAgent.make({
        version: "1.29.0",
        script: (message, peer) =>
          message._tag === "SwitchProtocolVersion" ? Deferred.succeed(offered, message.value) : standard(message, peer)
      })
      const connection = yield* connect(agent)
      yield* connection.send(portSubscribe(1))
      yield* connection.send(portSubscribe(2))
      yield* connection.send(portSubscribe(3))
      const peer = yield* agent.nextConnection
      expect(yield* Deferred.await(offered)).toBe("1.29.0")
      yield* Effect.sleep("100 millis")
      expect(tags(peer.received())).toEqual(["SwitchProtocolVersion(1.29.0)"])
      expect(show(yield* SubscriptionRef.get(connection.version))).toBe("None")

      yield* peer.send({ _tag: "SwitchProtocolVersionResponse", value: "1.20.0" })
      const received = yield* peer.awaitReceived(5)
      expect(tags(received)).toEqual([
        "SwitchProtocolVersion(1.29.0)",
        "ReadyForLogs",
        "TcpSteal.PortSubscribe",
        "TcpSteal.PortSubscribe",
        "TcpSteal.PortSubscribe"
      ])
      expect(received.slice(2)).toEqual([portSubscribe(1), portSubscribe(2), portSubscribe(3)])
      expect(show(yield* SubscriptionRef.get(connection.version))).toBe("1.20.0")
    }), 60_000)

  it.scopedLive("ReadyForLogs is sent when the version is >= 1.3.1 and not below", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const probe = portSubscribe(9)

      const at130 = yield* connect(agent, { offerVersion: "1.3.0" })
      expect(Version.format(yield* at130.negotiated)).toBe("1.3.0")
      yield* at130.send(probe)
      const peer130 = yield* agent.nextConnection
      expect(tags(yield* peer130.awaitReceived(2))).toEqual(["SwitchProtocolVersion(1.3.0)", "TcpSteal.PortSubscribe"])

      const at131 = yield* connect(agent, { offerVersion: "1.3.1" })
      expect(Version.format(yield* at131.negotiated)).toBe("1.3.1")
      yield* at131.send(probe)
      const peer131 = yield* agent.nextConnection
      expect(tags(yield* peer131.awaitReceived(3))).toEqual([
        "SwitchProtocolVersion(1.3.1)",
        "ReadyForLogs",
        "TcpSteal.PortSubscribe"
      ])
    }), 60_000)

  it.scopedLive("no answer within the negotiation timeout: NegotiationFailed", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0", script: () => Effect.void })
      const started = Date.now()
      const connection = yield* connect(agent, { negotiationTimeout: "200 millis" })
      const error = yield* Effect.flip(connection.negotiated)
      expect(error.reason).toBe("NegotiationFailed")
      expect(error.detail).toMatch(/^no answer to SwitchProtocolVersion within 200 ms: .* accepted the connection but sent nothing/)
      expect(error.suggestAssumeVersion).toBeUndefined()
      expect(Date.now() - started).toBeGreaterThanOrEqual(190)
      // the connection is over: sending reports the same reason
      expect((yield* Effect.flip(connection.send(portSubscribe(80)))).reason).toBe("NegotiationFailed")
    }), 60_000)

  it.scopedLive("renegotiate publishes None, then the new answer", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const connection = yield* connect(agent)
      yield* connection.negotiated
      // subscribed before renegotiating: the first pull gives the current value
      const pull = yield* Stream.toPull(connection.version.changes)
      const seen: Array<string> = Chunk.toReadonlyArray(yield* pull).map(show)
      expect(Version.format(yield* connection.renegotiate("1.19.0"))).toBe("1.19.0")
      while (seen.length < 3) seen.push(...Chunk.toReadonlyArray(yield* pull).map(show))
      expect(seen).toEqual(["1.29.0", "None", "1.19.0"])
      const peer = yield* agent.nextConnection
      expect(tags(yield* peer.awaitReceived(4))).toEqual([
        "SwitchProtocolVersion(1.29.0)",
        "ReadyForLogs",
        "SwitchProtocolVersion(1.19.0)",
        "ReadyForLogs"
      ])
    }), 60_000)
})
