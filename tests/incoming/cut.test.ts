/**
 * Failed responses (issue 11): a Chunked response that fails after its head ends with the
 * messages of `cutResponse` — `ChunkedResponse::Error` alone, the only ending every agent era reads
 * as "this response failed" (tests/real-agent shows no sequence makes a real agent abort the
 * client's connection; `ConnectionUnsubscribe` would hand a 1.8.x client's connection to the pod). Checked end to
 * end: a real IncomingProxy, a real AgentConnection over TCP, agent-sim as the agent (recording
 * what reaches it, in order), and a raw local app that fails on cue.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type { ResponseEvent } from "@mirrord-effect/agent-sim/ResponseEvent"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import { localAppRaw, readUntil } from "./support/localApp.js"
import { awaitSent, sentFor } from "./support/responseRecord.js"

const T = 30_000

/** A local app that answers with a Chunked head and a first chunk, then waits for `cue` to fail or hang. */
const halfAnsweringApp = (onCue: (socket: net.Socket) => void) =>
  Effect.gen(function*() {
    const sockets: Array<net.Socket> = []
    const app = yield* localAppRaw((socket) => {
      void readUntil(socket, (b) => b.includes("\r\n\r\n")).then(() => {
        sockets.push(socket)
        socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\npartial\r\n")
      })
    })
    return { app, cue: Effect.sync(() => sockets.forEach(onCue)) }
  })

/**
 * The proxy attached to `sim` through a real AgentConnection (in the test's scope); closing
 * `attachScope` detaches the proxy (as when it stops) while the connection stays usable.
 */
const proxyAttachedTo = (sim: AgentSim.AgentSim, appPort: number, attachScope?: Scope.Scope, filter?: HttpFilter) =>
  Effect.gen(function*() {
    const versionRef = yield* ProtocolVersion.make()
    const localHttp = yield* LocalHttp.make()
    const localTcp = yield* LocalTcp.make()
    const proxy = yield* IncomingProxy.make({ retryBackoff: [] }).pipe(
      Effect.provideService(ProtocolVersion.ProtocolVersion, versionRef),
      Effect.provideService(LocalHttp.LocalHttp, localHttp),
      Effect.provideService(LocalTcp.LocalTcp, localTcp)
    )
    const connection = yield* AgentConnection.make({ address: sim.address, versionRef }).pipe(
      Effect.provideService(AgentConnection.SocketConnector, (a) => NodeSocket.makeNet({ host: a.host, port: a.port })),
      Effect.orDie
    )
    yield* connection.negotiated
    yield* proxy.attach(connection).pipe(Effect.forkIn(attachScope ?? (yield* Effect.scope)))
    yield* proxy.subscribe({ port: 80, mode: "steal", filter, target: { host: "127.0.0.1", port: appPort } }).pipe(Effect.orDie)
    return proxy
  })

/** Sends a request through the sim; returns the head (once it arrived) and a fiber with the rest. */
const requestUntilHead = (sim: AgentSim.AgentSim) =>
  Effect.gen(function*() {
    const head = yield* Deferred.make<Extract<ResponseEvent, { _tag: "Head" }>>()
    const events = yield* sim.request(80, { method: "GET", uri: "/stream" }).pipe(
      Stream.tap((e) => (e._tag === "Head" ? Deferred.succeed(head, e) : Effect.void)),
      Stream.runCollect,
      Effect.either,
      Effect.fork
    )
    return { head: yield* Deferred.await(head), events }
  })

describe("cut responses reach the agent (agent-sim 1.29.0)", () => {
  it.scopedLive("the app dies mid-body: Start, then Error, and nothing more for that connection", () =>
    Effect.gen(function*() {
      const { app, cue } = yield* halfAnsweringApp((socket) => socket.resetAndDestroy())
      const sim = yield* AgentSim.make({ version: "1.29.0", record: true })
      yield* proxyAttachedTo(sim, app.port)
      const { events, head } = yield* requestUntilHead(sim)
      expect(head.variant).toBe("HttpResponseChunked")
      yield* cue
      const sent = yield* awaitSent(sim, head.connectionId, 2)
      expect(sent).toEqual(["Start", "Error"])
      // the client's response ends in an error, never a clean end
      const result = yield* Fiber.join(events)
      const ended = result._tag === "Right" ? [...result.right].map((e) => e._tag) : ["failed"]
      expect(ended).not.toContain("End")
    }), T)

  it.scopedLive("the proxy stops (detaches) with the response in flight while the connection is usable: the cut goes out", () =>
    Effect.gen(function*() {
      const { app } = yield* halfAnsweringApp(() => {})
      const sim = yield* AgentSim.make({ version: "1.29.0", record: true })
      const proxyScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      yield* proxyAttachedTo(sim, app.port, proxyScope)
      const { head } = yield* requestUntilHead(sim)
      expect(head.variant).toBe("HttpResponseChunked")
      // the app never finishes; the proxy stops serving the connection
      yield* Scope.close(proxyScope, Exit.void)
      const sent = yield* awaitSent(sim, head.connectionId, 2)
      expect(sent).toEqual(["Start", "Error"])
    }), T)

  it.scopedLive("the agent closes the connection itself: nothing more is sent for it", () =>
    Effect.gen(function*() {
      const { app } = yield* halfAnsweringApp(() => {})
      const sim = yield* AgentSim.make({ version: "1.29.0", record: true })
      const proxy = yield* proxyAttachedTo(sim, app.port)
      const conn = yield* sim.httpConnection(80)
      const head = yield* Deferred.make<bigint>()
      yield* conn.request({ method: "GET", uri: "/stream" }).pipe(
        Stream.tap((e) => (e._tag === "Head" ? Deferred.succeed(head, e.connectionId) : Effect.void)),
        Stream.runDrain,
        Effect.ignore,
        Effect.fork
      )
      const connectionId = yield* Deferred.await(head)
      yield* conn.close
      // the gateway is gone once the proxy has handled the agent's Close
      for (;;) {
        if ((yield* proxy.stats).gateways === 0) break
        yield* Effect.sleep(5)
      }
      expect(yield* sentFor(sim, connectionId)).toEqual(["Start"])
    }), T)
})

describe("a response not started when the proxy stops (agent-sim 1.7.0: Framed)", () => {
  it.scopedLive("the agent gets one 502 HttpResponse, so its client is not left waiting", () =>
    Effect.gen(function*() {
      // the app sends its head and part of a chunked body, then hangs: a Framed response waits
      // for the whole body, so nothing of it has gone out when the proxy stops
      const reached = yield* Deferred.make<void>()
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, (b) => b.includes("\r\n\r\n")).then(() => {
          socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\npartial\r\n")
          Deferred.unsafeDone(reached, Exit.void)
        })
      })
      const sim = yield* AgentSim.make({ version: "1.7.0", record: true })
      const proxyScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      // agents before 1.19.4 deliver HTTP only on filtered subscriptions
      yield* proxyAttachedTo(sim, app.port, proxyScope, { _tag: "Path", value: "^/" })
      const events = yield* sim.request(80, { method: "GET", uri: "/slow" }).pipe(Stream.runCollect, Effect.either, Effect.fork)
      yield* Deferred.await(reached)
      yield* Scope.close(proxyScope, Exit.void)
      const result = yield* Fiber.join(events)
      const heads = result._tag === "Right" ? [...result.right].filter((e) => e._tag === "Head") : []
      expect(heads.map((h) => [h.status, h.variant])).toEqual([[502, "HttpResponse"]])
      const recorded = yield* sim.recording
      const responses = recorded.filter((r) =>
        r._tag === "Received" && r.message._tag === "TcpSteal" && r.message.value._tag.startsWith("HttpResponse")
      )
      expect(responses.length).toBe(1)
    }), T)
})
