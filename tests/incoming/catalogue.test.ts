/**
 * The intproxy test catalogue (incoming-behaviour.md §6.1–6.6, T1–T18) as black-box tests:
 * a real IncomingProxy, real local servers on 127.0.0.1, and a byte-level agent over real TCP.
 */
import { describe, expect, it } from "@effect/vitest"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import type { StealType } from "@mirrord-effect/protocol/Tcp"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as net from "node:net"
import { connectAgent } from "./support/agentConnection.js"
import { byteAgent } from "./support/byteAgent.js"
import {
  bench,
  bodyMsg,
  bodyText,
  bytes,
  closeMsg,
  collectResponse,
  data,
  dataMsg,
  describe as d,
  framedRequest,
  headers,
  legacyRequest,
  mirrorMsg,
  newConnectionV1,
  startV2,
  stealMsg,
  stolen,
  subscribeOk,
  barrier,
  waitUntil
} from "./support/harness.js"
import { localAppHttp, localAppRaw, readUntil } from "./support/localApp.js"

const T = { timeout: 60_000 }
const headEnd = (b: Buffer) => b.includes("\r\n\r\n")

describe("catalogue", () => {
  describe("T1 http_request_terminates_on_remote_close", () => {
    const cases: ReadonlyArray<readonly [string, (port: number) => StealType, boolean]> = [
      ["All(80)", (port) => ({ _tag: "All", value: port }), false],
      ["FilteredHttpEx(80, Method(GET))", (port) => ({ _tag: "FilteredHttpEx", values: [port, { _tag: "Method", value: { _tag: "Get" } }] }), true]
    ]
    for (const [name, stealType, filtered] of cases) {
      it.scopedLive(`T1 http_request_terminates_on_remote_close ${name}`, () =>
        Effect.gen(function*() {
          let closed = false
          const sockets: Array<net.Socket> = []
          const app = yield* localAppRaw((socket) => {
            sockets.push(socket)
            socket.on("close", () => {
              closed = true
            })
            void readUntil(socket, headEnd).then(() => {
              socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            })
          })
          const b = yield* bench()
          const pending = yield* Effect.fork(b.proxy.subscribe({
            port: 80,
            mode: "steal",
            target: app.target,
            ...(filtered ? { filter: { _tag: "Method", value: { _tag: "Get" } } } : {})
          }))
          expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "PortSubscribe", value: stealType(80) } })
          yield* b.agent.send(subscribeOk("steal", 80))
          yield* Fiber.join(pending)
          // As in mirrord's test: the body stays open (is_last: false) and no Body follows; the
          // request head must still reach the app at once.
          yield* b.agent.send(stealMsg(startV2({ port: 80, uri: "http://127.0.0.1:80/hello/there", headers: [], isLast: false })))
          const start = stolen(yield* b.agent.next())
          expect(start._tag === "HttpResponseChunked" && start.value._tag).toBe("Start")
          // the app streams a frame each time the test has seen the previous one (by causality, not
          // a timer: frames cannot merge): two Body messages, then the agent's Close
          const frame = () => sockets[0]!.write("c\r\nhello there\n\r\n")
          frame()
          const bodies = [yield* b.agent.next()]
          frame()
          bodies.push(yield* b.agent.next())
          yield* b.agent.send(stealMsg(closeMsg(0n)))
          // the app never ends the response: only the proxy's cancellation closes the connection
          // (no wall-clock bound: the wait fails, by name, if the close never comes)
          yield* waitUntil(() => closed, "the local connection to close")
          // Once the gateway is gone, everything it sent precedes the barrier's answer.
          yield* waitUntil(() => Effect.runSync(b.proxy.stats).gateways === 0, "the gateway to stop")
          bodies.push(...(yield* barrier(b.agent)))
          for (const m of bodies) {
            expect(stolen(m)).toEqual({
              _tag: "HttpResponseChunked",
              value: { _tag: "Body", value: { frames: [data("hello there\n")], is_last: false, connection_id: 0n, request_id: 0 } }
            })
          }
          expect(app.accepted()).toBe(1)
        }), T)
    }
  })

  describe("T2 handles_http_upgrades", () => {
    const upgradeApp = (seen: Array<string>) =>
      localAppRaw((socket) => {
        void readUntil(socket, headEnd).then((head) => {
          if (!head.toString("latin1").includes("upgrade: dummyecho")) {
            socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            return
          }
          socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: dummyecho\r\nconnection: upgrade\r\n\r\n")
          socket.write(Buffer.from([0x4a, 0x50, 0x32, 0x47, 0x4d, 0x44]))
          socket.on("data", (chunk) => {
            seen.push(chunk.toString("latin1"))
            socket.write(chunk)
          })
        })
      })
    const upgradeHeaders = headers({ host: "metalbear.com", connection: "upgrade", upgrade: "dummyecho" })

    it.scopedLive("T2 handles_http_upgrades steal (Basic, agent 1.2.2)", () =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const app = yield* upgradeApp(seen)
        const b = yield* bench({ agentVersion: "1.2.2" })
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(legacyRequest({ port: 80, uri: "dummyecho://metalbear.com/mirrord/", headers: upgradeHeaders })))
        const response = stolen(yield* b.agent.next())
        expect(response._tag).toBe("HttpResponse")
        if (response._tag !== "HttpResponse") return
        expect(response.value.internal_response.status).toBe(101)
        expect(response.value.internal_response.headers).toEqual(headers({ upgrade: "dummyecho", connection: "upgrade" }))
        expect(stolen(yield* b.agent.next())).toEqual({ _tag: "Data", value: { connection_id: 0n, bytes: new Uint8Array([0x4a, 0x50, 0x32, 0x47, 0x4d, 0x44]) } })
        yield* b.agent.send(stealMsg(dataMsg(0n, "test test test")))
        expect(stolen(yield* b.agent.next())).toEqual({ _tag: "Data", value: { connection_id: 0n, bytes: bytes("test test test") } })
        yield* b.agent.send(stealMsg(closeMsg(0n)))
        yield* waitUntil(() => app.open() === 0, "the upgraded connection to close")
      }), T)

    it.scopedLive("T2 handles_http_upgrades mirror", () =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const app = yield* upgradeApp(seen)
        const b = yield* bench({ proxy: { mirrorLinger: 100 } })
        yield* b.subscribe({ port: 80, mode: "mirror", target: app.target })
        yield* b.agent.send(mirrorMsg(startV2({ port: 80, uri: "dummyecho://metalbear.com/mirrord/", headers: upgradeHeaders })))
        yield* waitUntil(() => app.accepted() === 1, "the app to accept")
        // the upgraded connection is relayed once the proxy has the 101
        yield* waitUntil(() => Effect.runSync(b.proxy.stats).relays === 1, "the relay")
        yield* b.agent.send(mirrorMsg(dataMsg(0n, "test test test")))
        yield* waitUntil(() => seen.join("") === "test test test", "the app to get the mirrored bytes")
        yield* b.agent.send(mirrorMsg(closeMsg(0n)))
        yield* waitUntil(() => app.open() === 0, "the mirror relay to linger out")
        yield* b.agent.quiet(100)
        const stats = yield* b.proxy.stats
        expect([stats.gateways, stats.relays, stats.fibers]).toEqual([0, 0, 0])
      }), T)
  })

  describe("T3 produces_correct_response_variant", () => {
    const gatedApp = (gates: Array<() => void>) =>
      localAppHttp((_req, res) => {
        res.writeHead(200, { "content-length": "12" })
        res.flushHeaders()
        gates.push(() => res.write("hello\n"), () => res.end("hello\n"))
      })

    const variants = [
      { name: "Basic", version: "1.2.2", request: (port: number) => stealMsg(legacyRequest({ port })), expected: "HttpResponse" },
      {
        name: "Framed",
        version: "1.3.0",
        request: (port: number) => stealMsg(framedRequest({ port })),
        expected: "HttpResponseFramed"
      }
    ] as const
    for (const v of variants) {
      it.scopedLive(`T3 produces_correct_response_variant ${v.name}`, () =>
        Effect.gen(function*() {
          const gates: Array<() => void> = []
          const app = yield* gatedApp(gates)
          const b = yield* bench({ agentVersion: v.version })
          yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
          yield* b.agent.send(v.request(80))
          yield* waitUntil(() => gates.length === 2, "the request")
          gates.shift()!()
          yield* b.agent.quiet(100)
          gates.shift()!()
          const messages = yield* collectResponse(b.agent)
          expect(messages.map((m) => stolen(m)._tag)).toEqual([v.expected])
          expect(bodyText(messages[0]!)).toBe("hello\nhello\n")
          const s = stolen(messages[0]!)
          if (s._tag === "HttpResponseFramed") expect(s.value.internal_response.body.every((f) => f._tag === "Data")).toBe(true)
        }), T)
    }

    it.scopedLive("T3 produces_correct_response_variant Chunked", () =>
      Effect.gen(function*() {
        const gates: Array<() => void> = []
        const app = yield* gatedApp(gates)
        const b = yield* bench()
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(startV2({ port: 80 })))
        const start = stolen(yield* b.agent.next())
        expect(start._tag === "HttpResponseChunked" && start.value._tag === "Start" && start.value.value.internal_response.body).toEqual([])
        gates.shift()!()
        expect(stolen(yield* b.agent.next())).toEqual({
          _tag: "HttpResponseChunked",
          value: { _tag: "Body", value: { frames: [data("hello\n")], is_last: false, connection_id: 0n, request_id: 0 } }
        })
        gates.shift()!()
        const rest = yield* collectResponse(b.agent)
        expect(rest.map(bodyText).join("")).toBe("hello\n")
        expect(d(rest[rest.length - 1]!)).toBe("Body last")
      }), T)

    it.scopedLive("T3 produces_correct_response_variant None (mirror)", () =>
      Effect.gen(function*() {
        const gates: Array<() => void> = []
        const app = yield* gatedApp(gates)
        const b = yield* bench()
        yield* b.subscribe({ port: 80, mode: "mirror", target: app.target })
        yield* b.agent.send(mirrorMsg(startV2({ port: 80 })))
        yield* waitUntil(() => gates.length === 2, "the request")
        gates.shift()!()
        gates.shift()!()
        yield* waitUntil(() => Effect.runSync(b.proxy.stats).gateways === 0, "the mirror gateway to finish")
        yield* b.agent.quiet(100)
      }), T)
  })

  it.scopedLive("T4 streams_request_body_frames", () =>
    Effect.gen(function*() {
      const received: Array<string> = []
      const app = yield* localAppHttp((req, res) => {
        req.on("data", (chunk: Buffer) => received.push(chunk.toString()))
        req.on("end", () => res.end())
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, headers: headers({ host: "x", "content-length": "12" }), isLast: false })))
      yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [data("hello\n")], false)))
      yield* waitUntil(() => received.join("") === "hello\n", "frame 1 before frame 2 exists")
      yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [data("hello\n")], true)))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponseFramed 200"])
      expect(received).toEqual(["hello\n", "hello\n"])
    }), T)

  it.scopedLive("T5 reuses_client_connections", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end(), (server) => {
        server.once("connection", () => server.close())
      })
      // The second request is refused once, then reuses the pooled connection (intproxy backoff).
      // The backoffs add up to ~25 s: the first exchange ends well within them on a busy machine.
      const b = yield* bench({ proxy: { retryBackoff: [50, 100, 200, 400, 800, 1600, 3200, 6400, 12_800] } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      const keepAlive = headers({ host: "x", connection: "keep-alive" })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 0n, headers: keepAlive })))
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n, headers: keepAlive })))
      const first = yield* collectResponse(b.agent)
      const second = yield* collectResponse(b.agent)
      expect([...first, ...second].map(d)).toEqual(["HttpResponseFramed 200", "HttpResponseFramed 200"])
      expect(app.accepted()).toBe(1)
    }), T)

  it.scopedLive("T6 cleans_up_unused_connections", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("x"))
      const b = yield* bench({ localHttp: { idleTimeout: 10 } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      yield* collectResponse(b.agent)
      // pooled after the response, then evicted after its 10 ms idle timeout
      yield* waitUntil(() => Effect.runSync(b.localHttp.stats).idleConnections === 0, "the idle connection to be evicted")
      yield* waitUntil(() => app.open() === 0, "the idle connection to close")
    }), T)

  it.scopedLive("T7 does_not_cache_closed_connections", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => {
        res.setHeader("connection", "close")
        res.end("x")
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, headers: headers({ host: "x", connection: "close" }) })))
      yield* collectResponse(b.agent)
      // the lease ends with the gateway: the connection is not pooled, and it closes
      yield* waitUntil(() => Effect.runSync(b.proxy.stats).gateways === 0, "the gateway to finish")
      expect((yield* b.localHttp.stats).idleConnections).toBe(0)
      yield* waitUntil(() => app.open() === 0, "the connection to close")
    }), T)

  it.scopedLive("T8 no_http1_upgrade_after_alpn_upgrade (adapted: h2c prior knowledge, no TLS delivery)", () =>
    Effect.gen(function*() {
      let first = ""
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, (b) => b.length >= 14).then((b) => {
          first = b.subarray(0, 14).toString("latin1")
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 443, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 443, uri: "https://well.com/", version: "HTTP/2.0", headers: [] })))
      yield* waitUntil(() => first.length > 0, "the first bytes")
      expect(first).toBe("PRI * HTTP/2.0")
    }), T)

  describe("subscriptions", () => {
    it.scopedLive("T9 with_double_subscribe", () =>
      Effect.gen(function*() {
        const accepted: Array<string> = []
        const app1 = yield* localAppRaw(() => void accepted.push("1111"))
        const app2 = yield* localAppRaw(() => void accepted.push("2222"))
        const b = yield* bench({ proxy: { mirrorLinger: 10 } })
        const first = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "mirror", target: app1.target }))
        expect(yield* b.agent.next()).toEqual({ _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } })
        const second = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "mirror", target: app2.target }))
        yield* b.agent.quiet(100)
        yield* b.agent.send(subscribeOk("mirror", 80))
        const s1 = yield* Fiber.join(first)
        const s2 = yield* Fiber.join(second)
        yield* b.agent.send(mirrorMsg(newConnectionV1(1n, 80)))
        yield* waitUntil(() => accepted.length === 1, "a connection")
        expect(accepted).toEqual(["2222"])
        yield* b.proxy.unsubscribe(s2)
        yield* b.agent.quiet(100)
        yield* b.agent.send(mirrorMsg(newConnectionV1(2n, 80)))
        yield* waitUntil(() => accepted.length === 2, "a connection")
        expect(accepted).toEqual(["2222", "1111"])
        yield* b.proxy.unsubscribe(s1)
        expect(yield* b.agent.next()).toEqual({ _tag: "Tcp", value: { _tag: "PortUnsubscribe", value: 80 } })
        expect((yield* b.proxy.stats).subscriptions).toEqual([])
      }), T)

    it.scopedLive("T10 with_fork (adapted: two handles of one port)", () =>
      Effect.gen(function*() {
        const app = yield* localAppRaw(() => {})
        const b = yield* bench()
        const s1 = yield* b.subscribe({ port: 80, mode: "mirror", target: app.target })
        // Already confirmed: the second handle is answered at once, nothing is sent.
        const s2 = yield* b.proxy.subscribe({ port: 80, mode: "mirror", target: app.target })
        yield* b.proxy.unsubscribe(s1)
        yield* b.agent.quiet(100)
        expect((yield* b.proxy.stats).subscriptions).toEqual([{ port: 80, mode: "mirror", confirmed: true, handles: 1 }])
        yield* b.proxy.unsubscribe(s2)
        expect(yield* b.agent.next()).toEqual({ _tag: "Tcp", value: { _tag: "PortUnsubscribe", value: 80 } })
      }), T)

    it.scopedLive("T11 with_double_response", () =>
      Effect.gen(function*() {
        const app = yield* localAppRaw(() => {})
        const b = yield* bench()
        yield* b.subscribe({ port: 80, mode: "mirror", target: app.target })
        yield* b.agent.send(mirrorMsg({ _tag: "SubscribeResult", value: { _tag: "Err", value: { _tag: "PortAlreadyStolen", value: 80 } } }))
        yield* b.agent.quiet(100)
        expect((yield* b.proxy.stats).subscriptions).toEqual([{ port: 80, mode: "mirror", confirmed: true, handles: 1 }])
        expect(b.attachFiber.unsafePoll()).toBe(null)
      }), T)
  })

  it.scopedLive("T12 intproxy_waits_for_protocol_version (adapted: no subscription before the version is known)", () =>
    Effect.gen(function*() {
      const app = yield* localAppRaw(() => {})
      const proxyVersion = yield* ProtocolVersion.make()
      const proxy = yield* IncomingProxy.make().pipe(
        Effect.provideService(ProtocolVersion.ProtocolVersion, proxyVersion),
        Effect.provideService(LocalHttp.LocalHttp, yield* LocalHttp.make()),
        Effect.provideService(LocalTcp.LocalTcp, yield* LocalTcp.make())
      )
      const server = yield* byteAgent("1.29.0")
      // The connection negotiates into its own ref: the proxy's version stays unknown for now.
      const connecting = yield* connectAgent(server.port).pipe(
        Effect.provideServiceEffect(ProtocolVersion.ProtocolVersion, ProtocolVersion.make()),
        Effect.forkScoped
      )
      const agent = yield* server.accept
      yield* Effect.forkScoped(proxy.attach(yield* Fiber.join(connecting)))
      const pending = yield* Effect.fork(proxy.subscribe({ port: 80, mode: "steal", target: app.target }))
      yield* agent.quiet(300)
      yield* Effect.provideService(ProtocolVersion.setKnown("1.29.0"), ProtocolVersion.ProtocolVersion, proxyVersion)
      expect(yield* agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "PortSubscribe", value: { _tag: "All", value: 80 } } })
      yield* agent.send(subscribeOk("steal", 80))
      yield* Fiber.join(pending)
    }), T)

  it.scopedLive("T13 reconnect_restore_subscriptions", () =>
    Effect.gen(function*() {
      const app = yield* localAppRaw(() => {})
      const b = yield* bench()
      yield* b.subscribe({ port: 42069, mode: "steal", target: app.target })
      for (let i = 0; i < 3; i++) {
        yield* b.reconnect()
        expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "PortSubscribe", value: { _tag: "All", value: 42069 } } })
        expect((yield* b.proxy.stats).subscriptions[0]!.confirmed).toBe(false)
        yield* b.agent.send(subscribeOk("steal", 42069))
        yield* waitUntil(() => Effect.runSync(b.proxy.stats).subscriptions[0]!.confirmed, "the confirmation")
      }
    }), T)

  describe("T14 reconnect_during_http", () => {
    const expected = "GET /test/ HTTP/1.0\r\ncontent-length: 5\r\n\r\nhello"
    for (const dropDuringResponse of [true, false]) {
      it.scopedLive(`T14 reconnect_during_http drop_during_response=${dropDuringResponse}`, () =>
        Effect.gen(function*() {
          let received = ""
          let ended = false
          const app = yield* localAppRaw((socket) => {
            socket.on("data", (chunk) => {
              received += chunk.toString("latin1")
              if (received === expected) socket.write("HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nwo")
            })
            socket.on("end", () => {
              ended = true
            })
          })
          const b = yield* bench()
          yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
          yield* b.agent.send(stealMsg(startV2({
            port: 80,
            uri: "/test/",
            version: "HTTP/1.0",
            headers: headers({ "content-length": "5" }),
            frames: [data("he")],
            isLast: false
          })))
          yield* waitUntil(() => app.accepted() === 1, "the app to accept")
          if (dropDuringResponse) {
            yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [data("llo")], true)))
            expect(stolen(yield* b.agent.next())).toEqual({
              _tag: "HttpResponseChunked",
              value: {
                _tag: "Start",
                value: {
                  port: 80,
                  connection_id: 0n,
                  request_id: 0,
                  internal_response: { status: 200, version: "HTTP/1.0", headers: headers({ "content-length": "5" }), body: [data("wo")] }
                }
              }
            })
            expect(received).toBe(expected)
          }
          yield* b.reconnect()
          yield* waitUntil(() => ended, "the local connection to end")
          expect(expected.startsWith(received)).toBe(true)
          expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "PortSubscribe", value: { _tag: "All", value: 80 } } })
          yield* b.agent.send(subscribeOk("steal", 80))
          yield* b.agent.quiet(100)
        }), T)
    }
  })

  describe("port forwarding", () => {
    const capture = () => {
      const got: Array<string> = []
      const sockets: Array<net.Socket> = []
      return {
        got,
        sockets,
        app: localAppRaw((socket) => {
          sockets.push(socket)
          socket.on("data", (chunk) => got.push(chunk.toString("latin1")))
        })
      }
    }

    it.scopedLive("T15 reverse_port_forwarding_mirror", () =>
      Effect.gen(function*() {
        const c = capture()
        const app = yield* c.app
        const b = yield* bench({ proxy: { mirrorLinger: 50 } })
        const pending = yield* Effect.fork(b.proxy.subscribe({ port: 3038, mode: "mirror", target: app.target }))
        expect(yield* b.agent.next()).toEqual({ _tag: "Tcp", value: { _tag: "PortSubscribe", value: 3038 } })
        yield* b.agent.send(subscribeOk("mirror", 3038))
        yield* Fiber.join(pending)
        yield* b.agent.send(mirrorMsg(newConnectionV1(1n, 3038)))
        yield* b.agent.send(mirrorMsg(dataMsg(1n, "data-my-beloved")))
        yield* waitUntil(() => c.got.join("") === "data-my-beloved", "the mirrored data")
        yield* b.agent.send(mirrorMsg(closeMsg(1n)))
        yield* waitUntil(() => app.open() === 0, "the mirrored connection to close")
        yield* b.agent.quiet(100)
      }), T)

    it.scopedLive("T16 reverse_port_forwarding_steal", () =>
      Effect.gen(function*() {
        const c = capture()
        const app = yield* c.app
        const b = yield* bench()
        const pending = yield* Effect.fork(b.proxy.subscribe({ port: 3038, mode: "steal", target: app.target }))
        expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "PortSubscribe", value: { _tag: "All", value: 3038 } } })
        yield* b.agent.send(subscribeOk("steal", 3038))
        yield* Fiber.join(pending)
        yield* b.agent.send(stealMsg(newConnectionV1(1n, 3038)))
        yield* b.agent.send(stealMsg(dataMsg(1n, "data-my-beloved")))
        yield* waitUntil(() => c.got.join("") === "data-my-beloved", "the stolen data")
        c.sockets[0]!.write("reply-my-beloved")
        expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: 1n, bytes: bytes("reply-my-beloved") } } })
        yield* b.agent.send(stealMsg(closeMsg(1n)))
        yield* waitUntil(() => app.open() === 0, "the stolen connection to close")
      }), T)

    it.scopedLive("T17 reverse_multiple_mappings_forwarding_mirror", () =>
      Effect.gen(function*() {
        const c1 = capture()
        const c2 = capture()
        const app1 = yield* c1.app
        const app2 = yield* c2.app
        const b = yield* bench({ proxy: { mirrorLinger: 50 } })
        const p1 = yield* Effect.fork(b.proxy.subscribe({ port: 3038, mode: "mirror", target: app1.target }))
        const p2 = yield* Effect.fork(b.proxy.subscribe({ port: 3039, mode: "mirror", target: app2.target }))
        const subs = [yield* b.agent.next(), yield* b.agent.next()]
        expect(subs).toEqual(expect.arrayContaining([
          { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 3038 } },
          { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 3039 } }
        ]))
        yield* b.agent.send(subscribeOk("mirror", 3039))
        yield* b.agent.send(subscribeOk("mirror", 3038))
        yield* Fiber.join(p1)
        yield* Fiber.join(p2)
        yield* b.agent.send(mirrorMsg(newConnectionV1(1n, 3038)))
        yield* b.agent.send(mirrorMsg(newConnectionV1(2n, 3039)))
        yield* b.agent.send(mirrorMsg(dataMsg(1n, "for-3038")))
        yield* b.agent.send(mirrorMsg(dataMsg(2n, "for-3039")))
        yield* waitUntil(() => c1.got.join("") === "for-3038" && c2.got.join("") === "for-3039", "the data")
      }), T)

    it.scopedLive("T18 filtered_reverse_port_forwarding (legacy request → Basic, the request-variant cap)", () =>
      Effect.gen(function*() {
        let request = ""
        const app = yield* localAppRaw((socket) => {
          void readUntil(socket, headEnd).then((head) => {
            request = head.toString("latin1")
            socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyay")
          })
        })
        const b = yield* bench()
        const filter = { _tag: "Header", value: "header: value" } as const
        const pending = yield* Effect.fork(b.proxy.subscribe({ port: 8080, mode: "steal", filter, target: app.target }))
        expect(yield* b.agent.next()).toEqual({
          _tag: "TcpSteal",
          value: { _tag: "PortSubscribe", value: { _tag: "FilteredHttpEx", values: [8080, filter] } }
        })
        yield* b.agent.send(subscribeOk("steal", 8080))
        yield* Fiber.join(pending)
        yield* b.agent.send(stealMsg(legacyRequest({
          port: 8080,
          uri: "https://www.rust-lang.org/install.html",
          headers: headers({ header: "value" })
        })))
        const response = yield* b.agent.next()
        expect(response).toEqual({
          _tag: "TcpSteal",
          value: {
            _tag: "HttpResponse",
            value: {
              port: 8080,
              connection_id: 0n,
              request_id: 0,
              internal_response: { status: 200, version: "HTTP/1.1", headers: headers({ "content-length": "3" }), body: bytes("yay") }
            }
          }
        } satisfies ClientMessage)
        expect(request.startsWith("GET /install.html HTTP/1.1\r\nheader: value\r\n")).toBe(true)
      }), T)
  })
})
