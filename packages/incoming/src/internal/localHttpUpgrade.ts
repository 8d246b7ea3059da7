/**
 * The raw duplex handed out after a `101 Switching Protocols` answer on HTTP/1.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import type { UpgradedConnection } from "../LocalHttp.js"
import { LocalHttpError } from "./localHttpError.js"
import { Inbound } from "./localHttpInbound.js"
import { write } from "./localHttpSocket.js"

/** Socket event handlers while a connection is in the upgraded state. @internal */
export interface UpgradedSocketHandlers {
  readonly onData: (chunk: Uint8Array) => void
  readonly onEnd: () => void
  readonly onClose: (error: Error | undefined) => void
}

/**
 * Builds the upgraded duplex. `rest` holds the bytes the app wrote right after the 101 head
 * (already read from the socket); they are the first bytes of `read`.
 *
 * @internal
 */
export const makeUpgraded = (
  socket: net.Socket,
  rest: Uint8Array
): { readonly connection: UpgradedConnection; readonly handlers: UpgradedSocketHandlers } => {
  const inbound = new Inbound<Uint8Array>({ pause: () => socket.pause(), resume: () => socket.resume() })
  if (rest.length > 0) inbound.push(rest, rest.length)
  const handlers: UpgradedSocketHandlers = {
    onData: (chunk) => inbound.push(chunk, chunk.length),
    onEnd: () => inbound.end(),
    onClose: (error) => {
      if (error === undefined) inbound.end()
      else {
        inbound.fail(
          new LocalHttpError({ reason: "ResetAfterWrite", detail: "the upgraded connection was reset", cause: error })
        )
      }
    }
  }
  const connection: UpgradedConnection = {
    read: inbound.stream,
    readSource: inbound,
    write: (chunk) =>
      write(socket, chunk).pipe(
        Effect.mapError(
          () => new LocalHttpError({ reason: "ResetAfterWrite", detail: "the upgraded connection is closed for writing" })
        )
      ),
    endWrite: Effect.sync(() => {
      if (!socket.destroyed && !socket.writableEnded) socket.end()
    })
  }
  return { connection, handlers }
}
