/**
 * The state shared by the router, the gateways and the relays while the proxy is attached to
 * one agent connection: the outbound path, the fibers, and what is live per connection id.
 *
 * Mirror and steal state are kept apart: the same connection id may be live in both.
 *
 * @internal
 */
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import type { LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as FiberSet from "effect/FiberSet"
import type { LocalHttpService } from "../LocalHttp.js"
import type { LocalTcpService } from "../LocalTcp.js"
import type { SubscriptionMode } from "../Subscription.js"
import type { ProxyMetrics } from "./metrics.js"
import type { RequestBody } from "./requestBody.js"

/** Options with their defaults applied. @internal */
export interface ResolvedOptions {
  readonly retryBackoff: ReadonlyArray<Duration.Duration>
  readonly requestBodyBufferFrames: number
  readonly tcpDataBufferMessages: number
  readonly responseReadyFrames: number
  readonly mirrorLinger: Duration.Duration
  readonly badGatewayVersion: string
}

/** Services and settings that live as long as the proxy. @internal */
export interface ProxyContext {
  readonly options: ResolvedOptions
  readonly localHttp: LocalHttpService
  readonly localTcp: LocalTcpService
  readonly metrics: ProxyMetrics
  readonly counters: { gateways: number; relays: number }
}

/** A relayed raw byte stream (a raw TCP connection, or an HTTP connection after `101`). @internal */
export interface RelayHandle {
  /**
   * Agent `Data` for the app, in order (an empty chunk is the agent's half-close): written to
   * the app's socket from the caller's fiber (waiting for the socket to drain), or, before the
   * app's connection is up, buffered — the caller waits while the buffer is full. Returns at
   * once once the relay is gone.
   */
  readonly offer: (bytes: Uint8Array) => Effect.Effect<void>
  /** Mirror only: the agent closed the connection (stop writing, linger while the app talks). */
  readonly closeRemote: Effect.Effect<void>
  fiber: Fiber.RuntimeFiber<void> | undefined
}

/** @internal */
export interface GatewayHandle {
  readonly body: RequestBody
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** The agent cancelled the request (Close, ErrorV1/V2): nothing more may be sent for it. */
  cancelled: boolean
}

/** What is live for one connection id in one mode. @internal */
export interface ConnectionState {
  readonly gateways: Map<number, GatewayHandle>
  relay: RelayHandle | undefined
}

/** @internal */
export interface Attachment {
  /** Sends to the agent, waiting for room (backpressure); a lost agent interrupts the caller. */
  readonly send: (message: ClientMessage) => Effect.Effect<void>
  /** Sends to the agent, waiting for room; a lost agent is ignored (the router learns it from the inbound stream). */
  readonly post: (message: ClientMessage) => Effect.Effect<void>
  readonly fibers: FiberSet.FiberSet<void, never>
  readonly connections: { readonly [K in SubscriptionMode]: Map<bigint, ConnectionState> }
}

/** @internal */
export const steal = (message: LayerTcpSteal): ClientMessage => ({ _tag: "TcpSteal", value: message })

/** `ConnectionUnsubscribe` on the channel of `mode`. @internal */
export const connectionUnsubscribe = (mode: SubscriptionMode, connectionId: bigint): ClientMessage =>
  mode === "steal"
    ? { _tag: "TcpSteal", value: { _tag: "ConnectionUnsubscribe", value: connectionId } }
    : { _tag: "Tcp", value: { _tag: "ConnectionUnsubscribe", value: connectionId } }

/** The state of a connection id, created on first use. @internal */
export const connectionState = (attachment: Attachment, mode: SubscriptionMode, id: bigint): ConnectionState => {
  const map = attachment.connections[mode]
  let state = map.get(id)
  if (state === undefined) {
    state = { gateways: new Map(), relay: undefined }
    map.set(id, state)
  }
  return state
}

/** Forgets a connection id once nothing is live on it (unless it was replaced meanwhile). @internal */
export const pruneConnection = (
  attachment: Attachment,
  mode: SubscriptionMode,
  id: bigint,
  state: ConnectionState
): Effect.Effect<void> =>
  Effect.sync(() => {
    const map = attachment.connections[mode]
    if (map.get(id) === state && state.gateways.size === 0 && state.relay === undefined) map.delete(id)
  })
