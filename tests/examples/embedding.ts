import type { ReconnectPolicy } from "@mirrord-effect/client/AgentSession"
import { IncomingProxy } from "@mirrord-effect/incoming"
import { IncomingStack } from "@mirrord-effect/node"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import { Effect } from "effect"

// The whole stack in one call: a reconnecting agent session (the protocol version is negotiated
// on every connection), local forwarding, and the proxy, which re-subscribes after a loss.
export const Proxy = (agent: { host: string; port: number }, reconnect?: ReconnectPolicy) =>
  IncomingStack.layer({ agent, reconnect })

// Steal remote port 80 (all of it, or the requests a filter selects) into a local app on 127.0.0.1;
// resolves once the agent confirms. A filter the agent refuses or cannot decode is a typed error.
export const stealInto = (localPort: number, filter?: HttpFilter) =>
  IncomingProxy.subscribe({ port: 80, mode: "steal", filter, target: { host: "127.0.0.1", port: localPort } })

// Serve until the agent is gone for good, then fail with the reason (`AgentGaveUp`): under
// `NodeRuntime.runMain(main(...))` the process exits non-zero instead of serving nothing.
export const main = (agent: { host: string; port: number }, localPort: number, reconnect?: ReconnectPolicy) =>
  stealInto(localPort).pipe(Effect.zipRight(IncomingProxy.awaitFailure), Effect.provide(Proxy(agent, reconnect)))
