/**
 * The whole incoming stack for Node as one Layer: a reconnecting `AgentSession` over `node:net`
 * (the client's `NodeTransport`), the `ProtocolVersion` it republishes per connection, `LocalHttp`
 * and `LocalTcp` (forwarding to the local app), and an `IncomingProxy` attached to every
 * connection of the session in turn (`IncomingProxy.layerSession`).
 *
 * The layer is built once the first connection has negotiated (it fails with the
 * `AgentConnectionError` otherwise: `Unreachable`, `NegotiationFailed`, …). Later losses are
 * re-dialled with capped exponential backoff; every live subscription is re-sent, built for the
 * new connection's version. When the session gives up, `IncomingProxy.awaitFailure` fails with
 * `IncomingProxyError` reason `AgentGaveUp`: run the program with it (not `Effect.never`) so that
 * it exits non-zero with the reason instead of serving nothing.
 *
 * @since 0.1.0
 */
import type { AgentAddress, AgentConnectionError } from "@mirrord-effect/client/AgentConnection"
import type { AgentSession, ReconnectPolicy, SessionOptions } from "@mirrord-effect/client/AgentSession"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category models
 */
export interface IncomingStackOptions {
  /** Where the agent listens (e.g. `kubectl port-forward` to the agent pod). */
  readonly agent: AgentAddress
  /**
   * Re-dial after a loss: on by default (100 ms doubling to 5 s, giving up after 30 failed
   * attempts or 2 minutes); a policy to tune it; `false` for one connection only (its loss is
   * then `AgentLost`).
   */
  readonly reconnect?: ReconnectPolicy | boolean | undefined
  /** Handshake, keepalive and queue settings of each agent connection. */
  readonly connection?: Omit<SessionOptions, "address" | "reconnect"> | undefined
  readonly proxy?: IncomingProxy.IncomingProxyOptions | undefined
  readonly localHttp?: LocalHttp.LocalHttpOptions | undefined
  readonly localTcp?: LocalTcp.LocalTcpOptions | undefined
}

/**
 * What the layer provides: subscribe with `IncomingProxy.subscribe`, wait with
 * `IncomingProxy.awaitFailure`, watch `AgentSession.status` for a status line.
 *
 * @since 0.1.0
 * @category models
 */
export type IncomingStack =
  | IncomingProxy.IncomingProxy
  | AgentSession
  | ProtocolVersion
  | LocalHttp.LocalHttp
  | LocalTcp.LocalTcp

/**
 * The whole stack, one call: `Effect.provide(IncomingStack.layer({ agent }))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: IncomingStackOptions): Layer.Layer<IncomingStack, AgentConnectionError> =>
  IncomingProxy.layerSession(options.proxy).pipe(
    Layer.provideMerge(
      NodeTransport.layerSession({ ...options.connection, address: options.agent, reconnect: options.reconnect ?? true })
    ),
    Layer.provideMerge(Layer.merge(LocalHttp.layer(options.localHttp), LocalTcp.layer(options.localTcp)))
  )
