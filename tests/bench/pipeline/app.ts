/**
 * The local application of the pipeline benchmarks: a plain node:http server on 127.0.0.1.
 *
 * - `GET /bytes?size=N`: N bytes of a fixed pattern (`patternByte`), content-length, written in
 *   64 KiB chunks with backpressure.
 * - `GET /sse?events=N&size=S&interval=MS`: an event stream of S bytes in total. N timed events,
 *   one every MS, each `data: {"seq":i,"t":<performance.timeOrigin + performance.now()>}` padded
 *   with a comment line to S/N bytes; the timestamp is taken right before the write.
 * - `GET /item/<id>?size=N`: N bytes derived from `<id>` (`itemBody`), content-length.
 * - `POST /echo`: the request body back, streamed.
 * - `GET /json?id=X`: `jsonBody(X)`.
 * - `GET /trailers?size=N`: N (≤ 64 KiB) pattern bytes, chunked, then the trailer `x-body-length: N`.
 * - `GET /die?size=N`: promises N bytes, sends half, then resets the connection (a crash mid-body).
 * - `Upgrade: echo`: 101, then an echo of the upgraded connection.
 * Plus a raw TCP echo server (`tcpPort`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import * as net from "node:net"
import { spawnChild } from "./childProcess.js"

export const CHUNK = 64 * 1024

/** The byte at offset `i` of every `/bytes` body. */
export const patternByte = (i: number): number => (i * 31 + 7) & 0xff

const patternChunk = (() => {
  const b = Buffer.alloc(CHUNK)
  for (let i = 0; i < CHUNK; i++) b[i] = patternByte(i)
  return b
})()

/** The body of `/item/<id>?size=N`: the id line, then filler depending on the id. */
export const itemBody = (id: string, size: number): Buffer => {
  const head = Buffer.from(`item ${id}\n`, "latin1")
  const out = Buffer.alloc(Math.max(size, head.length))
  head.copy(out)
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 33 + id.charCodeAt(i)) >>> 0
  for (let i = head.length; i < out.length; i++) out[i] = 0x61 + ((h + i) % 26)
  return out
}

/** Writes with backpressure; resolves false when the response closed first. */
const writeAll = (res: http.ServerResponse, chunk: Buffer): Promise<boolean> =>
  new Promise((resolve) => {
    if (res.destroyed) return resolve(false)
    if (res.write(chunk)) return resolve(true)
    const done = (ok: boolean) => () => {
      res.off("drain", onDrain)
      res.off("close", onClose)
      resolve(ok)
    }
    const onDrain = done(true)
    const onClose = done(false)
    res.on("drain", onDrain)
    res.on("close", onClose)
  })

const streamBytes = async (res: http.ServerResponse, size: number) => {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) })
  let left = size
  while (left > 0) {
    const n = Math.min(left, CHUNK)
    if (!(await writeAll(res, n === CHUNK ? patternChunk : patternChunk.subarray(0, n)))) return
    left -= n
  }
  res.end()
}

export const wallClock = (): number => performance.timeOrigin + performance.now()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const eventLine = (seq: number): Buffer =>
  Buffer.from(`data: {"seq":${seq},"t":${wallClock().toFixed(3)}}\n`, "latin1")

const streamEvents = async (res: http.ServerResponse, events: number, size: number, interval: number) => {
  // each event is its data line, then a comment line padding it to its share of `size`
  // (": xxx…\n\n" also closes the event); the paddings are built before the first event
  const perEvent = Math.floor(size / events)
  const paddings: Array<Buffer> = []
  let planned = 0
  for (let seq = 0; seq < events; seq++) {
    const target = seq === events - 1 ? size - planned : perEvent
    const pad = target - eventLine(seq).length - 4
    const padding = pad >= 0 ? Buffer.from(`: ${"x".repeat(pad)}\n\n`, "latin1") : Buffer.from("\n")
    paddings.push(padding)
    planned += eventLine(seq).length + padding.length
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" })
  res.flushHeaders()
  for (let seq = 0; seq < events; seq++) {
    if (seq > 0) await sleep(interval)
    // the timestamp is taken right before its line is written
    if (!(await writeAll(res, eventLine(seq)))) return
    if (!(await writeAll(res, paddings[seq]!))) return
  }
  res.end()
}

/** The body of `/json?id=X`. */
export const jsonBody = (id: string): string => JSON.stringify({ id, ok: true, items: [1, 2, 3, 4, 5] })

/** The trailer `/trailers?size=N` ends with. */
export const TRAILER_NAME = "x-body-length"

const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://app")
  const num = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback)
  if (url.pathname === "/bytes") return void streamBytes(res, num("size", CHUNK))
  if (url.pathname === "/sse") return void streamEvents(res, num("events", 20), num("size", 1024), num("interval", 50))
  if (url.pathname.startsWith("/item/")) {
    const body = itemBody(url.pathname.slice("/item/".length), num("size", 256))
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(body.length) })
    return void res.end(body)
  }
  if (url.pathname === "/echo") {
    res.writeHead(200, { "content-type": "application/octet-stream" })
    return void req.pipe(res)
  }
  if (url.pathname === "/json") {
    const body = Buffer.from(jsonBody(url.searchParams.get("id") ?? ""))
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) })
    return void res.end(body)
  }
  if (url.pathname === "/trailers") {
    const size = num("size", 1024)
    res.writeHead(200, { "content-type": "application/octet-stream", trailer: TRAILER_NAME })
    res.write(patternChunk.subarray(0, Math.min(size, CHUNK)))
    res.addTrailers({ [TRAILER_NAME]: String(Math.min(size, CHUNK)) })
    return void res.end()
  }
  if (url.pathname === "/die") {
    // the app dies in the middle of the body: half of what content-length promises, then a reset
    const size = num("size", CHUNK)
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) })
    res.write(patternChunk.subarray(0, Math.min(size >> 1, CHUNK)))
    return void setTimeout(() => res.socket?.destroy(), 5)
  }
  res.writeHead(404, { "content-length": "0" })
  res.end()
}

/** `Upgrade: echo`: 101, then every byte back; the end of the input ends the output. */
const handleUpgrade = (req: http.IncomingMessage, socket: import("node:stream").Duplex, head: Buffer) => {
  if ((req.headers["upgrade"] ?? "").toLowerCase() !== "echo") return void socket.destroy()
  socket.write("HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n")
  if (head.length > 0) socket.write(head)
  socket.on("error", () => {})
  socket.pipe(socket)
}

export interface App {
  readonly host: string
  readonly port: number
  /** The raw TCP echo server of the same app. */
  readonly tcpPort: number
  /** The process serving it, when it is a child process. */
  readonly pid?: number
}

const listen = (server: net.Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port))
  })

/**
 * Starts the app in this process (HTTP, and a raw TCP echo server); closing the scope closes
 * both and every connection. Ports 0 = any.
 */
export const serveAppOn = (ports: { readonly http: number; readonly tcp: number }): Effect.Effect<App, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const server = http.createServer({ keepAliveTimeout: 10_000 }, handle)
      server.on("upgrade", handleUpgrade)
      const sockets = new Set<net.Socket>()
      const echo = net.createServer({ allowHalfOpen: true }, (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        socket.pipe(socket)
      })
      const port = await listen(server, ports.http)
      const tcpPort = await listen(echo, ports.tcp)
      return { server, echo, sockets, app: { host: "127.0.0.1", port, tcpPort } }
    }),
    ({ echo, server, sockets }) =>
      Effect.promise(() => {
        server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
        return Promise.all([
          new Promise<void>((resolve) => server.close(() => resolve())),
          new Promise<void>((resolve) => echo.close(() => resolve()))
        ])
      })
  ).pipe(Effect.map(({ app }) => app))

export const serveApp: Effect.Effect<App, never, Scope.Scope> = serveAppOn({ http: 0, tcp: 0 })

/** Starts the app in a child process (`appChild.ts`); closing the scope stops it. */
export const spawnAppOn = (ports: { readonly http: number; readonly tcp: number }): Effect.Effect<App, never, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* spawnChild("appChild.ts", [String(ports.http), String(ports.tcp)])
    const ready = yield* child.next("ready")
    return {
      host: String(ready["host"]),
      port: Number(ready["port"]),
      tcpPort: Number(ready["tcpPort"]),
      pid: child.pid
    }
  })

export const spawnApp: Effect.Effect<App, never, Scope.Scope> = spawnAppOn({ http: 0, tcp: 0 })

/** True when `bytes` are the `/bytes` body from stream offset `offset` on (memcmp, cheap). */
export const matchesPattern = (bytes: Uint8Array, offset: number): boolean => {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // the pattern repeats every 256 bytes, and CHUNK is a multiple of 256
  let done = 0
  while (done < view.length) {
    const phase = (offset + done) % 256
    const n = Math.min(view.length - done, CHUNK - phase)
    if (!view.subarray(done, done + n).equals(patternChunk.subarray(phase, phase + n))) return false
    done += n
  }
  return true
}
