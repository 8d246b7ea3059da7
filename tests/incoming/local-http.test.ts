import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import {
  type BodyFrame,
  type HeaderMap,
  LocalHttp,
  LocalHttpError,
  type LocalHttpService,
  type LocalRequest,
  type LocalResponse,
  make,
  layer
} from "@mirrord-effect/incoming/LocalHttp"
import * as http2 from "node:http2"
import { freePort, localAppHttp, localAppHttp2, localAppRaw, readUntil } from "./support/localApp.js"

// ---------------------------------------------------------------------------------------------
// helpers

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"))
const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1")

/** Builds a header map from string pairs (repeated names merged, first-insertion order). */
const headers = (...pairs: ReadonlyArray<readonly [string, string | Uint8Array]>): HeaderMap => {
  const out: Array<readonly [string, Array<Uint8Array>]> = []
  for (const [name, value] of pairs) {
    const v = typeof value === "string" ? bytes(value) : value
    const existing = out.find(([n]) => n === name)
    if (existing) existing[1].push(v)
    else out.push([name, [v]])
  }
  return out
}

const headerText = (map: HeaderMap, name: string): Array<string> =>
  map.filter(([n]) => n === name).flatMap(([, values]) => values.map(text))

const request = <E = never>(overrides: Partial<LocalRequest<E>> = {}): LocalRequest<E> => ({
  method: "GET",
  uri: "/",
  version: "HTTP/1.1",
  headers: headers(["host", "local.test"]), // node:http answers 400 to an HTTP/1.1 request without Host
  body: Stream.empty,
  ...overrides
})

const data = (s: string): BodyFrame => ({ _tag: "Data", value: bytes(s) })
const trailers = (map: HeaderMap): BodyFrame => ({ _tag: "Trailers", value: map })

/** Reads a whole response body: the concatenated data and the trailers, if any. */
const readBody = (response: LocalResponse) =>
  Stream.runCollect(response.body).pipe(
    Effect.map((frames) => {
      let body = ""
      let trailers: HeaderMap | undefined
      for (const frame of frames) {
        if (frame._tag === "Data") body += text(frame.value)
        else trailers = frame.value
      }
      return { body, trailers }
    })
  )

/** One complete exchange in its own scope (the lease is released at the end). */
const exchange = <E>(service: LocalHttpService, target: { host: string; port: number }, req: LocalRequest<E>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const response = yield* service.send(target, req)
      const body = yield* readBody(response)
      return { response, ...body }
    })
  )

const expectError = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flip(effect).pipe(
    Effect.map((error) => {
      expect(error).toBeInstanceOf(LocalHttpError)
      return error as unknown as LocalHttpError
    })
  )

/** Polls `predicate` every 10 ms, for up to 45 s (a loaded machine must not fail the test). */
const eventually = (predicate: () => boolean) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (Date.now() - start < 45_000) {
      if (predicate()) return true
      yield* Effect.sleep("10 millis")
    }
    return predicate()
  })

const T = 60_000

// ---------------------------------------------------------------------------------------------

describe("LocalHttp", () => {
  describe("security: the connection always goes to the target", () => {
    it.scopedLive("absolute-form URI and Host naming another server (HTTP/1.1)", () =>
      Effect.gen(function*() {
        const evil = yield* localAppHttp((_, res) => res.end("evil"))
        const seen: Array<{ url: string; host: string | undefined }> = []
        const app = yield* localAppHttp((req, res) => {
          seen.push({ url: req.url!, host: req.headers.host })
          res.end("good")
        })
        const service = yield* make()
        const evilAuthority = `127.0.0.1:${evil.port}`
        const result = yield* exchange(
          service,
          app.target,
          request({ uri: `http://${evilAuthority}/x/y?q=1#frag`, headers: headers(["host", evilAuthority]) })
        )
        expect(result.body).toBe("good")
        expect(seen).toEqual([{ url: "/x/y?q=1", host: evilAuthority }])
        expect(evil.accepted()).toBe(0)
      }), T)

    it.scopedLive("absolute-form URI naming another server (HTTP/2)", () =>
      Effect.gen(function*() {
        const evil = yield* localAppHttp2((stream) => stream.respond({ ":status": 500 }, { endStream: true }))
        const seen: Array<http2.IncomingHttpHeaders> = []
        const app = yield* localAppHttp2((stream, h) => {
          seen.push(h)
          stream.respond({ ":status": 200 })
          stream.end("good")
        })
        const service = yield* make()
        const result = yield* exchange(
          service,
          app.target,
          request({ version: "HTTP/2.0", uri: `http://127.0.0.1:${evil.port}/x?q=1` })
        )
        expect(result.body).toBe("good")
        expect(seen[0]![":path"]).toBe("/x?q=1")
        expect(seen[0]![":authority"]).toBe(`127.0.0.1:${evil.port}`)
        expect(evil.accepted()).toBe(0)
      }), T)
  })

  describe("HTTP/1 keep-alive pool", () => {
    it.scopedLive("reuses one connection for sequential requests to the same target", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((req, res) => res.end(`hello ${req.url}`))
        const service = yield* make()
        const a = yield* exchange(service, app.target, request({ uri: "/a" }))
        const b = yield* exchange(service, app.target, request({ uri: "/b" }))
        expect([a.body, b.body]).toEqual(["hello /a", "hello /b"])
        expect(app.accepted()).toBe(1)
        expect(yield* service.stats).toEqual({ openConnections: 1, idleConnections: 1, connectionsOpened: 1 })
      }), T)

    it.scopedLive("does not reuse after Connection: close (request or response)", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((req, res) => {
          if (req.url === "/server-closes") res.setHeader("connection", "close")
          res.end("ok")
        })
        const service = yield* make()
        yield* exchange(service, app.target, request({ headers: headers(["host", "local.test"], ["connection", "close"]) }))
        yield* exchange(service, app.target, request({ uri: "/server-closes" }))
        yield* exchange(service, app.target, request())
        expect(app.accepted()).toBe(3)
        expect(yield* eventually(() => app.open() === 1)).toBe(true)
        expect((yield* service.stats).idleConnections).toBe(1)
      }), T)

    it.scopedLive("evicts idle connections after idleTimeout", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.end("ok"))
        // long enough that the connection is still pooled when the test looks right after the
        // exchange, even on a busy machine; the wait for the eviction has no shorter bound
        const service = yield* make({ idleTimeout: "2 seconds" })
        yield* exchange(service, app.target, request())
        expect((yield* service.stats).idleConnections).toBe(1)
        expect(yield* eventually(() => app.open() === 0)).toBe(true)
        expect(yield* service.stats).toEqual({ openConnections: 0, idleConnections: 0, connectionsOpened: 1 })
        yield* exchange(service, app.target, request())
        expect(app.accepted()).toBe(2)
      }), T)

    it.scopedLive("never reuses across targets", () =>
      Effect.gen(function*() {
        const a = yield* localAppHttp((_, res) => res.end("a"))
        const b = yield* localAppHttp((_, res) => res.end("b"))
        const service = yield* make()
        expect((yield* exchange(service, a.target, request())).body).toBe("a")
        expect((yield* exchange(service, b.target, request())).body).toBe("b")
        expect((yield* exchange(service, a.target, request())).body).toBe("a")
        expect((yield* exchange(service, b.target, request())).body).toBe("b")
        expect([a.accepted(), b.accepted()]).toEqual([1, 1])
      }), T)

    it.scopedLive("a connection the app closed while idle is transparently not used", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.end("ok"), (server) => {
          server.keepAliveTimeout = 50
        })
        const service = yield* make()
        yield* exchange(service, app.target, request())
        expect(yield* eventually(() => app.open() === 0)).toBe(true)
        // the pool has seen the close too (not a fixed sleep)
        expect(yield* eventually(() => Effect.runSync(service.stats).idleConnections === 0)).toBe(true)
        const second = yield* exchange(service, app.target, request())
        expect(second.body).toBe("ok")
        expect(app.accepted()).toBe(2)
      }), T)

    it.scopedLive("HTTP/1.0 goes out byte for byte as HTTP/1.0 and is not reused without keep-alive", () =>
      Effect.gen(function*() {
        const received: Array<string> = []
        const app = yield* localAppRaw((socket) => {
          readUntil(socket, (b) => b.toString("latin1").endsWith("hello")).then((b) => {
            received.push(b.toString("latin1"))
            socket.end("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")
          })
        })
        const service = yield* make()
        const result = yield* exchange(
          service,
          app.target,
          request({
            uri: "/test/",
            version: "HTTP/1.0",
            headers: headers(["content-length", "5"]),
            body: Stream.make(data("hello"))
          })
        )
        expect(received).toEqual(["GET /test/ HTTP/1.0\r\ncontent-length: 5\r\n\r\nhello"])
        expect(result.response.version).toBe("HTTP/1.0")
        expect(result.body).toBe("ok")
        expect((yield* service.stats).idleConnections).toBe(0)
      }), T)

    it.scopedLive("HTTP/1.0 with keep-alive is reused (node answers keep-alive)", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((req, res) => {
          res.setHeader("content-length", "3") // without a length node closes HTTP/1.0 connections
          res.end(req.httpVersion)
        })
        const service = yield* make()
        const req = request({ version: "HTTP/1.0", headers: headers(["connection", "keep-alive"]) })
        const a = yield* exchange(service, app.target, req)
        const b = yield* exchange(service, app.target, req)
        expect([a.body, b.body]).toEqual(["1.0", "1.0"])
        expect(app.accepted()).toBe(1)
      }), T)
  })

  describe("versions", () => {
    it.scopedLive("HTTP/2.0 uses h2c with prior knowledge, reuses the session, passes trailers both ways", () =>
      Effect.gen(function*() {
        const seen: Array<{ body: string; trailers: Record<string, unknown> | undefined; bin: string }> = []
        const app = yield* localAppHttp2((stream, h) => {
          const chunks: Array<Buffer> = []
          let trailers: Record<string, unknown> | undefined
          stream.on("data", (c: Buffer) => chunks.push(c))
          stream.on("trailers", (t) => (trailers = { ...t }))
          stream.on("end", () => {
            seen.push({ body: Buffer.concat(chunks).toString(), trailers, bin: Buffer.from(String(h["x-bin"]), "latin1").toString("hex") })
            stream.respond({ ":status": 201, "set-cookie": ["a=1", "b=2"], "x-v": "1" }, { waitForTrailers: true })
            stream.on("wantTrailers", () => stream.sendTrailers({ "x-checksum": "abc" }))
            stream.end("pong")
          })
        })
        const service = yield* make()
        const req = request({
          method: "POST",
          version: "HTTP/2.0",
          uri: "/h2",
          headers: headers(["x-bin", new Uint8Array([0x80, 0xff, 0x41])]),
          body: Stream.make(data("pi"), data("ng"), trailers(headers(["x-req-trailer", "yes"])))
        })
        const first = yield* exchange(service, app.target, req)
        expect(first.response.version).toBe("HTTP/2.0")
        expect(first.response.status).toBe(201)
        expect(headerText(first.response.headers, "set-cookie")).toEqual(["a=1", "b=2"])
        expect(first.body).toBe("pong")
        expect(first.trailers && headerText(first.trailers, "x-checksum")).toEqual(["abc"])
        expect(seen[0]).toMatchObject({ body: "ping", trailers: { "x-req-trailer": "yes" }, bin: "80ff41" })
        const second = yield* exchange(service, app.target, req)
        expect(second.body).toBe("pong")
        expect(app.accepted()).toBe(1)
      }), T)

    it.scopedLive("an HTTP/2.0 request may reuse an idle HTTP/1 connection (sent as HTTP/1.1, like the intproxy)", () =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const app = yield* localAppHttp((req, res) => {
          seen.push(`${req.httpVersion} ${req.url} ${req.headers.host}`)
          res.end("ok")
        })
        const service = yield* make()
        yield* exchange(service, app.target, request())
        yield* exchange(service, app.target, request({ version: "HTTP/2.0", uri: "http://example.test/h2", headers: [] }))
        expect(seen).toEqual(["1.1 / local.test", "1.1 /h2 example.test"])
        expect(app.accepted()).toBe(1)
      }), T)

    it.scopedLive("HTTP/3.0 fails with UnsupportedVersion without connecting", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.end())
        const service = yield* make()
        const error = yield* expectError(Effect.scoped(service.send(app.target, request({ version: "HTTP/3.0" }))))
        expect(error.reason).toBe("UnsupportedVersion")
        expect(error.retryable).toBe(false)
        expect(app.accepted()).toBe(0)
      }), T)
  })

  describe("streaming", () => {
    for (const version of ["HTTP/1.1", "HTTP/2.0"] as const) {
      it.scopedLive(`full duplex: the response arrives while the upload is still open (${version})`, () =>
        Effect.gen(function*() {
          const echo = (input: NodeJS.ReadableStream, output: NodeJS.WritableStream) => {
            input.on("data", (c: Buffer) => output.write(c))
            input.on("end", () => output.end())
          }
          const app = version === "HTTP/2.0"
            ? yield* localAppHttp2((stream) => {
              stream.respond({ ":status": 200 })
              echo(stream, stream)
            })
            : yield* localAppHttp((req, res) => {
              res.writeHead(200, { "content-type": "text/plain" })
              res.flushHeaders()
              echo(req, res)
            })
          const service = yield* make()
          const upload = yield* Queue.unbounded<BodyFrame>()
          const response = yield* service.send(
            app.target,
            request({
              method: "POST",
              version,
              headers: version === "HTTP/2.0" ? [] : headers(["host", "local.test"], ["transfer-encoding", "chunked"]),
              body: Stream.fromQueue(upload, { shutdown: false }).pipe(
                Stream.takeWhile((f) => !(f._tag === "Data" && text(f.value) === "<end>"))
              )
            })
          )
          // the head is here although the upload has not even started
          expect(response.status).toBe(200)
          const pull = yield* Stream.toPull(response.body)
          const next = pull.pipe(Effect.map((c) => Chunk.toArray(c).map((f) => (f._tag === "Data" ? text(f.value) : "")).join("")))
          yield* Queue.offer(upload, data("one"))
          expect(yield* next).toBe("one")
          yield* Queue.offer(upload, data("two"))
          expect(yield* next).toBe("two")
          yield* Queue.offer(upload, data("<end>"))
          const end = yield* Effect.flip(pull)
          expect(Option.isNone(end)).toBe(true) // the response ends once the upload has ended
        }), T)
    }

    it.scopedLive("request body frames are forwarded one by one while the body is open", () =>
      Effect.gen(function*() {
        const permits = yield* Queue.unbounded<void>()
        const app = yield* localAppHttp((req, res) => {
          let received = ""
          Effect.runFork(Queue.offer(permits, undefined))
          req.on("data", (c: Buffer) => {
            received += c.toString()
            Effect.runFork(Queue.offer(permits, undefined))
          })
          req.on("end", () => res.end(received))
        })
        const service = yield* make()
        // frame n is only produced after the app has received frame n-1
        const body = Stream.range(1, 2).pipe(
          Stream.mapEffect(() => Queue.take(permits).pipe(Effect.as(data("hello\n"))))
        )
        const result = yield* exchange(
          service,
          app.target,
          request({ method: "POST", headers: headers(["host", "local.test"], ["content-length", "12"]), body })
        )
        expect(result.body).toBe("hello\nhello\n")
      }), T)

    it.scopedLive("response body chunks are delivered as the app writes them", () =>
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        const app = yield* localAppHttp((_, res) => {
          res.writeHead(200, { "content-length": "12" })
          res.write("hello\n")
          Effect.runPromise(Deferred.await(release)).then(() => res.end("hello\n"))
        })
        const service = yield* make()
        const response = yield* service.send(app.target, request())
        const pull = yield* Stream.toPull(response.body)
        const first = yield* pull
        expect(Chunk.toArray(first).map((f) => (f._tag === "Data" ? text(f.value) : "")).join("")).toBe("hello\n")
        yield* Deferred.succeed(release, undefined)
        const second = yield* pull
        expect(Chunk.toArray(second).map((f) => (f._tag === "Data" ? text(f.value) : "")).join("")).toBe("hello\n")
      }), T)

    it.scopedLive("backpressure: the request body is pulled only as the socket drains", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((req) => req.pause()) // never reads, never answers
        const service = yield* make()
        const pulled = yield* Ref.make(0)
        const chunk = new Uint8Array(64 * 1024)
        const body = Stream.repeatEffect(
          Ref.update(pulled, (n) => n + chunk.length).pipe(Effect.as<BodyFrame>({ _tag: "Data", value: chunk }))
        )
        yield* Effect.fork(
          service.send(app.target, request({ method: "POST", headers: headers(["host", "local.test"], ["transfer-encoding", "chunked"]), body }))
        )
        // Wait for the writer to stall (the kernel buffers full): the count stops moving. No fixed
        // deadline: on a loaded machine it just takes longer to get there.
        let n = 0
        for (;;) {
          const before = yield* Ref.get(pulled)
          yield* Effect.sleep("100 millis")
          n = yield* Ref.get(pulled)
          if (n > 0 && n === before) break
        }
        // stalled with a bounded amount pulled, far below what an unbounded reader would take
        expect(n).toBeLessThan(32 * 1024 * 1024)
      }), T)
  })

  describe("trailers and header fidelity", () => {
    it.scopedLive("HTTP/1.1 chunked trailers both ways", () =>
      Effect.gen(function*() {
        const seen: Array<{ body: string; trailers: Record<string, string | undefined> }> = []
        const app = yield* localAppHttp((req, res) => {
          let body = ""
          req.on("data", (c: Buffer) => (body += c.toString()))
          req.on("end", () => {
            seen.push({ body, trailers: { ...req.trailers } })
            res.writeHead(200, { trailer: "x-checksum", "transfer-encoding": "chunked" })
            res.write("resp")
            res.addTrailers({ "x-checksum": "42" })
            res.end()
          })
        })
        const service = yield* make()
        const result = yield* exchange(
          service,
          app.target,
          request({
            method: "PUT",
            headers: headers(["host", "local.test"], ["transfer-encoding", "chunked"], ["trailer", "x-req"]),
            body: Stream.make(data("a"), data("b"), trailers(headers(["x-req", "done"])))
          })
        )
        expect(seen).toEqual([{ body: "ab", trailers: { "x-req": "done" } }])
        expect(result.body).toBe("resp")
        expect(result.trailers).toBeDefined()
        expect(headerText(result.trailers!, "x-checksum")).toEqual(["42"])
      }), T)

    it.scopedLive("method, URI, repeated and non-UTF-8 headers go out unchanged; response headers keep order", () =>
      Effect.gen(function*() {
        const received: Array<Buffer> = []
        const app = yield* localAppRaw((socket) => {
          readUntil(socket, (b) => b.includes("\r\n\r\n")).then((b) => {
            received.push(b)
            socket.end(Buffer.concat([
              Buffer.from("HTTP/1.0 299 Whatever\r\nSet-Cookie: a=1\r\nX-Bin: ", "latin1"),
              Buffer.from([0x80, 0xff]),
              Buffer.from("\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n", "latin1")
            ]))
          })
        })
        const service = yield* make()
        const result = yield* exchange(
          service,
          app.target,
          request({
            method: "PROPFIND",
            uri: "/a%20b/c?x=1&y=%ff",
            headers: headers(
              ["x-rep", "one"],
              ["x-bin", new Uint8Array([0x80, 0xfe, 0x41])],
              ["x-rep", "two"]
            )
          })
        )
        expect(received[0]!.toString("hex")).toBe(
          Buffer.concat([
            Buffer.from("PROPFIND /a%20b/c?x=1&y=%ff HTTP/1.1\r\nx-rep: one\r\nx-rep: two\r\nx-bin: ", "latin1"),
            Buffer.from([0x80, 0xfe, 0x41]),
            Buffer.from("\r\n\r\n", "latin1")
          ]).toString("hex")
        )
        expect(result.response.status).toBe(299)
        expect(result.response.version).toBe("HTTP/1.0")
        expect(result.response.headers.map(([n]) => n)).toEqual(["set-cookie", "x-bin", "content-length"])
        expect(headerText(result.response.headers, "set-cookie")).toEqual(["a=1", "b=2"])
        expect(Buffer.from(result.response.headers[1]![1][0]!).toString("hex")).toBe("80ff")
      }), T)

    it.scopedLive("header values with CR/LF are rejected before connecting", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.end())
        const service = yield* make()
        const error = yield* expectError(
          Effect.scoped(service.send(app.target, request({ headers: headers(["x", "a\r\nevil: 1"]) })))
        )
        expect(error.reason).toBe("Protocol")
        expect(error.retryable).toBe(false)
        expect(app.accepted()).toBe(0)
      }), T)
  })

  describe("upgrades", () => {
    it.scopedLive("101 hands out the raw connection, including bytes sent right after the head", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp(
          (_, res) => res.writeHead(400).end(),
          (server) =>
            server.on("upgrade", (req, socket) => {
              if (req.headers.upgrade !== "dummyecho") {
                socket.destroy()
                return
              }
              socket.write(Buffer.concat([
                Buffer.from("HTTP/1.1 101 Switching Protocols\r\nupgrade: dummyecho\r\nconnection: upgrade\r\n\r\n"),
                Buffer.from([0x4a, 0x50, 0x32, 0x47, 0x4d, 0x44])
              ]))
              socket.pipe(socket)
            })
        )
        const service = yield* make()
        const response = yield* service.send(
          app.target,
          request({
            uri: "dummyecho://metalbear.com/mirrord/",
            headers: headers(["host", "local.test"], ["connection", "upgrade"], ["upgrade", "dummyecho"])
          })
        )
        expect(response.status).toBe(101)
        expect(headerText(response.headers, "upgrade")).toEqual(["dummyecho"])
        expect(Option.isSome(response.upgraded)).toBe(true)
        const upgraded = Option.getOrThrow(response.upgraded)
        const reader = yield* Stream.toPull(upgraded.read)
        let got = ""
        while (got.length < 6) got += Chunk.toArray(yield* reader).map(text).join("")
        expect(got).toBe("JP2GMD")
        yield* upgraded.write(bytes("test test test"))
        got = ""
        while (got.length < 14) got += Chunk.toArray(yield* reader).map(text).join("")
        expect(got).toBe("test test test")
        yield* upgraded.endWrite
        const end = yield* Effect.exit(reader) // the echo server ends when we end
        expect(Exit.isFailure(end)).toBe(true)
        expect((yield* service.stats).idleConnections).toBe(0)
      }), T)

    it.scopedLive("a non-101 answer to an upgrade request is a normal response", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.writeHead(400).end("no upgrade here"))
        const service = yield* make()
        const result = yield* exchange(
          service,
          app.target,
          request({ headers: headers(["host", "local.test"], ["connection", "upgrade"], ["upgrade", "websocket"]) })
        )
        expect(result.response.status).toBe(400)
        expect(Option.isNone(result.response.upgraded)).toBe(true)
        expect(result.body).toBe("no upgrade here")
      }), T)
  })

  describe("errors", () => {
    it.scopedLive("connection refused → ConnectFailed, retryable", () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const service = yield* make()
        const error = yield* expectError(Effect.scoped(service.send({ host: "127.0.0.1", port }, request())))
        expect(error.reason).toBe("ConnectFailed")
        expect(error.retryable).toBe(true)
        expect(error.message).toContain("ECONNREFUSED")
      }), T)

    it.scopedLive("socket destroyed after the request was read → ResetAfterWrite, not retryable", () =>
      Effect.gen(function*() {
        const app = yield* localAppRaw((socket) => {
          readUntil(socket, (b) => b.includes("\r\n\r\n")).then(() => socket.destroy())
        })
        const service = yield* make()
        const error = yield* expectError(Effect.scoped(service.send(app.target, request())))
        expect(error.reason).toBe("ResetAfterWrite")
        expect(error.retryable).toBe(false)
      }), T)

    it.scopedLive("reset in the middle of the body → the body stream fails with ResetAfterWrite", () =>
      Effect.gen(function*() {
        const app = yield* localAppRaw((socket) => {
          readUntil(socket, (b) => b.includes("\r\n\r\n")).then(() => {
            socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789", () =>
              setTimeout(() => socket.resetAndDestroy(), 20))
          })
        })
        const service = yield* make()
        const error = yield* expectError(exchange(service, app.target, request()))
        expect(error.reason).toBe("ResetAfterWrite")
        expect(error.retryable).toBe(false)
      }), T)

    it.scopedLive("malformed response → Protocol", () =>
      Effect.gen(function*() {
        const app = yield* localAppRaw((socket) => {
          readUntil(socket, (b) => b.includes("\r\n\r\n")).then((b) => {
            socket.end(b.includes("/bad-chunk")
              ? "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"
              : "SSH-2.0-OpenSSH_9.6\r\n\r\n")
          })
        })
        const service = yield* make()
        const head = yield* expectError(Effect.scoped(service.send(app.target, request())))
        expect(head.reason).toBe("Protocol")
        expect(head.retryable).toBe(false)
        const body = yield* expectError(exchange(service, app.target, request({ uri: "/bad-chunk" })))
        expect(body.reason).toBe("Protocol")
      }), T)

    it.scopedLive("request body longer than its content-length → RequestBody; body stream error → E", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((req, res) => {
          req.resume()
          req.on("end", () => res.end("ok"))
        })
        const service = yield* make()
        const tooLong = yield* expectError(
          exchange(service, app.target, request({ method: "POST", headers: headers(["content-length", "3"]), body: Stream.make(data("four")) }))
        )
        expect(tooLong.reason).toBe("RequestBody")
        const failing = yield* Effect.flip(
          exchange(
            service,
            app.target,
            request<string>({
              method: "POST",
              headers: headers(["content-length", "10"]),
              body: Stream.concat(Stream.make(data("abc")), Stream.fail("upstream body failed"))
            })
          )
        )
        expect(failing).toBe("upstream body failed")
      }), T)
  })

  describe("resources", () => {
    it.scopedLive("closing the layer closes every connection", () =>
      Effect.gen(function*() {
        const h1 = yield* localAppHttp((_, res) => res.end("ok"))
        const hang = yield* localAppHttp(() => {}) // never answers
        const h2 = yield* localAppHttp2((stream) => {
          stream.respond({ ":status": 200 })
          stream.end("ok")
        })
        const scope = yield* Scope.make()
        const service = Context.get(yield* Layer.buildWithScope(layer(), scope), LocalHttp)
        yield* exchange(service, h1.target, request())
        yield* exchange(service, h2.target, request({ version: "HTTP/2.0" }))
        const inner = yield* Scope.make()
        yield* Effect.fork(Scope.extend(service.send(hang.target, request()), inner))
        expect(yield* eventually(() => hang.open() === 1)).toBe(true)
        expect((yield* service.stats).openConnections).toBe(3)
        yield* Scope.close(scope, Exit.void)
        expect(yield* eventually(() => h1.open() + h2.open() + hang.open() === 0)).toBe(true)
        expect((yield* service.stats).openConnections).toBe(0)
        yield* Scope.close(inner, Exit.void)
      }), T)

    it.scopedLive("a lease whose response was not completely received is destroyed, not pooled", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => {
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("partial") // never ends
        })
        const service = yield* make()
        yield* Effect.scoped(
          Effect.gen(function*() {
            const response = yield* service.send(app.target, request())
            const pull = yield* Stream.toPull(response.body)
            yield* pull
          })
        )
        expect(yield* eventually(() => app.open() === 0)).toBe(true)
        expect(yield* service.stats).toEqual({ openConnections: 0, idleConnections: 0, connectionsOpened: 1 })
      }), T)

    it.scopedLive("the layer provides the service", () =>
      Effect.gen(function*() {
        const app = yield* localAppHttp((_, res) => res.end("via layer"))
        const result = yield* Effect.flatMap(LocalHttp, (service) => exchange(service, app.target, request())).pipe(
          Effect.provide(layer({ idleTimeout: "1 second" }))
        )
        expect(result.body).toBe("via layer")
        expect(yield* eventually(() => app.open() === 0)).toBe(true)
      }), T)
  })
})
