/**
 * A byte-level connection between the simulated remote peer and a client: a raw stolen TCP
 * connection (`AgentSim.connect`) or an HTTP connection after a 101 upgrade.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { AgentSimError } from "./AgentSimError.js"

/**
 * How a connection ended.
 *
 * @since 0.1.0
 * @category models
 */
export type TcpDuplexEnd =
  | { readonly _tag: "Closed" } // the simulator sent `DaemonTcp::Close`
  | { readonly _tag: "Unsubscribed" } // the client sent `ConnectionUnsubscribe`
  | { readonly _tag: "ClientGone"; readonly detail: string } // the client connection ended

/**
 * @since 0.1.0
 * @category models
 */
export interface TcpDuplex {
  readonly connectionId: bigint
  /** the client connection (see `AgentSim.clients`) this connection was given to */
  readonly clientId: number
  /**
   * What the client's app wrote (`LayerTcpSteal::Data`), single consumer. Ends when the client
   * sends an empty `Data` (its app's EOF); fails with `ConnectionUnsubscribed` / `ClientGone`.
   */
  readonly read: Stream.Stream<Uint8Array, AgentSimError>
  /** Sends `DaemonTcp::Data`; empty input is ignored (an empty Data means EOF on the wire). */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, AgentSimError>
  /** Half-closes the remote peer's side: one empty `DaemonTcp::Data`. */
  readonly endWrite: Effect.Effect<void, AgentSimError>
  /**
   * Sends `DaemonTcp::Close` (once) and forgets the connection. The simulator also sends it by
   * itself once both directions have ended, as the agent does when the remote peer is done.
   */
  readonly close: Effect.Effect<void>
  /** Completes when the connection is over, with how it ended. */
  readonly ended: Effect.Effect<TcpDuplexEnd>
}
