/**
 * Connecting `AgentConnection` to a scripted agent over real TCP: `node:net` through
 * `NodeTransport` by default (the connection at the floor), or the `@effect/platform` Socket
 * path (`platformConnector`), as a host on another runtime would.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ScriptedAgent } from "./scriptedAgent.js"

export const platformConnector = (address: AgentConnection.AgentAddress) =>
  NodeSocket.makeNet({ host: address.host, port: address.port })

export const nodeConnector = NodeTransport.connect

export const NodeConnector = NodeTransport.layerConnector

/** Connects with the keepalive off unless asked for. */
export const connect = (
  agent: ScriptedAgent,
  options: Omit<AgentConnection.Options, "address"> = {},
  connector: typeof nodeConnector | typeof platformConnector = nodeConnector
): Effect.Effect<AgentConnection.LiveAgentConnection, AgentConnection.AgentConnectionError, Scope.Scope> =>
  AgentConnection.make({ address: agent.address, pingInterval: 0, ...options }).pipe(
    Effect.provideService(AgentConnection.SocketConnector, connector)
  )

export const portSubscribe = (port: number): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "PortSubscribe", value: { _tag: "All", value: port } }
})

export const stealData = (connectionId: bigint, bytes: Uint8Array): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "Data", value: { connection_id: connectionId, bytes } }
})

/** `LayerTcpSteal::HttpResponseChunked` (decodable since 1.8.0). */
export const chunkedResponseError = (connectionId: bigint): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "HttpResponseChunked", value: { _tag: "Error", value: { connection_id: connectionId, request_id: 0 } } }
})

export const tags = (messages: ReadonlyArray<ClientMessage>): ReadonlyArray<string> =>
  messages.map((m) =>
    m._tag === "SwitchProtocolVersion"
      ? `SwitchProtocolVersion(${m.value})`
      : m._tag === "TcpSteal"
      ? `TcpSteal.${m.value._tag}`
      : m._tag
  )
