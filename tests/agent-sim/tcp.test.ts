import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import { connectClient, dec, enc, headers, negotiate, steal, stealAll, subscribe, tcpOf } from "./support/testClient.js"

describe("AgentSim raw TCP and mirror", () => {
  for (const [agent, expected] of [["1.29.0", "NewConnectionV2"], ["1.19.3", "NewConnectionV1"]] as const) {
    it.scopedLive(`connect on ${agent}: ${expected}, data and half-close both ways, then Close`, () =>
      Effect.gen(function*() {
        const sim = yield* AgentSim.make({ version: agent })
        const client = yield* connectClient(sim.address)
        yield* negotiate(client, "1.29.0")
        yield* subscribe(client, stealAll(5432))
        const conn = yield* sim.connect(5432, { source: "10.1.2.3:5555" })
        const opened = yield* Effect.flatMap(client.next(), (m) => tcpOf(m))
        expect(opened._tag).toBe(expected)
        const v1 = opened._tag === "NewConnectionV2" ? opened.value.connection : opened._tag === "NewConnectionV1" ? opened.value : undefined
        expect(v1).toEqual({ connection_id: conn.connectionId, remote_address: "10.1.2.3", destination_port: 5432, source_port: 5555, local_address: "10.0.0.2" })
        if (opened._tag === "NewConnectionV2") expect(opened.value.transport).toEqual({ _tag: "Tcp" })
        const id = conn.connectionId
        // remote → client, then the remote half-closes
        yield* conn.write(enc("hello"))
        yield* conn.endWrite
        expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toEqual({ _tag: "Data", value: { connection_id: id, bytes: enc("hello") } })
        expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toEqual({ _tag: "Data", value: { connection_id: id, bytes: new Uint8Array(0) } })
        expect(Exit.isFailure(yield* Effect.exit(conn.write(enc("late"))))).toBe(true)
        // client → remote, then the client's app half-closes
        yield* client.send(steal({ _tag: "Data", value: { connection_id: id, bytes: enc("wor") } }))
        yield* client.send(steal({ _tag: "Data", value: { connection_id: id, bytes: enc("ld") } }))
        yield* client.send(steal({ _tag: "Data", value: { connection_id: id, bytes: new Uint8Array(0) } }))
        expect(dec(Buffer.concat(Chunk.toArray(yield* Stream.runCollect(conn.read))))).toBe("world")
        // both directions done: the agent closes the connection
        expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toEqual({ _tag: "Close", value: { connection_id: id } })
        expect(yield* conn.ended).toEqual({ _tag: "Closed" })
      }), 60_000)
  }

  it.scopedLive("ConnectionUnsubscribe from the client ends the connection with a typed error", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const client = yield* connectClient(sim.address)
      yield* negotiate(client, "1.29.0")
      yield* subscribe(client, stealAll(5432))
      const conn = yield* sim.connect(5432)
      yield* client.next()
      yield* client.send(steal({ _tag: "ConnectionUnsubscribe", value: conn.connectionId }))
      const exit = yield* Effect.exit(Stream.runDrain(conn.read))
      expect(exit).toMatchObject({ _tag: "Failure", cause: { error: { _tag: "AgentSimError", reason: "ConnectionUnsubscribed" } } })
      expect(yield* conn.ended).toEqual({ _tag: "Unsubscribed" })
      expect(yield* client.nothingWithin(50)).toBe(true) // no Close after an unsubscribe
    }), 60_000)

  it.scopedLive("connect without an unfiltered steal fails with NotSubscribed", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const exit = yield* Effect.exit(sim.connect(1234))
      expect(exit).toMatchObject({ _tag: "Failure", cause: { error: { reason: "NotSubscribed" } } })
    }), 60_000)

  it.scopedLive("mirrored HTTP (StartV2 on DaemonMessage::Tcp) only for clients on 1.19.4 or later", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const current = yield* connectClient(sim.address)
      const old = yield* connectClient(sim.address)
      yield* negotiate(current, "1.19.4")
      yield* negotiate(old, "1.19.3")
      yield* subscribe(current, { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } })
      yield* subscribe(old, { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } })
      const events = Chunk.toArray(yield* Stream.runCollect(sim.request(80, { method: "POST", uri: "/m", headers: headers(["a", "b"]), body: enc("copy") })))
      expect(events[0]).toMatchObject({ variant: "NotStolen" })
      const mirrored = yield* Effect.flatMap(current.next(), (m) => tcpOf(m, "Tcp"))
      expect(mirrored).toMatchObject({ _tag: "HttpRequestChunked", value: { _tag: "StartV2", value: { request: { uri: "/m", body: { frames: [{ _tag: "Data", value: enc("copy") }], is_last: true } } } } })
      expect(yield* old.nothingWithin(100)).toBe(true)
      expect((yield* sim.events).filter((e) => e._tag === "NotMirrored")).toHaveLength(1)
    }), 60_000)
})
