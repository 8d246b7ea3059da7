/**
 * The demo's local application: a node:http server on 127.0.0.1 with one endpoint per kind of
 * traffic the incoming proxy must carry (small JSON, a large streamed download, timed SSE
 * events, a chunked upload echoed back, trailers, a body that dies midway, an upgrade to an
 * echo protocol). Every served body is deterministic, so a driver can check what it got
 * byte for byte.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type * as net from "node:net"
import { DemoError } from "./DemoError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SampleAppOptions {
  /** Size of `/download` (default 8 MiB). */
  readonly downloadBytes?: number
  /** Chunk size `/download` is written in (default 64 KiB). */
  readonly downloadChunkBytes?: number
  /** Events of `/events` (default 5). */
  readonly sseEvents?: number
  /** Delay between two events (default 50 ms). */
  readonly sseIntervalMs?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SampleApp {
  readonly host: string
  readonly port: number
  /** Exactly what `/json` serves. */
  readonly json: Uint8Array
  /** Exactly what `/download` serves. */
  readonly download: Uint8Array
  /** Exactly what `/events` serves (all events concatenated). */
  readonly events: Uint8Array
  /** Exactly what `/trailers` serves as body, and its `x-body-sha256` trailer. */
  readonly trailered: { readonly body: Uint8Array; readonly sha256: string }
  /** How many bytes `/dies` writes before destroying the connection, of the announced length. */
  readonly dies: { readonly written: number; readonly announced: number }
  /** Requests the app has received, by path. */
  readonly hits: () => Readonly<Record<string, number>>
}

/**
 * The paths the sample app serves.
 *
 * @since 0.1.0
 * @category constants
 */
export const paths = {
  json: "/json",
  download: "/download",
  events: "/events",
  upload: "/upload",
  trailers: "/trailers",
  dies: "/dies",
  upgrade: "/upgrade"
} as const

/**
 * The protocol name `/upgrade` switches to: every byte is echoed back until EOF.
 *
 * @since 0.1.0
 * @category constants
 */
export const ECHO_PROTOCOL = "echo"

const utf8 = new TextEncoder()

/**
 * SHA-256 of some bytes, as lowercase hex.
 *
 * @since 0.1.0
 * @category utils
 */
export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Deterministic, incompressible-looking bytes: a cheap xorshift stream. */
const patternBytes = (length: number): Uint8Array => {
  const out = new Uint8Array(length)
  let state = 0x9e3779b9
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out[i] = state & 0xff
  }
  return out
}

const eventText = (i: number) => `id: ${i}\nevent: tick\ndata: {"tick":${i}}\n\n`

/** Writes `bytes` in chunks, waiting for `drain` when node's buffer is full. */
const streamOut = (res: http.ServerResponse, bytes: Uint8Array, chunk: number, done: () => void) => {
  let offset = 0
  const pump = () => {
    while (offset < bytes.length) {
      const part = bytes.subarray(offset, Math.min(offset + chunk, bytes.length))
      offset += part.length
      if (!res.write(part)) {
        res.once("drain", pump)
        return
      }
    }
    done()
  }
  pump()
}

/**
 * Starts the sample app on 127.0.0.1 (any free port); closing the scope stops it and its
 * connections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: SampleAppOptions = {}): Effect.Effect<SampleApp, DemoError, Scope.Scope> =>
  Effect.gen(function*() {
    const json = utf8.encode(JSON.stringify({ service: "sample-app", ok: true, items: [1, 2, 3] }))
    const download = patternBytes(options.downloadBytes ?? 8 * 1024 * 1024)
    const chunkBytes = options.downloadChunkBytes ?? 64 * 1024
    const sseCount = options.sseEvents ?? 5
    const sseInterval = options.sseIntervalMs ?? 50
    const events = utf8.encode(Array.from({ length: sseCount }, (_, i) => eventText(i + 1)).join(""))
    const traileredBody = patternBytes(48 * 1024)
    const trailered = { body: traileredBody, sha256: sha256(traileredBody) }
    const dies = { written: 32 * 1024, announced: 256 * 1024 }
    const hits: Record<string, number> = {}

    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const path = (req.url ?? "/").split("?")[0]!
      hits[path] = (hits[path] ?? 0) + 1
      switch (path) {
        case paths.json:
          res.writeHead(200, { "content-type": "application/json", "content-length": String(json.length) })
          res.end(json)
          return
        case paths.download:
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(download.length) })
          streamOut(res, download, chunkBytes, () => res.end())
          return
        case paths.events: {
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
          res.flushHeaders()
          let sent = 0
          const tick = () => {
            sent++
            res.write(eventText(sent))
            if (sent >= sseCount) res.end()
            else timer = setTimeout(tick, sseInterval)
          }
          let timer = setTimeout(tick, sseInterval)
          res.once("close", () => clearTimeout(timer))
          return
        }
        case paths.upload:
          // echo the request body as it streams in
          res.writeHead(200, { "content-type": "application/octet-stream" })
          req.pipe(res)
          return
        case paths.trailers:
          res.writeHead(200, { "content-type": "application/octet-stream", trailer: "x-body-sha256" })
          streamOut(res, trailered.body, 16 * 1024, () => {
            res.addTrailers({ "x-body-sha256": trailered.sha256 })
            res.end()
          })
          return
        case paths.dies:
          // announce more than is ever written, then cut the connection
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(dies.announced) })
          res.write(patternBytes(dies.written), () => setTimeout(() => res.socket?.destroy(), 20))
          return
        default:
          res.writeHead(404, { "content-type": "text/plain" })
          res.end("not found\n")
      }
    }

    const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const path = (req.url ?? "/").split("?")[0]!
      hits[path] = (hits[path] ?? 0) + 1
      if (path !== paths.upgrade || req.headers.upgrade?.toLowerCase() !== ECHO_PROTOCOL) {
        socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        return
      }
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${ECHO_PROTOCOL}\r\n\r\n`)
      if (head.length > 0) socket.write(head)
      upgraded.add(socket)
      socket.once("close", () => upgraded.delete(socket))
      socket.on("error", () => socket.destroy())
      socket.pipe(socket)
    }
    // upgraded sockets leave the server's books: close them ourselves
    const upgraded = new Set<net.Socket>()

    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server, DemoError>((resume) => {
        const s = http.createServer(handle)
        s.on("upgrade", onUpgrade)
        s.on("clientError", (_e, socket) => socket.destroy())
        s.once("error", (cause) =>
          resume(Effect.fail(new DemoError({ reason: "Setup", detail: `the sample app cannot listen: ${cause.message}` }))))
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          s.close(() => resume(Effect.void))
          s.closeAllConnections()
          for (const socket of upgraded) socket.destroy()
        })
    )
    const address = server.address() as net.AddressInfo
    return {
      host: address.address,
      port: address.port,
      json,
      download,
      events,
      trailered,
      dies,
      hits: () => ({ ...hits })
    }
  })
