/**
 * A node:net TCP listener in a scope: every accepted socket is handed to `onSocket`; closing the
 * scope destroys the open sockets and closes the server.
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { AgentSimError } from "../AgentSimError.js"

/** @internal */
export interface BoundAddress {
  readonly host: string
  readonly port: number
}

/** @internal */
export const listenTcp = (
  host: string,
  port: number,
  onSocket: (socket: net.Socket) => void
): Effect.Effect<BoundAddress, AgentSimError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; sockets: Set<net.Socket>; address: BoundAddress }, AgentSimError>((resume) => {
      const sockets = new Set<net.Socket>()
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.setNoDelay(true)
        onSocket(socket)
      })
      const onError = (cause: Error) =>
        resume(Effect.fail(new AgentSimError({ reason: "Listen", detail: `cannot listen on ${host}:${port}: ${cause.message}`, cause })))
      server.once("error", onError)
      server.listen(port, host, () => {
        server.off("error", onError)
        // a late server error (rare) must not crash the process
        server.on("error", () => {})
        const bound = server.address() as net.AddressInfo
        resume(Effect.succeed({ server, sockets, address: { host: bound.address, port: bound.port } }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ address }) => address))
