/**
 * The recommended scenarios of incoming-behaviour.md §6.8 (S1–S29), black-box: a real
 * IncomingProxy, real local servers on 127.0.0.1 and a byte-level agent over real TCP.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Subscription from "@mirrord-effect/incoming/Subscription"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import type * as http from "node:http"
import type * as net from "node:net"
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
  newConnectionV2,
  startV1,
  startV2,
  stealMsg,
  stolen,
  subscribeOk,

  waitUntil
} from "./support/harness.js"
import { freePort, gate, localAppHttp, localAppRaw, readUntil } from "./support/localApp.js"

const T = { timeout: 60_000 }
const headEnd = (b: Buffer) => b.includes("\r\n\r\n")

/**
 * An app whose body comes in three pieces: "a" at once, "b" when `second` opens, "c" and the end
 * when `third` opens. Without gates both open on the next turns of the event loop (a body that
 * trickles for the Basic/Framed cases, which must wait for the end whatever its timing).
 */
const tricklingApp = (gates?: { readonly second: Promise<void>; readonly third: Promise<void> }) =>
  localAppHttp((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("a")
    const second = gates?.second ?? new Promise<void>((resolve) => setImmediate(resolve))
    const third = gates?.third ?? second.then(() => new Promise<void>((resolve) => setImmediate(resolve)))
    void second.then(() => res.write("b"))
    void third.then(() => res.end("c"))
  })

/** Reads messages until the streamed body text so far includes `wanted`. */
const readUntilBody = (agent: Parameters<typeof collectResponse>[0], seen: Array<ClientMessage>, wanted: string) =>
  Effect.gen(function*() {
    while (!seen.map(bodyText).join("").includes(wanted)) seen.push(yield* agent.next())
  })


describe("scenarios: version and variant selection", () => {
  it.scopedLive("S1 unknown version → Basic only", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.setVersion(Option.none())
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponse 200"])
      expect(bodyText(messages[0]!)).toBe("abc")
    }), T)

  it.scopedLive("S2 1.2.2: one HttpResponse after a trickling body ends", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench({ agentVersion: "1.2.2" })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(legacyRequest({ port: 80 })))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponse 200"])
      expect(bodyText(messages[0]!)).toBe("abc")
    }), T)

  it.scopedLive("S3 1.3.0: HttpResponseFramed only, even for a trickling body", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench({ agentVersion: "1.3.0" })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(framedRequest({ port: 80 })))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponseFramed 200"])
      expect(bodyText(messages[0]!)).toBe("abc")
    }), T)

  for (const version of ["1.7.0", "1.8.0"]) {
    it.scopedLive(`S4 ${version} with StartV1: Framed, never Chunked`, () =>
      Effect.gen(function*() {
        const app = yield* tricklingApp()
        const b = yield* bench({ agentVersion: version })
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(startV1({ port: 80 })))
        yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [], true)))
        const messages = yield* collectResponse(b.agent)
        expect(messages.map(d)).toEqual(["HttpResponseFramed 200"])
      }), T)
  }

  it.scopedLive("S5 1.8.1 trickling: Start before the body ends, Body batches, is_last", () =>
    Effect.gen(function*() {
      // The app sends "b" only after the test has seen "a" at the agent, and "c" after "b": a
      // proxy that waited for the end would deadlock here (the test then fails by its timeout).
      const second = gate()
      const third = gate()
      const app = yield* tricklingApp({ second: second.opened, third: third.opened })
      const b = yield* bench({ agentVersion: "1.8.1" })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV1({ port: 80 })))
      yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [], true)))
      const messages: Array<ClientMessage> = []
      yield* readUntilBody(b.agent, messages, "a")
      second.open()
      yield* readUntilBody(b.agent, messages, "ab")
      third.open()
      messages.push(...(yield* collectResponse(b.agent)))
      expect(d(messages[0]!)).toBe("Start 200")
      expect(d(messages[messages.length - 1]!)).toBe("Body last")
      expect(messages.length).toBeGreaterThanOrEqual(3)
      expect(messages.map(bodyText).join("")).toBe("abc")
    }), T)

  it.scopedLive("S6 1.29.0 complete small body, empty body and 204: HttpResponseFramed", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => {
        if (req.url === "/204") {
          res.writeHead(204)
          res.end()
        } else if (req.url === "/empty") res.end()
        else res.end("yay")
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      for (const [conn, uri, body] of [[1n, "/", "yay"], [2n, "/empty", ""], [3n, "/204", ""]] as const) {
        yield* b.agent.send(stealMsg(startV2({ port: 80, conn, uri })))
        const messages = yield* collectResponse(b.agent)
        expect(messages.map((m) => stolen(m)._tag)).toEqual(["HttpResponseFramed"])
        expect(bodyText(messages[0]!)).toBe(body)
        const s = stolen(messages[0]!)
        if (body === "" && s._tag === "HttpResponseFramed") expect(s.value.internal_response.body).toEqual([])
      }
    }), T)

  it.scopedLive("S7 pre-release 1.9.0-rc.1: Basic (Rust VersionReq semantics)", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench({ agentVersion: "1.9.0-rc.1" })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV1({ port: 80 })))
      yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [], true)))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponse 200"])
    }), T)

  it.scopedLive("S8 reconnect to a lower version: new requests use the lower mode", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.reconnect("1.7.0")
      expect(stolen(yield* b.agent.next())).toEqual({ _tag: "PortSubscribe", value: { _tag: "All", value: 80 } })
      yield* b.agent.send(subscribeOk("steal", 80))
      yield* b.agent.send(stealMsg(startV1({ port: 80 })))
      yield* b.agent.send(stealMsg(bodyMsg(0n, 0, [], true)))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponseFramed 200"])
    }), T)

  it.scopedLive("S9 legacy / framed requests on 1.29.0: capped to Basic / Framed", () =>
    Effect.gen(function*() {
      const app = yield* tricklingApp()
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(legacyRequest({ port: 80, conn: 1n })))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponse 200"])
      yield* b.agent.send(stealMsg(framedRequest({ port: 80, conn: 2n })))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponseFramed 200"])
    }), T)
})

describe("scenarios: chunked details", () => {
  const trailersApp = localAppHttp((_req, res) => {
    res.writeHead(200, { trailer: "grpc-status" })
    res.write("payload")
    res.addTrailers({ "grpc-status": "0" })
    res.end()
  })
  const cases = [
    { version: "1.29.0", request: startV2({ port: 80 }), trailers: true },
    { version: "1.3.0", request: framedRequest({ port: 80 }), trailers: true },
    { version: "1.2.2", request: legacyRequest({ port: 80 }), trailers: false }
  ] as const
  for (const c of cases) {
    it.scopedLive(`S10 trailers at ${c.version}: ${c.trailers ? "kept as a Trailers frame" : "dropped"}`, () =>
      Effect.gen(function*() {
        const app = yield* trailersApp
        const b = yield* bench({ agentVersion: c.version })
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(c.request))
        const messages = yield* collectResponse(b.agent)
        expect(messages.map(bodyText).join("")).toBe("payload")
        const frames = messages.flatMap((m) => {
          const s = stolen(m)
          if (s._tag === "HttpResponseFramed") return [...s.value.internal_response.body]
          if (s._tag === "HttpResponseChunked" && s.value._tag === "Start") return [...s.value.value.internal_response.body]
          if (s._tag === "HttpResponseChunked" && s.value._tag === "Body") return [...s.value.value.frames]
          return []
        })
        if (c.trailers) expect(frames[frames.length - 1]).toEqual({ _tag: "Trailers", value: headers({ "grpc-status": "0" }) })
        else expect(messages.map(d)).toEqual(["HttpResponse 200"])
      }), T)
  }

  it.scopedLive("S11 Start carries the frames already available", () =>
    Effect.gen(function*() {
      const rest = gate()
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then(() => {
          socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nwo")
          void rest.opened.then(() => socket.write("rld"))
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      // the rest of the body only after the test has seen the Start (no race on what it carries)
      const messages = [yield* b.agent.next()]
      rest.open()
      messages.push(...(yield* collectResponse(b.agent)))
      expect(d(messages[0]!)).toBe("Start 200")
      expect(bodyText(messages[0]!)).toBe("wo")
      // the end may come with the last frame or in its own empty Body (S12)
      expect(messages.slice(1).map(bodyText).join("")).toBe("rld")
      expect(d(messages[messages.length - 1]!)).toBe("Body last")
    }), T)

  it.scopedLive("S12 the final Body may be empty with is_last", () =>
    Effect.gen(function*() {
      const end = gate()
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then(() => {
          socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
          void end.opened.then(() => socket.write("0\r\n\r\n"))
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      // the terminator only after the test has seen the Start: the end cannot race the head
      const messages = [yield* b.agent.next()]
      end.open()
      messages.push(...(yield* collectResponse(b.agent)))
      expect(messages.map(d)).toEqual(["Start 200", "Body last"])
      expect(messages.map(bodyText)).toEqual(["abc", ""])
    }), T)
})

/**
 * Writes a head and part of a content-length body, then resets the connection when `die` opens
 * (by default on a later turn of the event loop: Basic/Framed wait for the end whatever its timing).
 */
const dyingApp = (die?: Promise<void>) =>
  localAppRaw((socket) => {
    void readUntil(socket, headEnd).then(() => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
      void (die ?? new Promise<void>((resolve) => setImmediate(resolve))).then(() => socket.resetAndDestroy())
    })
  })

describe("scenarios: failures", () => {
  it.scopedLive("S13 app resets after Start: the cut (Error), no 502, no retry", () =>
    Effect.gen(function*() {
      // the reset only after the test has seen the Start: it cannot race the head
      const die = gate()
      const app = yield* dyingApp(die.opened)
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      const messages = [yield* b.agent.next()]
      die.open()
      messages.push(...(yield* collectResponse(b.agent)))
      expect(messages.map(d)).toEqual(["Start 200", "Error"])
      yield* b.agent.quiet(200)
      expect(app.accepted()).toBe(1)
      expect((yield* b.localHttp.stats).idleConnections).toBe(0)
    }), T)

  for (const [version, request] of [["1.2.2", legacyRequest({ port: 80 })], ["1.3.0", framedRequest({ port: 80 })]] as const) {
    it.scopedLive(`S14 app resets mid-body at ${version}: one 502, no second copy (differs from mirrord)`, () =>
      Effect.gen(function*() {
        const app = yield* dyingApp()
        const b = yield* bench({ agentVersion: version })
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(request))
        const messages = yield* collectResponse(b.agent)
        expect(messages.map(d)).toEqual(["HttpResponse 502"])
        expect(bodyText(messages[0]!)).toMatch(/^mirrord-effect v0\.1\.0: ResetAfterWrite/)
        yield* b.agent.quiet(100)
        expect(app.accepted()).toBe(1)
      }), T)
  }

  it.scopedLive("S15 connection refused: 10 attempts with backoff, then one 502 in the request's version", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const b = yield* bench({ proxy: { retryBackoff: [20, 20, 20, 20, 20, 20, 20, 20, 20] } })
      yield* b.subscribe({ port: 80, mode: "steal", target: { host: "127.0.0.1", port } })
      const sent = Date.now()
      yield* b.agent.send(stealMsg(startV2({ port: 80, version: "HTTP/1.0" })))
      const messages = yield* collectResponse(b.agent)
      expect(Date.now() - sent).toBeGreaterThanOrEqual(180)
      const s = stolen(messages[0]!)
      expect(s._tag === "HttpResponse" && [s.value.internal_response.status, s.value.internal_response.version, s.value.internal_response.headers])
        .toEqual([502, "HTTP/1.0", []])
      expect(bodyText(messages[0]!)).toMatch(/^mirrord-effect v0\.1\.0: .*failed to make a TCP connection/)
      expect(bodyText(messages[0]!).endsWith("\n")).toBe(true)
    }), T)

  it.scopedLive("S16 HTTP/3 request: immediate 502, no attempt", () =>
    Effect.gen(function*() {
      const app = yield* localAppRaw(() => {})
      // "immediate" by causality: any backoff would outlast the test's own timeout
      const b = yield* bench({ proxy: { retryBackoff: [600_000] } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, version: "HTTP/3.0" })))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponse 502"])
      expect(app.accepted()).toBe(0)
    }), T)

  it.scopedLive("S17 garbage from the app: immediate 502, one attempt", () =>
    Effect.gen(function*() {
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then(() => socket.write("HELLO\r\n\r\n"))
      })
      const b = yield* bench({ proxy: { retryBackoff: [1000] } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponse 502"])
      expect(bodyText(messages[0]!)).toContain("Protocol")
      expect(app.accepted()).toBe(1)
    }), T)

  it.scopedLive("S18 pooled connection closed by the app between requests: the next one succeeds at once", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("ok"), (server) => {
        server.keepAliveTimeout = 50
      })
      // "at once" by causality: a backoff before the fresh connection would outlast the test's timeout
      const b = yield* bench({ proxy: { retryBackoff: [600_000] } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n })))
      yield* collectResponse(b.agent)
      yield* waitUntil(() => app.open() === 0, "the app to close the idle connection")
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 2n })))
      const messages = yield* collectResponse(b.agent)
      expect(messages.map(d)).toEqual(["HttpResponseFramed 200"])
      expect(app.accepted()).toBe(2)
    }), T)
})

describe("scenarios: cancellation and stale state", () => {
  it.scopedLive("S19 Close during a pending request or a backoff: nothing more is sent, the local connection closes", () =>
    Effect.gen(function*() {
      let handled = 0
      const app = yield* localAppHttp(() => {
        handled++
      })
      const port = yield* freePort
      const b = yield* bench({ proxy: { retryBackoff: [600_000] } }) // a backoff that outlasts the test: only the Close ends it
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.subscribe({ port: 81, mode: "steal", target: { host: "127.0.0.1", port } })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n })))
      yield* b.agent.send(stealMsg(startV2({ port: 81, conn: 2n })))
      // the app holds the first request; the second cannot connect (pending, or in its backoff)
      yield* waitUntil(() => handled === 1, "the pending request")
      yield* b.agent.send(stealMsg(closeMsg(1n)))
      yield* b.agent.send(stealMsg(closeMsg(2n)))
      yield* waitUntil(() => app.open() === 0, "the local connection to close")
      yield* b.agent.quiet(300)
      const stats = yield* b.proxy.stats
      expect([stats.gateways, stats.fibers, stats.connections]).toEqual([0, 0, 0])
    }), T)

  for (const variant of ["ErrorV1", "ErrorV2"] as const) {
    it.scopedLive(`S20 ${variant} mid-body: the local request is aborted, nothing is sent`, () =>
      Effect.gen(function*() {
        let aborted = false
        let handled = false
        const app = yield* localAppHttp((req) => {
          handled = true
          req.on("close", () => {
            aborted = !req.complete
          })
        })
        const b = yield* bench()
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        yield* b.agent.send(stealMsg(startV2({
          port: 80,
          method: "POST",
          headers: headers({ host: "x", "content-length": "10" }),
          frames: [data("hello")],
          isLast: false
        })))
        // the app has the request (head and first bytes) in its handler
        yield* waitUntil(() => handled, "the request")
        yield* b.agent.send(stealMsg({
          _tag: "HttpRequestChunked",
          value: variant === "ErrorV1"
            ? { _tag: "ErrorV1", value: { connection_id: 0n, request_id: 0 } }
            : { _tag: "ErrorV2", value: { connection_id: 0n, request_id: 0, error_message: "client went away" } }
        }))
        yield* waitUntil(() => aborted, "the local request to be aborted")
        yield* b.agent.quiet(200)
      }), T)
  }

  it.scopedLive("S21 Body for an unknown or finished request is ignored", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("ok"))
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(bodyMsg(42n, 7, [data("stray")], false)))
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n })))
      yield* collectResponse(b.agent)
      yield* b.agent.send(stealMsg(bodyMsg(1n, 0, [data("late")], true)))
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 2n })))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponseFramed 200"])
    }), T)

  it.scopedLive("S22 request for an unsubscribed port: steal 502, mirror nothing", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("ok"))
      const b = yield* bench()
      yield* b.subscribe({ port: 81, mode: "mirror", target: app.target })
      for (const port of [80, 81]) {
        yield* b.agent.send(stealMsg(startV2({ port, version: "HTTP/1.0" })))
        const messages = yield* collectResponse(b.agent)
        expect(messages).toEqual([{
          _tag: "TcpSteal",
          value: {
            _tag: "HttpResponse",
            value: {
              port,
              connection_id: 0n,
              request_id: 0,
              internal_response: {
                status: 502,
                version: "HTTP/1.0",
                headers: [],
                body: bytes("mirrord-effect v0.1.0: port no longer subscribed with an HTTP filter\n")
              }
            }
          }
        }])
      }
      yield* b.agent.send(mirrorMsg(startV2({ port: 82 })))
      yield* b.agent.quiet(200)
      expect(app.accepted()).toBe(0)
    }), T)

  it.scopedLive("S23 NewConnectionV2 for an unsubscribed port: ConnectionUnsubscribe on the matching channel", () =>
    Effect.gen(function*() {
      const b = yield* bench()
      yield* b.agent.send(stealMsg(newConnectionV2(5n, 80)))
      expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "ConnectionUnsubscribe", value: 5n } })
      yield* b.agent.send(mirrorMsg(newConnectionV2(6n, 80)))
      expect(yield* b.agent.next()).toEqual({ _tag: "Tcp", value: { _tag: "ConnectionUnsubscribe", value: 6n } })
    }), T)

  it.scopedLive("S24 mirror request, Close while the app responds: the app gets the whole request, nothing is sent", () =>
    Effect.gen(function*() {
      const closeSent = gate()
      let body = ""
      let finished = false
      const app = yield* localAppHttp((req, res) => {
        req.on("data", (c: Buffer) => {
          body += c.toString()
        })
        req.on("end", () => {
          res.write("first")
          // the rest only after the agent's Close was sent: the Close lands while the app responds
          void closeSent.opened.then(() => {
            res.end("second")
            finished = true
          })
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "mirror", target: app.target })
      yield* b.agent.send(mirrorMsg(startV2({ port: 80, method: "POST", headers: headers({ host: "x", "content-length": "3" }), frames: [data("abc")] })))
      yield* waitUntil(() => body === "abc", "the mirrored body")
      yield* b.agent.send(mirrorMsg(closeMsg(0n)))
      closeSent.open()
      yield* waitUntil(() => finished, "the app to finish")
      yield* waitUntil(() => Effect.runSync(b.proxy.stats).gateways === 0, "the mirror gateway to finish")
      yield* b.agent.quiet(100)
    }), T)

  it.scopedLive("S25 two requests on one connection id (ids 0 and 1): independent; Close cancels both", () =>
    Effect.gen(function*() {
      const pending: Array<http.ServerResponse> = []
      const app = yield* localAppHttp((req, res) => {
        if (req.url === "/fast") res.end("fast")
        else pending.push(res)
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 7n, req: 0, uri: "/slow" })))
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 7n, req: 1, uri: "/fast" })))
      const fast = yield* collectResponse(b.agent)
      expect(fast.map(d)).toEqual(["HttpResponseFramed 200"])
      const s = stolen(fast[0]!)
      expect(s._tag === "HttpResponseFramed" && s.value.request_id).toBe(1)
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 7n, req: 2, uri: "/slow" })))
      yield* waitUntil(() => pending.length === 2, "both slow requests")
      yield* b.agent.send(stealMsg(closeMsg(7n)))
      yield* waitUntil(() => app.open() === 0, "both local connections to close")
      yield* b.agent.quiet(200)
    }), T)
})

describe("scenarios: TCP and upgrade", () => {
  it.scopedLive("S26 raw TCP: app EOF → one empty Data; agent empty Data → app EOF; app reset → ConnectionUnsubscribe", () =>
    Effect.gen(function*() {
      const sockets: Array<net.Socket> = []
      let appSawEof = false
      const app = yield* localAppRaw((socket) => {
        sockets.push(socket)
        socket.on("end", () => {
          appSawEof = true
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(newConnectionV2(1n, 80)))
      yield* waitUntil(() => sockets.length === 1, "the connection")
      sockets[0]!.end("bye")
      expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: 1n, bytes: bytes("bye") } } })
      expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: 1n, bytes: new Uint8Array(0) } } })
      yield* b.agent.send(stealMsg(dataMsg(1n, "")))
      yield* waitUntil(() => appSawEof, "the app to see EOF")
      yield* b.agent.quiet(100)
      // a second connection, reset by the app
      yield* b.agent.send(stealMsg(newConnectionV2(2n, 80)))
      yield* waitUntil(() => sockets.length === 2, "the second connection")
      sockets[1]!.resetAndDestroy()
      expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "ConnectionUnsubscribe", value: 2n } })
      yield* b.agent.send(stealMsg(closeMsg(1n)))
      yield* waitUntil(() => app.open() === 0, "all connections to close")
    }), T)

  it.scopedLive("S27 upgrade in Chunked mode: HttpResponseFramed 101, always before the first Data", () =>
    Effect.gen(function*() {
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then(() => {
          // the first upgraded bytes travel in the same write as the 101 head
          socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\nhi!")
          socket.on("data", (chunk) => socket.write(chunk))
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      for (let conn = 1n; conn <= 5n; conn++) {
        yield* b.agent.send(stealMsg(startV2({ port: 80, conn, headers: headers({ host: "x", connection: "upgrade", upgrade: "echo" }) })))
        const first = stolen(yield* b.agent.next())
        expect(first._tag === "HttpResponseFramed" && [first.value.connection_id, first.value.internal_response.status, first.value.internal_response.body])
          .toEqual([conn, 101, []])
        expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: conn, bytes: bytes("hi!") } } })
        yield* b.agent.send(stealMsg(dataMsg(conn, "ping")))
        expect(yield* b.agent.next()).toEqual({ _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: conn, bytes: bytes("ping") } } })
        yield* b.agent.send(stealMsg(closeMsg(conn)))
      }
      yield* waitUntil(() => app.open() === 0, "the upgraded connections to close")
    }), T)

  it.scopedLive("S28 mirror filtered subscription: 1.21.0 → PortSubscribe, 1.21.1 → PortSubscribeFilteredHttp, unknown → PortSubscribe", () =>
    Effect.gen(function*() {
      const filter = { _tag: "Path", value: "^/api" } as const
      const target = { host: "127.0.0.1", port: 1 }
      for (const [version, expected] of [
        ["1.21.0", { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } }],
        ["1.21.1", { _tag: "Tcp", value: { _tag: "PortSubscribeFilteredHttp", values: [80, filter] } }]
      ] as const) {
        const b = yield* bench({ agentVersion: version })
        const pending = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "mirror", filter, target }))
        expect(yield* b.agent.next()).toEqual(expected)
        yield* b.agent.send(subscribeOk("mirror", 80))
        yield* Fiber.join(pending)
      }
      const unknown = Subscription.subscribeMessage({ port: 80, mode: "mirror", filter, target }, Option.none())
      expect(Either.map(unknown, (m) => m.message)).toEqual(Either.right({ _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } }))
      expect(Either.isRight(unknown) && unknown.right.warning).toMatch(/without its filter/)
    }), T)

  it.scopedLive("S29 Forbidden → SubscribeError; any other error fails that subscription only (Refused)", () =>
    Effect.gen(function*() {
      const target = { host: "127.0.0.1", port: 1 }
      const b = yield* bench()
      const forbidden = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "steal", target }))
      yield* b.agent.next()
      yield* b.agent.send(stealMsg({
        _tag: "SubscribeResult",
        value: {
          _tag: "Err",
          value: { _tag: "Forbidden", blocked_action: { _tag: "Steal", value: { _tag: "All", value: 80 } }, policy_name: "no-steal" }
        }
      }))
      const refused = yield* Fiber.await(forbidden)
      expect(Exit.isFailure(refused) && Exit.causeOption(refused).pipe(Option.flatMap((c) => Option.fromNullable((c as any).error))))
        .toEqual(Option.some(expect.objectContaining({ _tag: "SubscribeError", reason: "Forbidden", port: 80 })))
      const other = yield* Effect.fork(b.proxy.subscribe({ port: 81, mode: "steal", target }))
      yield* b.agent.next()
      yield* b.agent.send(stealMsg({ _tag: "SubscribeResult", value: { _tag: "Err", value: { _tag: "NotImplemented" } } }))
      const pendingExit = yield* Fiber.await(other)
      expect(String(Exit.isFailure(pendingExit) && Exit.causeOption(pendingExit).pipe(Option.getOrNull))).toContain("Refused")
      expect(Option.isNone(yield* Fiber.poll(b.attachFiber))).toBe(true)
      const later = yield* Effect.fork(b.proxy.subscribe({ port: 82, mode: "steal", target }))
      yield* b.agent.next()
      yield* b.agent.send(subscribeOk("steal", 82))
      expect((yield* Fiber.join(later)).port).toBe(82)
    }), T)
})
