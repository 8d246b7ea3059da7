/**
 * TCP plumbing shared by the HTTP/1 and HTTP/2 senders: connecting (with a timeout) and
 * writing with backpressure.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as net from "node:net"
import type { LocalTarget } from "../LocalHttp.js"
import { LocalHttpError } from "./localHttpError.js"

/** @internal */
export const describeTarget = (target: LocalTarget): string =>
  net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`

/**
 * Opens a TCP connection to exactly `target`. Interruption (including the timeout) destroys
 * the half-open socket.
 *
 * @internal
 */
export const connect = (
  target: LocalTarget,
  options: { readonly allowHalfOpen: boolean; readonly timeout: Option.Option<Duration.Duration> }
): Effect.Effect<net.Socket, LocalHttpError> => {
  const attempt = Effect.async<net.Socket, LocalHttpError>((resume) => {
    let socket: net.Socket
    try {
      socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: options.allowHalfOpen })
    } catch (cause) {
      resume(
        Effect.fail(
          new LocalHttpError({ reason: "ConnectFailed", detail: `cannot connect to ${describeTarget(target)}`, cause })
        )
      )
      return
    }
    const cleanup = () => {
      socket.off("connect", onConnect)
      socket.off("error", onError)
    }
    const onConnect = () => {
      cleanup()
      socket.setNoDelay(true)
      resume(Effect.succeed(socket))
    }
    const onError = (cause: Error) => {
      cleanup()
      socket.destroy()
      resume(
        Effect.fail(
          new LocalHttpError({
            reason: "ConnectFailed",
            detail: `failed to make a TCP connection with the local application at ${describeTarget(target)}`,
            cause
          })
        )
      )
    }
    socket.once("connect", onConnect)
    socket.once("error", onError)
    return Effect.sync(() => {
      cleanup()
      socket.destroy()
    })
  })
  return Option.match(options.timeout, {
    onNone: () => attempt,
    onSome: (duration) =>
      Effect.timeoutFail(attempt, {
        duration,
        onTimeout: () =>
          new LocalHttpError({
            reason: "Timeout",
            retryable: true,
            detail: `connecting to ${describeTarget(target)} timed out after ${Duration.format(duration)}`
          })
      })
  })
}

/** The writable side went away (closed, destroyed or errored). @internal */
export class WriteClosed {
  readonly _tag = "WriteClosed"
}

/** @internal */
export interface WritableLike {
  readonly destroyed: boolean
  readonly writable: boolean
  readonly writableNeedDrain: boolean
  write(chunk: Uint8Array): boolean
  once(event: "drain" | "close" | "error", listener: (...args: Array<any>) => void): unknown
  off(event: "drain" | "close" | "error", listener: (...args: Array<any>) => void): unknown
}

/**
 * Writes `chunk`; when the stream's buffer is above its high-water mark, waits for `drain`
 * (so the caller pulls the next chunk only once the socket has drained).
 *
 * @internal
 */
export const write = (stream: WritableLike, chunk: Uint8Array): Effect.Effect<void, WriteClosed> =>
  Effect.suspend(() => {
    if (stream.destroyed || !stream.writable) return Effect.fail(new WriteClosed())
    if (chunk.length === 0) return Effect.void
    return stream.write(chunk) ? Effect.void : awaitDrain(stream)
  })

/** Waits until the stream's write buffer has drained below its high-water mark. @internal */
export const drained = (stream: WritableLike): Effect.Effect<void, WriteClosed> =>
  Effect.suspend(() => {
    if (stream.destroyed) return Effect.fail(new WriteClosed())
    return stream.writableNeedDrain ? awaitDrain(stream) : Effect.void
  })

const awaitDrain = (stream: WritableLike): Effect.Effect<void, WriteClosed> =>
  Effect.async<void, WriteClosed>((resume) => {
    const cleanup = () => {
      stream.off("drain", onDrain)
      stream.off("close", onClose)
      stream.off("error", onClose)
    }
    const onDrain = () => {
      cleanup()
      resume(Effect.void)
    }
    const onClose = () => {
      cleanup()
      resume(Effect.fail(new WriteClosed()))
    }
    stream.once("drain", onDrain)
    stream.once("close", onClose)
    stream.once("error", onClose)
    if (stream.destroyed) onClose()
    return Effect.sync(cleanup)
  })

/**
 * The pool's view of one leased connection: the exchange tells it whether the connection
 * is clean enough to be reused when the lease ends.
 *
 * @internal
 */
export interface Lease {
  isClean: () => boolean
}
