/**
 * A raw agent on real TCP, for what agent-sim cannot do on purpose: read the client's bytes at
 * a fixed slow rate (the socket is paused between reads, so the kernel buffers fill and the
 * client's writes push back), and write arbitrary bytes (garbage frames) at the client.
 *
 * It negotiates like an agent of `version` (answers `min(version, offer)`), answers Pings and
 * confirms every port subscription; every other message goes to `onMessage`.
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

export interface RawSession {
  readonly send: (message: DaemonMessage) => void
  readonly writeRaw: (bytes: Uint8Array) => void
  /** From now on, read at most `bytesPerSecond` (undefined: as fast as possible). */
  readonly throttle: (bytesPerSecond: number | undefined) => void
  /** The first confirmed subscription's port. */
  readonly subscribed: Effect.Effect<number>
  /** Completes when the client connection has closed, with why decoding stopped (if it did). */
  readonly closed: Effect.Effect<string | undefined>
  readonly destroy: Effect.Effect<void>
}

export interface RawAgent {
  readonly address: { readonly host: string; readonly port: number }
  /** The next client connection. */
  readonly accept: Effect.Effect<RawSession>
}

export interface RawAgentOptions {
  readonly version: string
  readonly onMessage?: (message: ClientMessage, session: RawSession) => void
}

const concat = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/**
 * Reads `socket` through `onChunk`, at most `setRate(bytesPerSecond)` from the moment it is set
 * (undefined: unlimited): when ahead of the rate, the socket is paused until it is not.
 */
export const readThrottled = (
  socket: net.Socket,
  onChunk: (chunk: Buffer) => void
): { readonly setRate: (bytesPerSecond: number | undefined) => void } => {
  let rate: number | undefined
  let start = 0
  let bytes = 0
  socket.on("data", (chunk: Buffer) => {
    onChunk(chunk)
    if (rate === undefined) return
    bytes += chunk.length
    const wait = start + (bytes / rate) * 1000 - performance.now()
    if (wait > 1) {
      socket.pause()
      setTimeout(() => socket.resume(), wait)
    }
  })
  return {
    setRate: (bytesPerSecond) => {
      rate = bytesPerSecond
      start = performance.now()
      bytes = 0
    }
  }
}

const serveSocket = (socket: net.Socket, options: RawAgentOptions): RawSession => {
  const agentVersion = Version.unsafeParseVersion(options.version)
  const decoder = Codec.decoderFor(options.version, "ClientMessage")
  const subscribed = Deferred.unsafeMake<number>(FiberId.none)
  const closed = Deferred.unsafeMake<string | undefined>(FiberId.none)
  let stopReason: string | undefined
  let pending: Array<Uint8Array> = []
  let pendingLength = 0
  let needed = 1
  const reader = readThrottled(socket, (chunk) => feed(chunk))

  const session: RawSession = {
    send: (message) => {
      if (!socket.destroyed) socket.write(Codec.encode("DaemonMessage", message))
    },
    writeRaw: (bytes) => {
      if (!socket.destroyed) socket.write(bytes)
    },
    throttle: reader.setRate,
    subscribed: Deferred.await(subscribed),
    closed: Deferred.await(closed),
    destroy: Effect.sync(() => void socket.destroy())
  }

  const handle = (message: ClientMessage) => {
    switch (message._tag) {
      case "SwitchProtocolVersion": {
        const offered = Version.toSemVer(message.value) ?? agentVersion
        return session.send({
          _tag: "SwitchProtocolVersionResponse",
          value: Version.format(Version.min(agentVersion, offered))
        })
      }
      case "Ping":
        return session.send({ _tag: "Pong" })
      case "TcpSteal":
        if (message.value._tag === "PortSubscribe") {
          const st = message.value.value
          const port = st._tag === "All" ? st.value : st.values[0]
          session.send({ _tag: "TcpSteal", value: { _tag: "SubscribeResult", value: { _tag: "Ok", value: port } } })
          Deferred.unsafeDone(subscribed, Exit.succeed(port))
          return
        }
    }
    options.onMessage?.(message, session)
  }

  function feed(chunk: Uint8Array) {
    pending.push(chunk)
    pendingLength += chunk.length
    if (pendingLength < needed) return
    const buf = concat(pending, pendingLength)
    let offset = 0
    for (;;) {
      if (offset === buf.length) {
        pending = []
        pendingLength = 0
        needed = 1
        return
      }
      const r = decoder.decode(buf, offset, buf.length)
      if (r._tag === "Complete") {
        offset += r.bytesConsumed
        handle(r.message)
        continue
      }
      if (r._tag === "Incomplete") {
        const rest = buf.subarray(offset)
        pending = [rest]
        pendingLength = rest.length
        needed = r.needed
        return
      }
      stopReason = `undecodable client message: ${r.reason} ${r.detail}`
      socket.destroy()
      return
    }
  }

  socket.on("error", () => {})
  socket.on("close", () => Deferred.unsafeDone(closed, Exit.succeed(stopReason)))
  return session
}

/** Listens on 127.0.0.1, any port; closing the scope closes the listener and every connection. */
export const rawAgent = (options: RawAgentOptions): Effect.Effect<RawAgent, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sessions = yield* Queue.unbounded<RawSession>()
    const sockets = new Set<net.Socket>()
    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server>((resume) => {
        const s = net.createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          Queue.unsafeOffer(sessions, serveSocket(socket, options))
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.void))
        })
    )
    const port = (server.address() as net.AddressInfo).port
    return { address: { host: "127.0.0.1", port }, accept: Queue.take(sessions) }
  })
