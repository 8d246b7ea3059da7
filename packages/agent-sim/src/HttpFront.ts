/**
 * A real HTTP front for the simulator: a node:http server on a local port whose requests become
 * stolen traffic for one remote port (`AgentSim.request`), so `curl → simulator → protocol →
 * client → local app` runs end to end. Both bodies stream: request chunks are sent as they
 * arrive, response bytes are written as soon as their event arrives, response trailers become
 * HTTP trailers (when the response is chunked). A response that fails mid-body destroys the
 * socket. Upgrades (101) are not served through the front: use `AgentSim.request`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as http from "node:http"
import type * as net from "node:net"
import type { AgentSim, HttpRequestInput } from "./AgentSim.js"
import { AgentSimError } from "./AgentSimError.js"
import { waitDrain } from "./internal/drain.js"
import type { ResponseEvent } from "./ResponseEvent.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface HttpFrontOptions {
  /** default 127.0.0.1, port 0 */
  readonly listen?: { readonly host?: string; readonly port?: number }
  /**
   * What the HTTP client gets when the request fails before its response head: a 502 naming the
   * failure (default), or nothing — `"hang"` leaves the request open until the HTTP client gives
   * up, as a real agent does when its client connection is dropped (the demo's counterfactual).
   */
  readonly onFailure?: "badGateway" | "hang"
}

const latin1 = new TextDecoder("latin1")
const encoder = new TextEncoder()

// connection-level headers belong to each hop, not to the response being relayed
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection"])

/**
 * Node's raw header list (`[name, value, name, value…]`) as a protocol `HeaderMap`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const headerMapOf = (raw: ReadonlyArray<string>): Tcp.HeaderMap => {
  const map = new Map<string, Array<Uint8Array>>()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const values = map.get(name) ?? []
    values.push(Buffer.from(raw[i + 1]!, "latin1"))
    map.set(name, values)
  }
  return [...map.entries()]
}

const versionOf = (httpVersion: string): Tcp.HttpVersion => (httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1")

const hasBody = (req: http.IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}

/** The request a real HTTP client sent, with its body as a stream of the chunks node reads. */
const requestInputOf = (req: http.IncomingMessage): HttpRequestInput => ({
  method: req.method ?? "GET",
  uri: req.url ?? "/",
  headers: headerMapOf(req.rawHeaders),
  version: versionOf(req.httpVersion),
  body: hasBody(req)
    ? Stream.fromAsyncIterable(req as AsyncIterable<Buffer>, (cause) => cause).pipe(
      Stream.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    )
    : new Uint8Array(0),
  trailers: Effect.sync(() => (req.rawTrailers.length > 0 ? headerMapOf(req.rawTrailers) : undefined))
})

const writeEvent = (res: http.ServerResponse, event: ResponseEvent): Effect.Effect<void> =>
  Effect.suspend(() => {
    switch (event._tag) {
      case "Head": {
        if (event.status === 101) {
          res.destroy()
          return Effect.void
        }
        res.statusCode = event.status
        for (const [name, values] of event.headers) {
          if (HOP_BY_HOP.has(name)) continue
          res.setHeader(name, values.map((v) => latin1.decode(v)))
        }
        // the head reaches the client now, not with the first body bytes
        res.flushHeaders()
        return Effect.void
      }
      case "Data":
        return res.write(event.bytes) ? Effect.void : waitDrain(res)
      case "Trailers": {
        const trailers: Record<string, string> = {}
        for (const [name, values] of event.headers) trailers[name] = values.map((v) => latin1.decode(v)).join(", ")
        res.addTrailers(trailers)
        return Effect.void
      }
      case "End":
        res.end()
        return Effect.void
      case "Error":
        res.destroy()
        return Effect.void
    }
  })

const respondFailure = (res: http.ServerResponse, error: AgentSimError) =>
  Effect.sync(() => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const body = encoder.encode(`agent-sim: ${error.message}\n`)
    res.writeHead(502, { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length) })
    res.end(body)
  })

/** Completes when node is done with the response (sent, or the client went away). */
const responseClosed = (res: http.ServerResponse) =>
  Effect.async<void>((resume) => {
    if (res.closed) return resume(Effect.void)
    const done = () => resume(Effect.void)
    res.once("close", done)
    return Effect.sync(() => res.off("close", done))
  })

const handle = (
  sim: Pick<AgentSim, "request">,
  port: number,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  onFailure: "badGateway" | "hang"
) =>
  Stream.runForEach(sim.request(port, requestInputOf(req)), (event) => writeEvent(res, event)).pipe(
    Effect.catchAll((error) => (onFailure === "hang" && !res.headersSent ? Effect.never : respondFailure(res, error))),
    // the HTTP client went away: stop, which makes the simulator send Close to the client
    Effect.raceFirst(responseClosed(res)),
    Effect.ensuring(Effect.sync(() => {
      if (!res.writableEnded) res.destroy()
    }))
  )

/**
 * Serves `sim.request(port, …)` over real HTTP/1.1; returns the bound address. Closing the
 * scope closes the server and its connections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  sim: Pick<AgentSim, "request">,
  port: number,
  options?: HttpFrontOptions
): Effect.Effect<{ readonly host: string; readonly port: number }, AgentSimError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options?.listen?.host ?? "127.0.0.1"
    const listenPort = options?.listen?.port ?? 0
    const requests = yield* FiberSet.make<void, never>()
    const run = yield* FiberSet.runtime(requests)<never>()
    return yield* Effect.acquireRelease(
      Effect.async<{ server: http.Server; address: { host: string; port: number } }, AgentSimError>((resume) => {
        const server = http.createServer((req, res) => {
          run(handle(sim, port, req, res, options?.onFailure ?? "badGateway"))
        })
        const onError = (cause: Error) =>
          resume(Effect.fail(new AgentSimError({ reason: "Listen", detail: `cannot listen on ${host}:${listenPort}: ${cause.message}`, cause })))
        server.once("error", onError)
        server.listen(listenPort, host, () => {
          server.off("error", onError)
          server.on("error", () => {})
          const bound = server.address() as net.AddressInfo
          resume(Effect.succeed({ server, address: { host: bound.address, port: bound.port } }))
        })
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    ).pipe(Effect.map(({ address }) => address))
  })
