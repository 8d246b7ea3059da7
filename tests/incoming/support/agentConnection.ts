/**
 * A minimal socket-backed `AgentConnection` for tests: `NodeSocket.makeNet` +
 * `MessageChannel.duplexClient`, the `SwitchProtocolVersion` handshake (publishing the answer in
 * `ProtocolVersion`), and `messages` failing with `Lost` when the socket ends.
 */
import { NodeSocket } from "@effect/platform-node"
import * as Socket from "@effect/platform/Socket"
import type { AgentConnectionShape } from "@mirrord-effect/client/AgentConnection"
import { AgentConnectionError } from "@mirrord-effect/client/AgentConnection"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"

export const connectAgent = (
  port: number,
  options: { readonly clientVersion?: string; readonly outboundCapacity?: number } = {}
): Effect.Effect<AgentConnectionShape, never, Scope.Scope | ProtocolVersion.ProtocolVersion> =>
  Effect.gen(function*() {
    const socket = yield* Effect.orDie(NodeSocket.makeNet({ host: "127.0.0.1", port }))
    const outbound = yield* Queue.bounded<ClientMessage>(options.outboundCapacity ?? 16)
    const inbound = yield* Queue.unbounded<Take.Take<DaemonMessage, AgentConnectionError>>()
    yield* Stream.fromQueue(outbound).pipe(
      Stream.pipeThroughChannelOrFail(MessageChannel.duplexClient(Socket.toChannel(socket))),
      Stream.mapError((cause) => new AgentConnectionError({ reason: "Lost", detail: String(cause), cause })),
      Stream.runIntoQueue(inbound),
      Effect.forkScoped
    )
    const lost = new AgentConnectionError({ reason: "Lost", detail: "the agent socket ended" })
    // handshake
    yield* Queue.offer(outbound, { _tag: "SwitchProtocolVersion", value: options.clientVersion ?? "1.29.0" })
    const early: Array<DaemonMessage> = []
    for (;;) {
      const take = yield* Queue.take(inbound)
      const exit = Take.done(take)
      const chunk = yield* Effect.orDie(Effect.mapError(exit, () => lost))
      const messages = Chunk.toReadonlyArray(chunk)
      const index = messages.findIndex((m) => m._tag === "SwitchProtocolVersionResponse")
      if (index === -1) {
        early.push(...messages)
        continue
      }
      const answer = messages[index]!
      if (answer._tag === "SwitchProtocolVersionResponse") yield* ProtocolVersion.setKnown(answer.value)
      early.push(...messages.slice(index + 1))
      break
    }
    const messages: Stream.Stream<DaemonMessage, AgentConnectionError> = Stream.concat(
      Stream.fromIterable(early),
      Stream.concat(Stream.flattenTake(Stream.fromQueue(inbound)), Stream.fail(lost))
    ).pipe(Stream.filter((m) => m._tag !== "Pong" && m._tag !== "SwitchProtocolVersionResponse"))
    return {
      send: (message) => Queue.offer(outbound, message).pipe(Effect.asVoid),
      messages
    } satisfies AgentConnectionShape
  })
