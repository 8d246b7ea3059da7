/**
 * Closing the connection's scope loses nothing `send` accepted: the writer corks until the end
 * of the tick, so a close in the same tick used to destroy the socket with the batch still
 * corked (steal's PortUnsubscribe on Ctrl-C, a cut response while the proxy shuts down). Real
 * TCP, a scripted agent; both the node:net path and the @effect/platform Socket path. A peer
 * that stopped reading cannot hold the close beyond `closeTimeout`.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Scope from "effect/Scope"
import { connect, nodeConnector, platformConnector, portSubscribe, stealData, tags } from "./support/connect.js"
import * as ScriptedAgent from "./support/scriptedAgent.js"

const handshakeTags = ["SwitchProtocolVersion(1.29.0)", "ReadyForLogs"]

/** Message `i` of a batch: a data message of `size` bytes, each byte `i`, or a PortSubscribe. */
const message = (i: number, size: number): ClientMessage =>
  size === 0 ? portSubscribe(1000 + i) : stealData(BigInt(i), new Uint8Array(size).fill(i & 0xff))

const sameMessages = (received: ReadonlyArray<ClientMessage>, sent: ReadonlyArray<ClientMessage>) => {
  expect(received.length).toBe(sent.length)
  for (let i = 0; i < sent.length; i++) expect(received[i]).toEqual(sent[i])
}

/** Connects in a scope of its own, negotiates, sends `batch` and closes the scope in the same fiber run. */
const sendThenClose = (
  agent: ScriptedAgent.ScriptedAgent,
  batch: ReadonlyArray<ClientMessage>,
  connector: typeof nodeConnector | typeof platformConnector,
  options: Omit<AgentConnection.Options, "address"> = {}
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const connection = yield* Scope.extend(connect(agent, options, connector), scope)
    yield* connection.negotiated
    for (const m of batch) yield* connection.send(m)
    yield* Scope.close(scope, Exit.void)
  })

describe("closing the connection flushes what send accepted", () => {
  for (const [name, connector] of [["node:net", nodeConnector], ["@effect/platform Socket", platformConnector]] as const) {
    it.scopedLive(`${name}: N messages sent, then the scope closed in the same tick: the agent receives all N in order`, () =>
      Effect.gen(function*() {
        const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
        // random batches: small messages joined in one corked writev, payloads above the
        // writer's large-segment size written as they are, some beyond the socket's high-water mark
        const batches = FastCheck.sample(
          FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 40_000 })), {
            minLength: 1,
            maxLength: 60
          }),
          { numRuns: 8, seed: 10 }
        )
        for (const sizes of batches) {
          const batch = sizes.map((size, i) => message(i, size))
          yield* sendThenClose(agent, batch, connector)
          const peer = yield* agent.nextConnection
          yield* peer.closed
          const received = peer.received()
          expect(tags(received.slice(0, 2))).toEqual(handshakeTags)
          sameMessages(received.slice(2), batch)
        }
      }), 60_000)
  }

  it.scopedLive("steal's stop: PortUnsubscribe sent and the scope closed at once reaches the agent", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const unsubscribe: ClientMessage = { _tag: "TcpSteal", value: { _tag: "PortUnsubscribe", value: 8080 } }
      yield* sendThenClose(agent, [portSubscribe(8080), unsubscribe], nodeConnector)
      const peer = yield* agent.nextConnection
      yield* peer.closed
      expect(tags(peer.received())).toEqual([...handshakeTags, "TcpSteal.PortSubscribe", "TcpSteal.PortUnsubscribe"])
    }), 20_000)

  it.scopedLive("a peer that stopped reading cannot hold the close beyond closeTimeout", () =>
    Effect.gen(function*() {
      const agent = yield* ScriptedAgent.make({ version: "1.29.0" })
      const scope = yield* Scope.make()
      const connection = yield* Scope.extend(connect(agent, { closeTimeout: "300 millis" }, nodeConnector), scope)
      yield* connection.negotiated
      const peer = yield* agent.nextConnection
      yield* peer.awaitReceived(2)
      yield* peer.pause
      // far more than the loopback socket buffers of both sides hold: it cannot all be flushed
      const size = 64 * 1024 * 1024
      yield* connection.send(stealData(1n, new Uint8Array(size)))
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(15_000)
      // the client destroyed its socket after the bound: reading again, the peer finds the
      // message cut short and the connection gone
      yield* peer.resume
      yield* peer.closed
      expect(peer.received().length).toBe(2)
    }), 30_000)
})
