/**
 * HTTP/1.x towards the local app, written directly on a `net.Socket`: the request head is
 * serialized byte for byte (method, target, version, headers exactly as given; nothing added
 * except a framing header for a body that declares none), the body is streamed with
 * backpressure while the response is read (full duplex), and the response is parsed by
 * {@link ResponseParser}.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import type { BodyFrame, HeaderMap, LocalRequest, LocalResponse } from "../LocalHttp.js"
import { BodyReader } from "./localHttpBody.js"
import { isLocalHttpError, LocalHttpError } from "./localHttpError.js"
import {
  getValues,
  has,
  hasToken,
  headerLines,
  isToken,
  parseRequestTarget,
  tokens,
  toLatin1,
  validateHeaders
} from "./localHttpHeaders.js"
import { Inbound } from "./localHttpInbound.js"
import { type ResponseHead, ResponseParser } from "./localHttpParser.js"
import { drained, type Lease, write, WriteClosed } from "./localHttpSocket.js"
import { makeUpgraded } from "./localHttpUpgrade.js"

interface SocketHandlers {
  readonly onData: (chunk: Uint8Array) => void
  readonly onEnd: () => void
  readonly onClose: (error: Error | undefined) => void
}

/**
 * One HTTP/1 connection. It always has exactly one set of socket handlers: idle (any byte or
 * EOF makes it unusable), an exchange in progress, or upgraded.
 *
 * @internal
 */
export class H1Connection {
  readonly kind = "h1" as const
  closed = false
  private peerEnded = false
  private broken = false
  private lastError: Error | undefined
  private handlers: SocketHandlers
  private readonly closeListeners: Array<() => void> = []

  constructor(
    readonly id: number,
    readonly key: string,
    readonly socket: net.Socket
  ) {
    this.handlers = this.idleHandlers
    socket.on("data", (chunk: Buffer) => this.handlers.onData(chunk))
    socket.on("end", () => {
      this.peerEnded = true
      this.handlers.onEnd()
    })
    socket.on("error", (error) => {
      this.lastError = error
    })
    socket.on("close", () => {
      this.closed = true
      this.handlers.onClose(this.lastError)
      for (const listener of this.closeListeners) listener()
    })
  }

  /** Can a new request be written on it? */
  get usable(): boolean {
    return !this.closed && !this.peerEnded && !this.broken && !this.socket.destroyed && this.socket.writable
  }

  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** Back to idle: stray bytes or EOF while idle make the connection unusable. */
  setIdle(): void {
    this.handlers = this.idleHandlers
    this.socket.resume()
  }

  /** @internal */
  setHandlers(handlers: SocketHandlers): void {
    this.handlers = handlers
  }

  markBroken(): void {
    this.broken = true
  }

  private readonly idleHandlers: SocketHandlers = {
    onData: () => {
      this.broken = true
      this.socket.destroy()
    },
    onEnd: () => this.socket.destroy(),
    onClose: () => {}
  }
}

/** The HTTP/1 form of a request, validated before any connection is used. @internal */
export interface PreparedH1 {
  readonly method: string
  readonly requestLine: string
  readonly headers: HeaderMap
  readonly framing:
    | { readonly _tag: "Length"; readonly length: number }
    | { readonly _tag: "Chunked" }
    | { readonly _tag: "None" }
    | { readonly _tag: "Unknown" }
  readonly extraHeaders: ReadonlyArray<readonly [string, string]>
  readonly lineVersion: "HTTP/1.0" | "HTTP/1.1"
  readonly expectsUpgrade: boolean
  readonly requestKeepAlive: boolean
}

const isUpgradeRequest = (headers: HeaderMap): boolean =>
  has(headers, "upgrade") && hasToken(headers, "connection", "upgrade")

const invalid = (detail: string) => new LocalHttpError({ reason: "Protocol", detail: `invalid request: ${detail}` })

/**
 * Validates a request and computes its HTTP/1 form. HTTP/1.0 and HTTP/0.9 go out as
 * `HTTP/1.0`, HTTP/1.1 and HTTP/2.0 as `HTTP/1.1`. An absolute-form target is sent in origin
 * form (path and query); the connection itself always goes to the pool's target.
 *
 * @internal
 */
export const prepare = <E>(request: LocalRequest<E>): Effect.Effect<PreparedH1, LocalHttpError> =>
  Effect.suspend(() => {
    if (!isToken(request.method)) return Effect.fail(invalid(`method ${JSON.stringify(request.method)}`))
    const target = parseRequestTarget(request.uri, request.method)
    if (typeof target === "string") return Effect.fail(invalid(target))
    const headerError = validateHeaders(request.headers, "header")
    if (headerError !== undefined) return Effect.fail(invalid(headerError))
    const lineVersion = request.version === "HTTP/1.0" || request.version === "HTTP/0.9" ? "HTTP/1.0" : "HTTP/1.1"
    const extraHeaders: Array<readonly [string, string]> = []
    // An HTTP/2 request carries its authority in the URI; HTTP/1.1 needs a Host header.
    if (request.version === "HTTP/2.0" && !has(request.headers, "host") && target.authority !== undefined) {
      extraHeaders.push(["host", target.authority])
    }
    let framing: PreparedH1["framing"]
    const te = tokens(request.headers, "transfer-encoding")
    if (te.length > 0) {
      if (te[te.length - 1] !== "chunked") {
        return Effect.fail(invalid("transfer-encoding whose final coding is not chunked"))
      }
      framing = { _tag: "Chunked" }
    } else if (has(request.headers, "content-length")) {
      const lengths = tokens(request.headers, "content-length")
      const first = lengths[0]
      if (first === undefined || !/^\d{1,15}$/.test(first) || lengths.some((l) => l !== first)) {
        return Effect.fail(
          invalid(`content-length ${JSON.stringify(getValues(request.headers, "content-length").map(toLatin1))}`)
        )
      }
      framing = { _tag: "Length", length: parseInt(first, 10) }
    } else if (request.bodyOpen === true && lineVersion === "HTTP/1.1" && !isUpgradeRequest(request.headers)) {
      // the body is still arriving: send the head now rather than wait for its first frame
      framing = { _tag: "Chunked" }
      extraHeaders.push(["transfer-encoding", "chunked"])
    } else {
      framing = { _tag: "Unknown" }
    }
    const requestKeepAlive = !hasToken(request.headers, "connection", "close") &&
      (lineVersion === "HTTP/1.1" || hasToken(request.headers, "connection", "keep-alive"))
    return Effect.succeed({
      method: request.method,
      requestLine: `${request.method} ${target.path} ${lineVersion}\r\n`,
      headers: request.headers,
      framing,
      extraHeaders,
      lineVersion,
      expectsUpgrade: isUpgradeRequest(request.headers),
      requestKeepAlive
    })
  })

/**
 * For a body that declares no framing, looks ahead: no data → no body; data on HTTP/1.1 →
 * `transfer-encoding: chunked` is added; data on HTTP/1.0 → the body is buffered and a
 * `content-length` is added.
 *
 * @internal
 */
export const resolveFraming = <E>(prepared: PreparedH1, body: BodyReader<E>): Effect.Effect<PreparedH1, E> =>
  Effect.gen(function*() {
    if (prepared.framing._tag !== "Unknown") return prepared
    const seen: Array<BodyFrame> = []
    let hasData = false
    for (;;) {
      const next = yield* body.next
      if (Option.isNone(next)) break
      seen.push(next.value)
      if (next.value._tag === "Data" && next.value.value.length > 0) {
        hasData = true
        break
      }
    }
    if (!hasData) {
      body.unshift(seen)
      return { ...prepared, framing: { _tag: "None" } } satisfies PreparedH1
    }
    if (prepared.lineVersion === "HTTP/1.1") {
      body.unshift(seen)
      return {
        ...prepared,
        framing: { _tag: "Chunked" },
        extraHeaders: [...prepared.extraHeaders, ["transfer-encoding", "chunked"]]
      } satisfies PreparedH1
    }
    for (;;) {
      const next = yield* body.next
      if (Option.isNone(next)) break
      seen.push(next.value)
    }
    const length = seen.reduce((n, f) => (f._tag === "Data" ? n + f.value.length : n), 0)
    body.unshift(seen)
    return {
      ...prepared,
      framing: { _tag: "Length", length },
      extraHeaders: [...prepared.extraHeaders, ["content-length", String(length)]]
    } satisfies PreparedH1
  })

const CRLF = Buffer.from("\r\n", "latin1")

const serializeHead = (prepared: PreparedH1): Buffer =>
  Buffer.concat([
    Buffer.from(prepared.requestLine, "latin1"),
    ...headerLines(prepared.headers, prepared.extraHeaders),
    CRLF
  ])

/** The bytes of a complete body in `framing` (a content-length mismatch is an error). */
const completeBodyParts = (
  framing: PreparedH1["framing"],
  frames: ReadonlyArray<BodyFrame>
): Array<Uint8Array> | LocalHttpError => {
  const parts: Array<Uint8Array> = []
  let written = 0
  let trailers: HeaderMap | undefined
  for (const frame of frames) {
    if (frame._tag === "Trailers") {
      trailers = frame.value
      continue
    }
    const data = frame.value
    if (data.length === 0) continue
    switch (framing._tag) {
      case "Length":
        written += data.length
        if (written > framing.length) {
          return new LocalHttpError({
            reason: "RequestBody",
            detail: `the request body is longer than its content-length (${framing.length})`
          })
        }
        parts.push(data)
        break
      case "Chunked":
        parts.push(Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF)
        break
      case "None":
      case "Unknown":
        return new LocalHttpError({ reason: "RequestBody", detail: "request body data without framing" })
    }
  }
  if (framing._tag === "Length" && written < framing.length) {
    return new LocalHttpError({
      reason: "RequestBody",
      detail: `the request body ended after ${written} of ${framing.length} bytes (content-length)`
    })
  }
  if (framing._tag === "Chunked") {
    const trailerError = trailers === undefined ? undefined : validateHeaders(trailers, "trailer")
    if (trailerError !== undefined) return invalid(trailerError)
    parts.push(Buffer.from("0\r\n", "latin1"), ...headerLines(trailers ?? []), CRLF)
  }
  return parts
}

const emptyBody: Inbound<BodyFrame> = (() => {
  const inbound = new Inbound<BodyFrame>({ pause: () => {}, resume: () => {} })
  inbound.end()
  return inbound
})()

type HeadResult = ResponseHead & { readonly rest: Uint8Array }

/**
 * Sends one request on `conn` (exclusively leased) and returns once the response head has
 * arrived. A body that is complete already is written with the head, at once; an open body
 * keeps streaming in a fiber of the surrounding scope.
 *
 * @internal
 */
export const send = <E>(
  conn: H1Connection,
  preparedIn: PreparedH1,
  body: BodyReader<E>,
  lease: Lease
): Effect.Effect<LocalResponse, LocalHttpError | E, Scope.Scope> =>
  Effect.gen(function*() {
    const prepared = yield* resolveFraming(preparedIn, body)
    const socket = conn.socket
    // The head, once known (a one-shot slot: cheaper than a Deferred per request).
    let head: Effect.Effect<HeadResult, LocalHttpError | E> | undefined
    let headWaiter: ((result: Effect.Effect<HeadResult, LocalHttpError | E>) => void) | undefined
    const settleHead = (result: Effect.Effect<HeadResult, LocalHttpError | E>): void => {
      if (head !== undefined) return
      head = result
      const waiter = headWaiter
      headWaiter = undefined
      waiter?.(result)
    }
    const awaitHead: Effect.Effect<HeadResult, LocalHttpError | E> = Effect.suspend(() =>
      head ?? Effect.async<HeadResult, LocalHttpError | E>((resume) => {
        headWaiter = resume
        return Effect.sync(() => {
          headWaiter = undefined
        })
      })
    )
    const inbound = new Inbound<BodyFrame>({ pause: () => socket.pause(), resume: () => socket.resume() })
    let headDelivered = false
    let requestComplete = false
    let responseComplete = false
    let failed = false
    let persistent = false
    let upgraded: ReturnType<typeof makeUpgraded> | undefined

    const failExchange = (error: LocalHttpError | E): void => {
      if (failed) return
      failed = true
      conn.markBroken()
      if (!headDelivered) settleHead(Effect.fail(error))
      else if (!responseComplete) {
        inbound.fail(
          isLocalHttpError(error)
            ? error
            : new LocalHttpError({ reason: "RequestBody", detail: "the request body stream failed", cause: error })
        )
      }
      if (!responseComplete) socket.destroy()
    }

    const parser = new ResponseParser(prepared.method, {
      onHead: (h, rest) => {
        if (h.status === 101) {
          if (!prepared.expectsUpgrade) {
            failExchange(new LocalHttpError({ reason: "Protocol", detail: "101 Switching Protocols to a request that did not ask to upgrade" }))
            return
          }
          upgraded = makeUpgraded(socket, rest)
          conn.setHandlers(upgraded.handlers)
          conn.markBroken() // never back to the pool
        } else {
          persistent = h.framing !== "close" && prepared.requestKeepAlive &&
            (h.version === "HTTP/1.1"
              ? !hasToken(h.headers, "connection", "close")
              : hasToken(h.headers, "connection", "keep-alive"))
        }
        headDelivered = true
        settleHead(Effect.succeed({ ...h, rest }))
      },
      onData: (chunk) => inbound.push({ _tag: "Data", value: chunk }, chunk.length),
      onTrailers: (trailers) => inbound.push({ _tag: "Trailers", value: trailers }, 0),
      onComplete: (leftover) => {
        responseComplete = true
        if (leftover.length > 0) conn.markBroken()
        inbound.end()
        conn.setHandlers({
          onData: () => conn.markBroken(),
          onEnd: () => {},
          onClose: () => {}
        })
      },
      onError: (detail) =>
        failExchange(new LocalHttpError({ reason: "Protocol", detail: `malformed response from the local app: ${detail}` }))
    })

    const resetError = (cause: unknown) =>
      new LocalHttpError({
        reason: "ResetAfterWrite",
        detail: headDelivered
          ? "the local app closed the connection in the middle of the response body"
          : "the local app closed the connection before sending a response",
        cause
      })

    // A complete body is serialized (and checked) before the connection is touched.
    const complete = body.completeUnread
    const completeParts = complete === undefined ? undefined : completeBodyParts(prepared.framing, complete)
    if (completeParts !== undefined && !Array.isArray(completeParts)) return yield* completeParts

    if (!conn.usable) {
      return yield* new LocalHttpError({
        reason: "ClosedBeforeWrite",
        detail: "the pooled connection was closed before the request was written"
      })
    }
    conn.setHandlers({
      onData: (chunk) => parser.push(chunk),
      onEnd: () => {
        if (!parser.eof()) failExchange(resetError(undefined))
      },
      onClose: (error) => {
        if (!responseComplete) failExchange(resetError(error))
      }
    })
    socket.resume()
    lease.isClean = () =>
      requestComplete && responseComplete && !failed && persistent && upgraded === undefined && conn.usable

    if (completeParts !== undefined) {
      // Head and body in one writev, synchronously, right after the usability check.
      socket.cork()
      socket.write(serializeHead(prepared))
      for (const part of completeParts) socket.write(part)
      socket.uncork()
      requestComplete = true
    } else {
      // The head is written synchronously, right after the usability check.
      socket.write(serializeHead(prepared))
      const writeBody = Effect.gen(function*() {
        yield* drained(socket)
        const framing = prepared.framing
        let written = 0
        let trailers: HeaderMap | undefined
        for (;;) {
          const next = yield* body.next
          if (Option.isNone(next)) break
          const frame = next.value
          if (frame._tag === "Trailers") {
            trailers = frame.value
            continue
          }
          const data = frame.value
          if (data.length === 0) continue
          switch (framing._tag) {
            case "Length": {
              if (written + data.length > framing.length) {
                return yield* new LocalHttpError({
                  reason: "RequestBody",
                  detail: `the request body is longer than its content-length (${framing.length})`
                })
              }
              written += data.length
              yield* write(socket, data)
              break
            }
            case "Chunked": {
              yield* write(socket, Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF]))
              break
            }
            case "None":
            case "Unknown": {
              return yield* new LocalHttpError({ reason: "RequestBody", detail: "request body data without framing" })
            }
          }
        }
        if (framing._tag === "Length" && written < framing.length) {
          return yield* new LocalHttpError({
            reason: "RequestBody",
            detail: `the request body ended after ${written} of ${framing.length} bytes (content-length)`
          })
        }
        if (framing._tag === "Chunked") {
          const trailerError = trailers === undefined ? undefined : validateHeaders(trailers, "trailer")
          if (trailerError !== undefined) return yield* invalid(trailerError)
          yield* write(
            socket,
            Buffer.concat([Buffer.from("0\r\n", "latin1"), ...headerLines(trailers ?? []), CRLF])
          )
        }
        requestComplete = true
      }).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => {
            // A closed socket is reported by the reading side (ResetAfterWrite), or not at all when
            // the response is already complete.
            if (error instanceof WriteClosed) {
              conn.markBroken()
              return
            }
            failExchange(error)
          })
        )
      )
      const writer = yield* Effect.forkScoped(writeBody)
      if (prepared.expectsUpgrade) {
        const h = yield* awaitHead
        if (upgraded !== undefined) {
          // The request body (normally empty) must be complete before the raw stream is handed out.
          yield* writer.await
          if (!requestComplete) {
            return yield* new LocalHttpError({ reason: "RequestBody", detail: "the upgrade request body was not fully sent" })
          }
        }
        return response(h)
      }
    }

    return response(yield* awaitHead)

    function response(h: HeadResult): LocalResponse {
      if (upgraded !== undefined) {
        return {
          status: h.status,
          version: h.version,
          headers: h.headers,
          body: Stream.empty,
          bodySource: emptyBody,
          upgraded: Option.some(upgraded.connection)
        }
      }
      return {
        status: h.status,
        version: h.version,
        headers: h.headers,
        body: inbound.stream,
        bodySource: inbound,
        upgraded: Option.none()
      }
    }
  })
