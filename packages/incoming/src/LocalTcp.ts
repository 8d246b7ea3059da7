/**
 * `LocalTcp`: raw TCP connections to the user's local application, for stolen and mirrored
 * connections that are not handled as HTTP. Built on `node:net` like `LocalHttp` (the same
 * connect, write-with-backpressure and paused-reading plumbing), behind a service so the proxy
 * itself stays runtime-neutral.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import { LocalHttpError } from "./internal/localHttpError.js"
import { Inbound } from "./internal/localHttpInbound.js"
import { connect as connectSocket, write } from "./internal/localHttpSocket.js"
import type { LocalTarget, UpgradedConnection } from "./LocalHttp.js"

/**
 * A raw byte stream to the local app; the same shape as an upgraded HTTP connection. `read`
 * ends at the app's EOF and fails (reason `ResetAfterWrite`) when the connection breaks;
 * `endWrite` half-closes.
 *
 * @since 0.1.0
 * @category models
 */
export type LocalStream = UpgradedConnection

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalTcpService {
  /** Connects to exactly `target`; the connection is destroyed when the scope closes. */
  readonly connect: (target: LocalTarget) => Effect.Effect<LocalStream, LocalHttpError, Scope.Scope>
  /** Connections currently open. */
  readonly openConnections: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LocalTcp extends Context.Tag("@mirrord-effect/incoming/LocalTcp")<LocalTcp, LocalTcpService>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalTcpOptions {
  /** Default 10 seconds. */
  readonly connectTimeout?: Duration.DurationInput
}

const wrap = (socket: net.Socket): LocalStream => {
  let lastError: Error | undefined
  const inbound = new Inbound<Uint8Array>({ pause: () => socket.pause(), resume: () => socket.resume() })
  socket.on("data", (chunk: Buffer) => inbound.push(chunk, chunk.length))
  socket.on("end", () => inbound.end())
  socket.on("error", (error) => {
    lastError = error
  })
  socket.on("close", () => {
    if (lastError === undefined) inbound.end()
    else {
      inbound.fail(
        new LocalHttpError({ reason: "ResetAfterWrite", detail: "the local connection was reset", cause: lastError })
      )
    }
  })
  return {
    read: inbound.stream,
    readSource: inbound,
    write: (chunk) =>
      write(socket, chunk).pipe(
        Effect.mapError(
          () => new LocalHttpError({ reason: "ResetAfterWrite", detail: "the local connection is closed for writing" })
        )
      ),
    endWrite: Effect.sync(() => {
      if (!socket.destroyed && !socket.writableEnded) socket.end()
    })
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: LocalTcpOptions = {}): Effect.Effect<LocalTcpService> =>
  Effect.sync(() => {
    const timeout = Option.some(Duration.decode(options.connectTimeout ?? Duration.seconds(10)))
    let open = 0
    return {
      connect: (target) =>
        Effect.acquireRelease(
          Effect.tap(connectSocket(target, { allowHalfOpen: true, timeout }), () => {
            open++
          }),
          (socket) =>
            Effect.sync(() => {
              open--
              socket.destroy()
            })
        ).pipe(Effect.map(wrap)),
      openConnections: Effect.sync(() => open)
    } satisfies LocalTcpService
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: LocalTcpOptions): Layer.Layer<LocalTcp> => Layer.effect(LocalTcp, make(options))
