/**
 * HTTP/2 with prior knowledge (h2c) towards the local app, on node:http2. One stream at a
 * time per session (a session is leased exclusively, like an HTTP/1 connection).
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as http2 from "node:http2"
import type * as net from "node:net"
import type { BodyFrame, HeaderMap, LocalRequest, LocalResponse, LocalTarget } from "../LocalHttp.js"
import type { BodyReader } from "./localHttpBody.js"
import { isLocalHttpError, LocalHttpError } from "./localHttpError.js"
import {
  fromHeaderObject,
  fromRawPairs,
  getValues,
  isToken,
  parseRequestTarget,
  toH2Object,
  toLatin1,
  validateHeaders
} from "./localHttpHeaders.js"
import { Inbound } from "./localHttpInbound.js"
import { describeTarget, type Lease, write, WriteClosed } from "./localHttpSocket.js"

/** @internal */
export class H2Connection {
  readonly kind = "h2" as const
  closed = false
  private goaway = false
  private broken = false
  private readonly closeListeners: Array<() => void> = []

  constructor(
    readonly id: number,
    readonly key: string,
    readonly session: http2.ClientHttp2Session
  ) {
    session.on("error", () => {
      this.broken = true
    })
    session.on("goaway", () => {
      this.goaway = true
    })
    session.on("close", () => {
      this.closed = true
      for (const listener of this.closeListeners) listener()
    })
  }

  /** Opens an h2c session (prior knowledge) over an already connected socket. */
  static open(id: number, key: string, target: LocalTarget, socket: net.Socket): H2Connection {
    const session = http2.connect(`http://${describeTarget(target)}`, { createConnection: () => socket })
    return new H2Connection(id, key, session)
  }

  get usable(): boolean {
    return !this.closed && !this.goaway && !this.broken && !this.session.closed && !this.session.destroyed
  }

  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  destroy(): void {
    this.session.destroy()
  }

  markBroken(): void {
    this.broken = true
  }
}

const invalid = (detail: string) => new LocalHttpError({ reason: "Protocol", detail: `invalid request: ${detail}` })

/**
 * Validates a request and computes its HTTP/2 header block: `:authority` comes from an
 * absolute-form URI, else the Host header, else the target; connection-specific headers are
 * dropped (they are not allowed in HTTP/2).
 *
 * @internal
 */
export const prepare = <E>(
  request: LocalRequest<E>,
  target: LocalTarget
): Effect.Effect<http2.OutgoingHttpHeaders, LocalHttpError> =>
  Effect.suspend(() => {
    if (!isToken(request.method)) return Effect.fail(invalid(`method ${JSON.stringify(request.method)}`))
    const t = parseRequestTarget(request.uri, request.method)
    if (typeof t === "string") return Effect.fail(invalid(t))
    const headerError = validateHeaders(request.headers, "header")
    if (headerError !== undefined) return Effect.fail(invalid(headerError))
    const host = getValues(request.headers, "host")[0]
    const authority = t.authority ?? (host !== undefined ? toLatin1(host) : describeTarget(target))
    const pseudo: http2.OutgoingHttpHeaders = request.method === "CONNECT"
      ? { ":method": request.method, ":authority": authority }
      : { ":method": request.method, ":scheme": t.scheme ?? "http", ":authority": authority, ":path": t.path }
    return Effect.succeed({ ...pseudo, ...toH2Object(request.headers) })
  })

const errorFor = (cause: unknown, rstCode: number | undefined, headDelivered: boolean): LocalHttpError => {
  if (rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && !headDelivered) {
    return new LocalHttpError({
      reason: "ClosedBeforeWrite",
      detail: "the local app refused the HTTP/2 stream (it was not processed)",
      cause
    })
  }
  const code = (cause as { code?: unknown } | undefined)?.code
  if (code === "ERR_HTTP2_SESSION_ERROR" || code === "ERR_HTTP2_ERROR" || code === "ERR_HTTP2_INVALID_HEADER_VALUE") {
    return new LocalHttpError({ reason: "Protocol", detail: "HTTP/2 protocol error with the local app", cause })
  }
  return new LocalHttpError({
    reason: "ResetAfterWrite",
    detail: headDelivered
      ? `the local app reset the HTTP/2 stream in the middle of the response body${rstCode ? ` (code ${rstCode})` : ""}`
      : `the local app reset the HTTP/2 stream before responding${rstCode ? ` (code ${rstCode})` : ""}`,
    cause
  })
}

/**
 * Sends one request as a new stream on `conn` and returns once the response head has arrived.
 *
 * @internal
 */
export const send = <E>(
  conn: H2Connection,
  headers: http2.OutgoingHttpHeaders,
  body: BodyReader<E>,
  lease: Lease
): Effect.Effect<LocalResponse, LocalHttpError | E, Scope.Scope> =>
  Effect.gen(function*() {
    const head = yield* Deferred.make<{ readonly status: number; readonly headers: HeaderMap }, LocalHttpError | E>()
    if (!conn.usable) {
      return yield* new LocalHttpError({
        reason: "ClosedBeforeWrite",
        detail: "the pooled HTTP/2 session was closed before the request was written"
      })
    }
    let stream: http2.ClientHttp2Stream
    try {
      stream = conn.session.request(headers, { endStream: false, waitForTrailers: true })
    } catch (cause) {
      const code = (cause as { code?: unknown }).code
      conn.markBroken()
      return yield* (code === "ERR_HTTP2_GOAWAY_SESSION" || code === "ERR_HTTP2_INVALID_SESSION"
        ? new LocalHttpError({ reason: "ClosedBeforeWrite", detail: "the HTTP/2 session is closing", cause })
        : new LocalHttpError({ reason: "Protocol", detail: "the request cannot be sent over HTTP/2", cause }))
    }
    const s = stream
    const inbound = new Inbound<BodyFrame>({ pause: () => s.pause(), resume: () => s.resume() })
    let headDelivered = false
    let requestComplete = false
    let responseComplete = false
    let failed = false
    let trailersToSend: HeaderMap | undefined

    const failExchange = (error: LocalHttpError | E): void => {
      if (failed) return
      failed = true
      if (!headDelivered) Deferred.unsafeDone(head, Effect.fail(error))
      else if (!responseComplete) {
        inbound.fail(
          isLocalHttpError(error)
            ? error
            : new LocalHttpError({ reason: "RequestBody", detail: "the request body stream failed", cause: error })
        )
      }
      if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL)
    }

    s.on("wantTrailers", () => {
      try {
        s.sendTrailers(trailersToSend === undefined ? {} : toH2Object(trailersToSend))
      } catch (cause) {
        failExchange(invalid(`trailers: ${String(cause)}`))
      }
    })
    s.on("response", (h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, _flags: number, raw?: Array<string>) => {
      headDelivered = true
      Deferred.unsafeDone(
        head,
        Effect.succeed({
          status: Number(h[":status"]),
          headers: Array.isArray(raw) ? fromRawPairs(raw) : fromHeaderObject(h)
        })
      )
    })
    s.on("data", (chunk: Buffer) => inbound.push({ _tag: "Data", value: chunk }, chunk.length))
    s.on("trailers", (t: http2.IncomingHttpHeaders) => {
      const trailers = fromHeaderObject(t)
      if (trailers.length > 0) inbound.push({ _tag: "Trailers", value: trailers }, 0)
    })
    s.on("end", () => {
      if (!headDelivered) return
      responseComplete = true
      inbound.end()
    })
    s.on("error", (cause) => failExchange(errorFor(cause, s.rstCode, headDelivered)))
    s.on("close", () => {
      if (!responseComplete) failExchange(errorFor(undefined, s.rstCode, headDelivered))
    })

    lease.isClean = () => requestComplete && responseComplete && !failed && conn.usable

    const writeBody = Effect.gen(function*() {
      for (;;) {
        const next = yield* body.next
        if (Option.isNone(next)) break
        const frame = next.value
        if (frame._tag === "Trailers") {
          const trailerError = validateHeaders(frame.value, "trailer")
          if (trailerError !== undefined) return yield* invalid(trailerError)
          trailersToSend = frame.value
        } else {
          yield* write(s, frame.value)
        }
      }
      if (!s.destroyed && !s.writableEnded) s.end()
      requestComplete = true
    }).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          if (error instanceof WriteClosed) return
          failExchange(error)
        })
      )
    )
    yield* Effect.forkScoped(writeBody)

    const h = yield* Deferred.await(head)
    return {
      status: h.status,
      version: "HTTP/2.0",
      headers: h.headers,
      body: inbound.stream,
      bodySource: inbound,
      upgraded: Option.none()
    } satisfies LocalResponse
  })
