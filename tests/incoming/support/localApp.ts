/**
 * Tiny real local apps for LocalHttp tests: node:http, node:http2 (h2c) and raw TCP servers
 * on 127.0.0.1, port 0, closed with the test scope. Each one counts accepted and open sockets.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import * as http2 from "node:http2"
import * as net from "node:net"

export interface LocalApp {
  readonly port: number
  readonly target: { readonly host: string; readonly port: number }
  /** TCP connections accepted so far. */
  readonly accepted: () => number
  /** TCP connections currently open (server side). */
  readonly open: () => number
}

const track = (server: net.Server) => {
  let accepted = 0
  const sockets = new Set<net.Socket>()
  server.on("connection", (socket: net.Socket) => {
    accepted++
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return { accepted: () => accepted, open: () => sockets.size, sockets }
}

const listen = <S extends net.Server>(server: S): Effect.Effect<LocalApp & { readonly server: S }, never, Scope.Scope> => {
  const counters = track(server)
  return Effect.acquireRelease(
    Effect.async<LocalApp & { readonly server: S }>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        resume(Effect.succeed({ port, target: { host: "127.0.0.1", port }, accepted: counters.accepted, open: counters.open, server }))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        for (const socket of counters.sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
}

/** A node:http server. */
export const localAppHttp = (
  handler: http.RequestListener,
  configure?: (server: http.Server) => void
): Effect.Effect<LocalApp & { readonly server: http.Server }, never, Scope.Scope> =>
  Effect.suspend(() => {
    const server = http.createServer(handler)
    configure?.(server)
    return listen(server)
  })

/** A node:http2 server without TLS (h2c, prior knowledge). */
export const localAppHttp2 = (
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void
): Effect.Effect<LocalApp & { readonly server: http2.Http2Server }, never, Scope.Scope> =>
  Effect.suspend(() => {
    const server = http2.createServer()
    server.on("stream", (stream, headers) => onStream(stream, headers))
    server.on("sessionError", () => {})
    return listen(server)
  })

/** A raw TCP server; `onConnection` sees every accepted socket. */
export const localAppRaw = (
  onConnection: (socket: net.Socket) => void
): Effect.Effect<LocalApp & { readonly server: net.Server }, never, Scope.Scope> =>
  Effect.suspend(() => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {})
      onConnection(socket)
    })
    return listen(server)
  })

/** Reads from `socket` until `predicate(received)` holds. */
export const readUntil = (socket: net.Socket, predicate: (received: Buffer) => boolean): Promise<Buffer> =>
  new Promise((resolve) => {
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (predicate(received)) {
        socket.off("data", onData)
        resolve(received)
      }
    }
    socket.on("data", onData)
  })

/** A port with nothing listening on it. */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A one-shot gate the test opens: an app that waits on it holds its next bytes until the test has
 * seen what came before, which proves streaming by causality instead of by wall time.
 */
export const gate = (): { readonly open: () => void; readonly opened: Promise<void> } => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open: () => open(), opened }
}
