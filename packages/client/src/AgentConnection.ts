/**
 * A live connection to a mirrord agent: typed messages in and out, version negotiated.
 *
 * The contract shared by every package: `send` encodes the `ClientMessage` and writes it from
 * the caller's fiber (it returns once the socket accepted it; it suspends only while the
 * handshake holds messages back or the socket asks for `'drain'`), `messages` is the
 * single-consumer stream of `DaemonMessage`s the agent sent (Pong, SwitchProtocolVersionResponse
 * and Close are handled by the connection itself and not repeated there). The stream fails with
 * an `AgentConnectionError` when the connection is lost.
 *
 * `make` / `layer` run it over the socket the `SocketConnector` service opens: a `ByteDuplex`
 * (a `node:net` socket, see `NodeTransport`) — writes of one tick corked into one `writev`,
 * reads paused while the inbound mailbox is full — or an `@effect/platform` `Socket` (any
 * runtime; adapted, without cork or read pausing). With the handshake (`Handshake`), a Ping/Pong
 * keepalive and a diagnosis of silent drops (`Diagnosis`). `LogMessage`s are logged with
 * Effect's logger at their level and also forwarded on `messages`.
 *
 * Backpressure: `send` waits while the socket's buffer is above its high-water mark, so memory
 * is bounded by that buffer plus one message per waiting sender; the inbound mailbox holds
 * `inboundCapacity` messages, then the socket is paused until `messages` is pulled again
 * (Pongs and handshake answers then wait too).
 *
 * Closing: when the connection's scope closes, everything `send` accepted is flushed and the
 * socket ended before it is destroyed, waiting at most `closeTimeout` for a peer that stopped
 * reading. Messages still held back by an unfinished handshake are dropped (no version to send
 * them with).
 *
 * @since 0.1.0
 */
import type * as Socket from "@effect/platform/Socket"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import type * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type { ByteDuplex } from "./ByteDuplex.js"
import type * as Diagnosis from "./Diagnosis.js"
import * as Handshake from "./Handshake.js"
import * as internal from "./internal/connection.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class AgentConnectionError extends Data.TaggedError("AgentConnectionError")<{
  readonly reason:
    | "Unreachable" // could not connect
    | "NegotiationFailed" // SwitchProtocolVersion got no (valid) answer
    | "ClosedByAgent" // DaemonMessage.Close(reason)
    | "Lost" // the socket ended or failed without Close (`detail` diagnoses the last messages sent)
    | "PongTimeout" // no Pong within the deadline
    | "Decode" // the agent sent bytes we cannot decode
    | "Write" // the socket refused a write
    | "Shutdown" // the connection's scope closed
    | "GaveUp" // AgentSession: reconnecting gave up (`cause` is the last connection error)
  readonly detail: string
  readonly cause?: unknown
  /**
   * `NegotiationFailed` only: true when the agent closed the connection during the handshake
   * without sending a byte — what an agent older than 1.3.0 does, so `assumeVersion` may help.
   * (Not set for a silent peer, an HTTP server or bad answers, where that advice would be wrong.)
   */
  readonly suggestAssumeVersion?: boolean
  /** For `Lost` (and `PongTimeout`, `Write`, `NegotiationFailed` on a drop): the last messages sent, checked against the version. */
  readonly diagnosis?: Diagnosis.Diagnosis
}> {
  get message(): string {
    return `agent connection ${this.reason}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentConnectionShape {
  /** Encodes and writes a message from the caller's fiber; suspends while the handshake holds messages back or the socket needs `'drain'`. */
  readonly send: (message: ClientMessage) => Effect.Effect<void, AgentConnectionError>
  /** Messages from the agent, in order. Single consumer. */
  readonly messages: Stream.Stream<DaemonMessage, AgentConnectionError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AgentConnection extends Context.Tag("@mirrord-effect/client/AgentConnection")<
  AgentConnection,
  AgentConnectionShape
>() {}

/**
 * Where the agent listens.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentAddress {
  readonly host: string
  readonly port: number
}

/**
 * Opens a connection to an address: a connected `ByteDuplex` (e.g. `NodeTransport.connect`, a
 * `node:net` socket: the connection at the floor) or a not yet running `@effect/platform`
 * `Socket` (e.g. `NodeSocket.makeNet` from `@effect/platform-node`, or another runtime's).
 *
 * @since 0.1.0
 * @category tags
 */
export class SocketConnector extends Context.Tag("@mirrord-effect/client/AgentConnection/SocketConnector")<
  SocketConnector,
  (address: AgentAddress) => Effect.Effect<Socket.Socket | ByteDuplex, Socket.SocketError>
>() {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerSocketConnector = (
  connect: (address: AgentAddress) => Effect.Effect<Socket.Socket | ByteDuplex, Socket.SocketError>
): Layer.Layer<SocketConnector> => Layer.succeed(SocketConnector, connect)

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Handshake.HandshakeOptions {
  readonly address: AgentAddress
  /**
   * Messages `send` may hand over while the handshake holds messages back (default 256); beyond
   * that, senders wait for the answer. (Once negotiated there is no outbound queue: `send`
   * writes at once and waits only for the socket's `'drain'`.)
   */
  readonly outboundCapacity?: number | undefined
  /** Messages received but not yet consumed before the socket is paused (default 256). */
  readonly inboundCapacity?: number | undefined
  /** Time between a Pong and the next Ping (default 10 s; 0 disables the keepalive). */
  readonly pingInterval?: Duration.DurationInput | undefined
  /**
   * How long after a Ping has been written to the socket the agent may stay silent (default
   * 30 s) → `PongTimeout`. Any message from the agent in that time counts as alive.
   */
  readonly pongTimeout?: Duration.DurationInput | undefined
  /** How long to wait for the TCP connection (default 10 s) → `Unreachable`. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * When the connection's scope closes, how long to wait for the socket to flush everything
   * `send` accepted (default 2 s); a peer that stopped reading is cut off after that.
   */
  readonly closeTimeout?: Duration.DurationInput | undefined
  /** How many sent messages `Diagnosis` remembers (default 16). */
  readonly sentRingSize?: number | undefined
  /** Publish the version into this ref instead of a fresh one (it is set to `None` first). */
  readonly versionRef?: SubscriptionRef.SubscriptionRef<Option.Option<Version.SemVer>> | undefined
}

/**
 * A connection made by `make`: the shared contract plus its handshake and diagnosis.
 *
 * @since 0.1.0
 * @category models
 */
export interface LiveAgentConnection extends AgentConnectionShape, Handshake.HandshakeShape {
  /** The last messages sent, checked against the current version. */
  readonly diagnose: Effect.Effect<Diagnosis.Diagnosis>
  /** Fails with the reason once the connection has ended. */
  readonly closed: Effect.Effect<never, AgentConnectionError>
}

/**
 * Connects to `options.address` and runs the connection in the current scope. Succeeds once
 * the TCP connection is open (`Unreachable` otherwise); the handshake continues in the
 * background — await `negotiated` for its outcome.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope | SocketConnector> =>
  Effect.flatMap(SocketConnector, (connect) => internal.connectWith(connect, options))

/**
 * Runs the connection over a socket that has not been run yet (e.g. from `NodeSocket.layerNet`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSocket = (
  socket: Socket.Socket,
  options: Omit<Options, "address"> & { readonly address?: AgentAddress | undefined }
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  internal.fromSocket(
    socket,
    { ...options, address: options.address ?? { host: "agent", port: 0 } },
    options.address === undefined ? "agent" : `${options.address.host}:${options.address.port}`
  )

/**
 * Runs the connection over a connected `ByteDuplex` (e.g. a `node:net` socket).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromDuplex = (
  duplex: ByteDuplex,
  options: Omit<Options, "address"> & { readonly address?: AgentAddress | undefined }
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  internal.fromDuplex(
    duplex,
    { ...options, address: options.address ?? { host: "agent", port: 0 } },
    options.address === undefined ? "agent" : `${options.address.host}:${options.address.port}`
  )

/**
 * The connection, its `Handshake` and the negotiated `ProtocolVersion`. Built once the first
 * handshake succeeded, so it fails with `Unreachable` or `NegotiationFailed` (or the reason the
 * agent ended the connection).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<AgentConnection | Handshake.Handshake | ProtocolVersion.ProtocolVersion, AgentConnectionError, SocketConnector> =>
  Layer.provideMerge(
    Handshake.layerNegotiated,
    Layer.scopedContext(
      Effect.map(make(options), (connection) =>
        Context.make(AgentConnection, connection).pipe(Context.add(Handshake.Handshake, connection)))
    )
  )

/**
 * An `AgentConnectionShape` from a plain pair, no socket (for embedding and tests). `send` is a
 * function or a queue to offer to.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStreams = (pair: {
  readonly messages: Stream.Stream<DaemonMessage, AgentConnectionError>
  readonly send: ((message: ClientMessage) => Effect.Effect<void, AgentConnectionError>) | Queue.Enqueue<ClientMessage>
}): AgentConnectionShape => {
  const send = pair.send
  if (typeof send === "function") return { messages: pair.messages, send }
  return {
    messages: pair.messages,
    // offering to a shut-down queue interrupts: report it as the connection being shut down
    send: (message) =>
      Queue.offer(send, message).pipe(
        Effect.asVoid,
        Effect.catchAllCause(() =>
          Effect.fail(new AgentConnectionError({ reason: "Shutdown", detail: "the outbound queue is shut down" }))
        )
      )
  }
}

/**
 * `AgentConnection` from a plain pair, with a fixed `ProtocolVersion`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromStreams = (
  pair: Parameters<typeof fromStreams>[0],
  version: Version.SemVer | string
): Layer.Layer<AgentConnection | ProtocolVersion.ProtocolVersion> =>
  Layer.merge(Layer.succeed(AgentConnection, fromStreams(pair)), ProtocolVersion.fixed(version))
