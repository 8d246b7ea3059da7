/**
 * A scripted mirrord agent for client tests: a real TCP server on 127.0.0.1:0 (node:net wrapped
 * in Effect) that decodes `ClientMessage`s with `decoderFor(version)` and answers per a script.
 * Like a real agent, it closes the socket without a word on a message it cannot decode.
 *
 * The default script answers the handshake by era (< 1.3.0: cannot decode it; 1.3.0–1.5.5:
 * echo; >= 1.6.0: min) and Ping with Pong. Tests wrap it to change one behaviour.
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as net from "node:net"

export interface PeerConnection {
  /** Every message decoded so far, in order. */
  readonly received: () => ReadonlyArray<ClientMessage>
  /** Waits until at least `count` messages were decoded. */
  readonly awaitReceived: (count: number) => Effect.Effect<ReadonlyArray<ClientMessage>>
  readonly send: (...messages: ReadonlyArray<DaemonMessage>) => Effect.Effect<void>
  readonly sendBytes: (bytes: Uint8Array) => Effect.Effect<void>
  /** Closes the socket without a word, like an agent that failed to decode. */
  readonly drop: Effect.Effect<void>
  /** Stops / resumes reading from the socket (OS-level: the client's writes back up). */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /** Completes when the socket closed (either side). */
  readonly closed: Effect.Effect<void>
  readonly isClosed: () => boolean
  /** Why the peer dropped the connection, if it did (a decode failure). */
  readonly dropReason: () => string | undefined
}

export type Script = (message: ClientMessage, peer: PeerConnection) => Effect.Effect<void>

export interface ScriptedAgent {
  readonly address: { readonly host: string; readonly port: number }
  /** The next accepted connection. */
  readonly nextConnection: Effect.Effect<PeerConnection>
}

/** What an agent of `agent` answers to `SwitchProtocolVersion(offered)` (version-history.md §4.2). */
export const handshakeAnswer = (agent: string, offered: string): string => {
  const a = Version.unsafeParseVersion(agent)
  const o = Version.unsafeParseVersion(offered)
  if (Version.compare(a, Version.unsafeParseVersion("1.6.0")) < 0) return offered
  return Version.format(Version.min(a, o))
}

/** The default behaviour of an agent of `version`: handshake by era, Pong for Ping. */
export const standardScript = (version: string): Script => (message, peer) => {
  switch (message._tag) {
    case "SwitchProtocolVersion":
      return peer.send({ _tag: "SwitchProtocolVersionResponse", value: handshakeAnswer(version, message.value) })
    case "Ping":
      return peer.send({ _tag: "Pong" })
    default:
      return Effect.void
  }
}

const writeBytes = (socket: net.Socket, bytes: Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (socket.destroyed) return resume(Effect.void)
    socket.write(bytes, () => resume(Effect.void))
  })

const servePeer = (
  socket: net.Socket,
  version: string,
  script: Script,
  runtime: Runtime.Runtime<never>
): Effect.Effect<PeerConnection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const chunks = yield* Mailbox.make<Uint8Array>()
    const closed = yield* Deferred.make<void>()
    const received: Array<ClientMessage> = []
    let dropReason: string | undefined
    socket.on("data", (chunk: Buffer) => {
      chunks.unsafeOffer(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    })
    socket.on("end", () => Runtime.runFork(runtime)(chunks.end))
    socket.on("error", () => Runtime.runFork(runtime)(chunks.end))
    socket.on("close", () => Runtime.runFork(runtime)(Effect.zipRight(chunks.end, Deferred.succeed(closed, undefined))))

    const peer: PeerConnection = {
      received: () => received.slice(),
      awaitReceived: (count) =>
        Effect.suspend(() => Effect.succeed(received.length >= count)).pipe(
          Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("5 millis") }),
          Effect.map(() => received.slice())
        ),
      send: (...messages) => writeBytes(socket, Codec.encodeAll("DaemonMessage", messages)),
      sendBytes: (bytes) => writeBytes(socket, bytes),
      drop: Effect.sync(() => socket.destroy()),
      pause: Effect.sync(() => socket.pause()),
      resume: Effect.sync(() => socket.resume()),
      closed: Deferred.await(closed),
      isClosed: () => socket.destroyed,
      dropReason: () => dropReason
    }

    yield* MessageChannel.decodeStream(Mailbox.toStream(chunks), Codec.decoderFor(version, "ClientMessage")).pipe(
      Stream.runForEach((message) => Effect.suspend(() => {
        received.push(message)
        return script(message, peer)
      })),
      Effect.catchAll((error) =>
        Effect.sync(() => {
          // a real agent propagates the decode error out of its client loop: no Close, just gone
          dropReason = error.message
          socket.destroy()
        })
      ),
      Effect.forkScoped
    )
    return peer
  })

export const make = (options: {
  readonly version: string
  readonly script?: Script
}): Effect.Effect<ScriptedAgent, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const script = options.script ?? standardScript(options.version)
    const accepted = yield* Queue.unbounded<net.Socket>()
    const peers = yield* Queue.unbounded<PeerConnection>()
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      Queue.unsafeOffer(accepted, socket)
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    // serve every connection as soon as it is accepted, whether or not the test looks at it
    yield* Queue.take(accepted).pipe(
      Effect.flatMap((socket) => servePeer(socket, options.version, script, runtime)),
      Effect.flatMap((peer) => Queue.offer(peers, peer)),
      Effect.forever,
      Effect.forkScoped
    )
    return { address: { host: "127.0.0.1", port }, nextConnection: Queue.take(peers) }
  })

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})
