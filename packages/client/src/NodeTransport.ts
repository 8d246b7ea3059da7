/**
 * The agent connection over `node:net` (Node, and the `node:net` of Bun and Deno): the socket is
 * a `ByteDuplex` as it is, so the connection writes corked batches with one `writev`, waits for
 * `'drain'` only when the socket asks, and pauses the OS socket when its inbound mailbox is full.
 *
 * A module of its own so that `@mirrord-effect/client` itself stays runtime-neutral (it imports
 * no `node:` module) and needs no `@effect/platform-node`: import
 * `@mirrord-effect/client/NodeTransport` where `node:net` exists.
 *
 * @since 0.2.0
 */
import * as Socket from "@effect/platform/Socket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as net from "node:net"
import type * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as AgentConnection from "./AgentConnection.js"
import * as AgentSession from "./AgentSession.js"
import type { ByteDuplex } from "./ByteDuplex.js"
import type * as Handshake from "./Handshake.js"

/**
 * Opens a TCP connection (no Nagle delay: writes are already batched per tick); succeeds once it
 * is connected. Interrupting it destroys the socket.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (address: AgentConnection.AgentAddress): Effect.Effect<ByteDuplex, Socket.SocketError> =>
  Effect.async<ByteDuplex, Socket.SocketError>((resume) => {
    const socket = net.connect({ host: address.host, port: address.port })
    const onError = (cause: Error) => {
      socket.destroy()
      resume(Effect.fail(new Socket.SocketGenericError({ reason: "Open", cause })))
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.removeListener("error", onError)
      // the connection listens for errors itself; until it does, an error must not be unhandled
      socket.on("error", () => {})
      socket.setNoDelay(true)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * `SocketConnector` over `node:net`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConnector: Layer.Layer<AgentConnection.SocketConnector> = AgentConnection.layerSocketConnector(connect)

/**
 * `AgentConnection.layer` over `node:net`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConnection = (
  options: AgentConnection.Options
): Layer.Layer<AgentConnection.AgentConnection | Handshake.Handshake | ProtocolVersion.ProtocolVersion, AgentConnection.AgentConnectionError> =>
  Layer.provide(AgentConnection.layer(options), layerConnector)

/**
 * `AgentSession.layer` (reconnecting) over `node:net`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSession = (
  options: AgentSession.SessionOptions
): Layer.Layer<AgentSession.AgentSession | ProtocolVersion.ProtocolVersion, AgentConnection.AgentConnectionError> =>
  Layer.provide(AgentSession.layer(options), layerConnector)
