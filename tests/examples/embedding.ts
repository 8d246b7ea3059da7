import { NodeSocket } from "@effect/platform-node"
import { AgentConnection } from "@mirrord-effect/client"
import { IncomingProxy, LocalHttp, LocalTcp } from "@mirrord-effect/incoming"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import { Layer } from "effect"

// The agent connection negotiates the protocol version and provides it as `ProtocolVersion`.
export const Agent = (address: { host: string; port: number }) =>
  AgentConnection.layer({ address }).pipe(Layer.provide(AgentConnection.layerSocketConnector(NodeSocket.makeNet)))

export const Proxy = (agent: { host: string; port: number }) =>
  IncomingProxy.layer().pipe(Layer.provideMerge(Agent(agent)), Layer.provide([LocalHttp.layer(), LocalTcp.layer()]))

// Steal remote port 80 (all of it, or the requests a filter selects) into a local app on 127.0.0.1;
// resolves once the agent confirms. A filter the agent's version cannot decode is a typed error.
export const stealInto = (localPort: number, filter?: HttpFilter) =>
  IncomingProxy.subscribe({ port: 80, mode: "steal", filter, target: { host: "127.0.0.1", port: localPort } })
