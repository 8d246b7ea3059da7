/**
 * Cross-cutting behaviour of the IncomingProxy: the response variant for every agent version
 * (every message accepted by `decoderFor(agentVersion)`), streaming (SSE), dying apps, a slow
 * agent (backpressure), the local target rule, leaks, metrics.
 *
 * Deterministic on a busy machine: the local apps wait for the test's signal where an order of
 * events matters (no app timers racing the proxy), tests wait for events (a message, a counter),
 * and no wait has a deadline shorter than the test's own timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import { Metrics } from "./support/metricsProbe.js"
import {
  bench,
  bodyMsg,
  bodyText,
  closeMsg,
  collectResponse,
  dataMsg,
  describe as d,
  framedRequest,
  headers,
  legacyRequest,
  mirrorMsg,
  newConnectionV1,
  startV1,
  startV2,
  stealMsg,
  stolen,
  waitUntil
} from "./support/harness.js"
import { freePort, localAppHttp, localAppRaw, readUntil } from "./support/localApp.js"

const T = { timeout: 60_000 }
/** Bound for waits on events: never shorter than the test's own timeout. */
const PATIENCE = 60_000

/** A promise the test resolves to let a local app go on (the app never races the proxy on a timer). */
const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open: () => open(), opened }
}

/** A Basic or Framed response is one message; a Chunked one ends with its last Body or Error. */
const isWholeResponse = (m: ClientMessage): boolean => {
  const s = stolen(m)
  return s._tag === "HttpResponse" || s._tag === "HttpResponseFramed"
}
const headEnd = (b: Buffer) => b.includes("\r\n\r\n")

/** The request variant an agent of each version sends (incoming-behaviour.md §3.1). */
const requestFor = (version: string): ReadonlyArray<DaemonMessage> => {
  const [major, minor, patch] = version.split(".").map(Number) as [number, number, number]
  const v = major * 10000 + minor * 100 + patch
  if (v >= 11900) return [stealMsg(startV2({ port: 80 }))]
  if (v >= 10700) return [stealMsg(startV1({ port: 80 })), stealMsg(bodyMsg(0n, 0, [], true))]
  if (v >= 10300) return [stealMsg(framedRequest({ port: 80 }))]
  return [stealMsg(legacyRequest({ port: 80 }))]
}

describe("response variants by agent version", () => {
  const matrix = [
    { version: "1.2.2", echo: false, expected: ["HttpResponse"] },
    { version: "1.3.0", echo: false, expected: ["HttpResponseFramed"] },
    { version: "1.4.0", echo: true, expected: ["HttpResponseFramed"] },
    { version: "1.7.0", echo: false, expected: ["HttpResponseFramed"] },
    { version: "1.8.0", echo: false, expected: ["HttpResponseFramed"] },
    { version: "1.8.1", echo: false, expected: ["Start", "Body"] },
    { version: "1.29.0", echo: false, expected: ["Start", "Body"] }
  ] as const
  for (const row of matrix) {
    it.scopedLive(`agent ${row.version}${row.echo ? " echoing our version" : ""}: ${row.expected.join(" + ")}`, () =>
      Effect.gen(function*() {
        // Chunked: the body ends only once the head has reached the agent (else one Framed could
        // carry it all); Basic and Framed wait for the whole body, so the app ends it at once.
        const bodyEnd = gate()
        const chunked = row.expected[0] === "Start"
        const app = yield* localAppHttp((_req, res) => {
          res.write("streamed ")
          void bodyEnd.opened.then(() => res.end("body"))
        })
        // the byte agent decodes every message with decoderFor(row.version): an undecodable one fails
        const b = yield* bench({ agentVersion: row.version, echo: row.echo })
        yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
        if (!chunked) bodyEnd.open()
        for (const m of requestFor(row.version)) yield* b.agent.send(m)
        const first = yield* b.agent.next()
        bodyEnd.open()
        const messages = isWholeResponse(first) ? [first] : [first, ...(yield* collectResponse(b.agent))]
        expect([...new Set(messages.map((m) => d(m).split(" ")[0]))]).toEqual(row.expected)
        expect(messages.map(bodyText).join("")).toBe("streamed body")
        yield* b.agent.send(stealMsg({ _tag: "NewConnectionV1", value: { connection_id: 9n, remote_address: "10.0.0.1", destination_port: 99, source_port: 1, local_address: "10.0.0.2" } }))
        expect(d(yield* b.agent.next())).toBe("ConnectionUnsubscribe")
      }), T)
  }
})

describe("streaming and failures", () => {
  it.scopedLive("SSE: events reach the agent while the app is still writing", () =>
    Effect.gen(function*() {
      // The app writes 3 events, then waits until the agent has seen the first one: a proxy that
      // buffered the body would never deliver it (the test then times out).
      const seenFirst = gate()
      let finished = false
      const app = yield* localAppHttp((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        for (let i = 0; i < 3; i++) res.write(`data: ${i}\n\n`)
        void seenFirst.opened.then(() => {
          for (let i = 3; i < 10; i++) res.write(`data: ${i}\n\n`)
          res.end()
          finished = true
        })
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      const start = yield* b.agent.next()
      expect(d(start)).toBe("Start 200")
      const firstEvents = [start]
      while (!firstEvents.map(bodyText).join("").includes("data: 0\n\n")) firstEvents.push(yield* b.agent.next())
      expect(finished).toBe(false)
      seenFirst.open()
      const rest = yield* collectResponse(b.agent)
      expect([...firstEvents, ...rest].map(bodyText).join("")).toBe(Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(""))
    }), T)

  /** Answers a head and part of the body, then resets the connection once `die` opens. */
  const dying = (die: Promise<void>) =>
    localAppRaw((socket) => {
      void readUntil(socket, headEnd).then(() => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        void die.then(() => setTimeout(() => socket.resetAndDestroy(), 30))
      })
    })
  const modes = [
    { name: "Basic", version: "1.2.2", mode: "steal", request: stealMsg(legacyRequest({ port: 80 })), expected: ["HttpResponse 502"] },
    { name: "Framed", version: "1.3.0", mode: "steal", request: stealMsg(framedRequest({ port: 80 })), expected: ["HttpResponse 502"] },
    { name: "Chunked", version: "1.29.0", mode: "steal", request: stealMsg(startV2({ port: 80 })), expected: ["Start 200", "Error"] },
    { name: "mirror", version: "1.29.0", mode: "mirror", request: mirrorMsg(startV2({ port: 80 })), expected: [] }
  ] as const
  for (const m of modes) {
    it.scopedLive(`a dying app in ${m.name} mode: ${m.expected.join(", ") || "nothing sent"}, one attempt`, () =>
      Effect.gen(function*() {
        // Chunked: the app dies only once the head has reached the agent (Start, then Error);
        // the other modes answer nothing before the body ends, so it dies at once.
        const die = gate()
        const app = yield* dying(die.opened)
        const b = yield* bench({ agentVersion: m.version })
        yield* b.subscribe({ port: 80, mode: m.mode, target: app.target })
        if (m.name !== "Chunked") die.open()
        yield* b.agent.send(m.request)
        if (m.name === "Chunked") {
          const start = yield* b.agent.next()
          die.open()
          expect([start, ...(yield* collectResponse(b.agent))].map(d)).toEqual(m.expected)
        } else if (m.expected.length > 0) {
          expect((yield* collectResponse(b.agent)).map(d)).toEqual(m.expected)
        }
        // the request is over once it reached the app and its gateway has ended (retries happen
        // inside the gateway, so the count of attempts is final then)
        yield* waitUntil(
          () => app.accepted() >= 1 && Effect.runSync(b.proxy.stats).gateways === 0,
          PATIENCE,
          "the request to reach the app and end"
        )
        yield* b.agent.quiet(200)
        expect(app.accepted()).toBe(1)
      }), T)
  }

  it.scopedLive("a slow agent reader: the app's writes stall, memory stays bounded, then everything arrives", () =>
    Effect.gen(function*() {
      const chunk = Buffer.alloc(64 * 1024, 120)
      const total = 2000 // 125 MiB if nothing pushed back
      let written = 0
      let stalled = 0
      let waitingForDrain = false
      const app = yield* localAppHttp((_req, res) => {
        res.writeHead(200, { "content-length": String(chunk.length * total) })
        const pump = () => {
          waitingForDrain = false
          while (written < total) {
            written++
            if (!res.write(chunk)) {
              stalled++
              waitingForDrain = true
              res.once("drain", pump)
              return
            }
          }
          res.end()
        }
        pump()
      })
      const b = yield* bench({ outboundCapacity: 4 })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.pause
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      // Wait until the app is stalled: it waits for 'drain' and has written nothing more between
      // two samples. The 250 ms is a sampling interval, not a deadline: a machine too busy to
      // settle in it just samples again (an unbounded reader never settles: the test times out).
      let writtenWhilePaused: number
      for (;;) {
        yield* waitUntil(() => waitingForDrain, PATIENCE, "the app to wait for drain")
        const sample = written
        yield* Effect.sleep(250)
        if (waitingForDrain && written === sample) {
          writtenWhilePaused = sample
          break
        }
      }
      expect(stalled).toBeGreaterThan(0)
      // socket buffers + 16 ready frames + 4 queued messages: far below the whole body
      expect(writtenWhilePaused * chunk.length).toBeLessThan(24 * 1024 * 1024)
      yield* b.agent.resume
      let bytes = 0
      for (;;) {
        const m = stolen(yield* b.agent.next())
        if (m._tag === "HttpResponseChunked" && m.value._tag === "Start") {
          for (const f of m.value.value.internal_response.body) if (f._tag === "Data") bytes += f.value.length
          continue
        }
        if (m._tag === "HttpResponseChunked" && m.value._tag === "Body") {
          for (const f of m.value.value.frames) if (f._tag === "Data") bytes += f.value.length
          if (m.value.value.is_last) break
        }
      }
      expect(bytes).toBe(chunk.length * total)
    }), T)

  it.scopedLive("one slow app does not stall other connections", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => {
        if (req.url === "/slow") return // never answers
        res.end("quick")
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n, uri: "/slow" })))
      for (let conn = 2n; conn < 6n; conn++) {
        yield* b.agent.send(stealMsg(startV2({ port: 80, conn })))
        expect(bodyText((yield* collectResponse(b.agent))[0]!)).toBe("quick")
      }
      expect((yield* b.proxy.stats).gateways).toBe(1)
    }), T)
})

describe("local target", () => {
  it.scopedLive("the connection always goes to the subscription's target, never to the URI or Host", () =>
    Effect.gen(function*() {
      const decoy = yield* localAppHttp((_req, res) => res.end("decoy"))
      let seenUrl = ""
      const app = yield* localAppHttp((req, res) => {
        seenUrl = req.url ?? ""
        res.end("target")
      })
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      const hostile = `http://127.0.0.1:${decoy.port}/steal?x=1`
      yield* b.agent.send(stealMsg(startV2({ port: 80, uri: hostile, headers: headers({ host: `127.0.0.1:${decoy.port}` }) })))
      expect(bodyText((yield* collectResponse(b.agent))[0]!)).toBe("target")
      yield* b.agent.send(stealMsg(legacyRequest({ port: 80, conn: 1n, uri: hostile, headers: headers({ host: `127.0.0.1:${decoy.port}` }) })))
      expect(bodyText((yield* collectResponse(b.agent))[0]!)).toBe("target")
      expect(seenUrl).toBe("/steal?x=1")
      expect(decoy.accepted()).toBe(0)
    }), T)
})

describe("lifecycle", () => {
  it.scopedLive("no leaks: sockets and fibers after a run with faults", () =>
    Effect.gen(function*() {
      const httpApp = yield* localAppHttp((req, res) => {
        if (req.url === "/hang") return
        if (req.url === "/reset") {
          req.socket.resetAndDestroy()
          return
        }
        res.write("a")
        setTimeout(() => res.end("b"), 20)
      }, (server) => {
        server.on("upgrade", (_req, socket: net.Socket) => {
          socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n")
          socket.on("data", (c) => socket.write(c))
          socket.on("end", () => socket.end())
          socket.on("error", () => {})
        })
      })
      const tcpSockets: Array<net.Socket> = []
      const tcpApp = yield* localAppRaw((socket) => {
        tcpSockets.push(socket)
        socket.on("data", (c) => socket.write(c))
      })
      const refused = yield* freePort
      const b = yield* bench({ localHttp: { idleTimeout: 50 }, proxy: { mirrorLinger: 50 } })
      yield* b.subscribe({ port: 80, mode: "steal", target: httpApp.target })
      yield* b.subscribe({ port: 81, mode: "steal", target: tcpApp.target })
      yield* b.subscribe({ port: 82, mode: "steal", target: { host: "127.0.0.1", port: refused } })
      yield* b.subscribe({ port: 83, mode: "mirror", target: httpApp.target })
      yield* b.subscribe({ port: 84, mode: "mirror", target: tcpApp.target })
      const up = headers({ host: "x", connection: "upgrade", upgrade: "echo" })
      const script: Array<DaemonMessage> = [
        stealMsg(startV2({ port: 80, conn: 1n })),
        stealMsg(startV2({ port: 80, conn: 2n, uri: "/hang" })),
        stealMsg(startV2({ port: 80, conn: 3n, uri: "/reset" })),
        stealMsg(startV2({ port: 80, conn: 4n, uri: "/upgrade", headers: up })),
        stealMsg(startV2({ port: 80, conn: 5n, method: "POST", headers: headers({ host: "x", "content-length": "4" }), isLast: false })),
        stealMsg(startV2({ port: 82, conn: 6n })),
        stealMsg(newConnectionV1(7n, 81)),
        stealMsg(dataMsg(7n, "echo me")),
        mirrorMsg(startV2({ port: 83, conn: 8n })),
        mirrorMsg(newConnectionV1(9n, 84)),
        mirrorMsg(dataMsg(9n, "mirror me"))
      ]
      for (const m of script) yield* b.agent.send(m)
      // the router handles messages in order: both raw connections accepted means all were routed
      yield* waitUntil(() => tcpSockets.length === 2, PATIENCE, "both raw connections at the app")
      tcpSockets[0]!.resetAndDestroy()
      for (const conn of [1n, 2n, 3n, 4n, 5n, 6n, 7n]) yield* b.agent.send(stealMsg(closeMsg(conn)))
      for (const conn of [8n, 9n]) yield* b.agent.send(mirrorMsg(closeMsg(conn)))
      yield* waitUntil(() => {
        const s = Effect.runSync(b.proxy.stats)
        return s.gateways === 0 && s.relays === 0 && s.fibers === 0 && s.connections === 0
      }, PATIENCE, "the proxy to be idle")
      yield* waitUntil(() => httpApp.open() === 0 && tcpApp.open() === 0, PATIENCE, `every local socket to close`).pipe(
        Effect.tapDefect(() => Effect.sync(() => console.log("open", httpApp.open(), tcpApp.open(), Effect.runSync(b.localHttp.stats))))
      )
      expect(Effect.runSync(b.localTcp.openConnections)).toBe(0)
      expect((yield* b.localHttp.stats).openConnections).toBe(0)
    }), T)

  it.scopedLive("agent loss tears everything down; the proxy serves the next connection", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp(() => {})
      const tcpApp = yield* localAppRaw(() => {})
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.subscribe({ port: 81, mode: "steal", target: tcpApp.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n })))
      yield* b.agent.send(stealMsg(newConnectionV1(2n, 81)))
      yield* waitUntil(() => app.accepted() === 1 && tcpApp.accepted() === 1, PATIENCE, "both connections")
      yield* b.reconnect()
      yield* waitUntil(() => app.open() === 0 && tcpApp.open() === 0, PATIENCE, "the local sockets to close")
      const s = yield* b.proxy.stats
      expect([s.gateways, s.relays, s.fibers, s.connections]).toEqual([0, 0, 0, 0])
      expect(new Set([d(yield* b.agent.next()), d(yield* b.agent.next())])).toEqual(new Set(["PortSubscribe"]))
    }), T)
})

describe("observability", () => {
  it.scopedLive("metrics: responses by mode, bytes, errors, in flight", () =>
    Effect.gen(function*() {
      const tag = `t${Math.random().toString(36).slice(2)}`
      const app = yield* localAppHttp((_req, res) => res.end("12345"))
      const refused = yield* freePort
      const b = yield* bench({ proxy: { metricTags: { test: tag } } })
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.subscribe({ port: 81, mode: "steal", target: { host: "127.0.0.1", port: refused } })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 1n })))
      yield* collectResponse(b.agent)
      yield* b.agent.send(stealMsg(startV2({ port: 81, conn: 2n })))
      yield* collectResponse(b.agent)
      const m = new Metrics(tag)
      expect(m.counter("mirrord_incoming_responses_total", { mode: "Framed" })).toBe(1)
      expect(m.counter("mirrord_incoming_responses_total", { mode: "BadGateway" })).toBe(1)
      expect(m.counter("mirrord_incoming_bytes_out_total")).toBeGreaterThanOrEqual(5)
      expect(m.counter("mirrord_incoming_errors_total", { reason: "ConnectFailed" })).toBe(4)
      expect(m.gauge("mirrord_incoming_requests_in_flight")).toBe(0)
    }), T)
})
