import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import type { TestClient } from "./support/testClient.js"
import { connectClient, dec, enc, headers, negotiate, steal, stealAll, stealFiltered, subscribe, tcpOf } from "./support/testClient.js"

const setup = Effect.gen(function*() {
  const sim = yield* AgentSim.make({ version: "1.29.0" })
  const client = yield* connectClient(sim.address)
  yield* negotiate(client, "1.29.0")
  yield* subscribe(client, stealFiltered(80, { _tag: "Path", value: "^/(events|echo|broken)" }))
  const front = yield* sim.serveHttp(80)
  return { sim, client, url: `http://${front.host}:${front.port}` }
})

const nextStart = (client: TestClient) =>
  Effect.gen(function*() {
    const tcp = yield* Effect.flatMap(client.next(), (m) => tcpOf(m))
    if (tcp._tag !== "HttpRequestChunked" || tcp.value._tag !== "StartV2") return yield* Effect.fail(`expected StartV2, got ${tcp._tag}`)
    return tcp.value.value
  })

const chunked = (value: Tcp.ChunkedResponse) => steal({ _tag: "HttpResponseChunked", value })

describe("AgentSim HTTP front", () => {
  it.scopedLive("fetch gets a streaming (SSE-like) response: the first event arrives before the client finishes writing", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup
      const responseFiber = yield* Effect.fork(Effect.promise(() => fetch(`${url}/events`, { headers: { accept: "text/event-stream" } })))
      const start = yield* nextStart(client)
      expect(start.request).toMatchObject({ method: "GET", uri: "/events", version: "HTTP/1.1", body: { frames: [], is_last: true } })
      expect(start.request.headers.find(([n]) => n === "accept")?.[1].map(dec)).toEqual(["text/event-stream"])
      const ids = { connection_id: start.connection_id, request_id: start.request_id }
      yield* client.send(chunked({
        _tag: "Start",
        value: { port: 80, ...ids, internal_response: { status: 200, version: "HTTP/1.1", headers: headers(["content-type", "text/event-stream"]), body: [] } }
      }))
      yield* client.send(chunked({ _tag: "Body", value: { ...ids, frames: [{ _tag: "Data", value: enc("data: 1\n\n") }], is_last: false } }))
      const response = yield* Fiber.join(responseFiber)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/event-stream")
      const reader = response.body!.getReader()
      const first = yield* Effect.promise(() => reader.read())
      expect(dec(first.value!)).toBe("data: 1\n\n")
      // only now does the client write the rest
      yield* client.send(chunked({ _tag: "Body", value: { ...ids, frames: [{ _tag: "Data", value: enc("data: 2\n\n") }], is_last: true } }))
      let rest = ""
      for (;;) {
        const r = yield* Effect.promise(() => reader.read())
        if (r.done) break
        rest += dec(r.value)
      }
      expect(rest).toBe("data: 2\n\n")
      expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toEqual({ _tag: "Close", value: { connection_id: ids.connection_id } })
    }), 60_000)

  it.scopedLive("a POST body streams to the client, and the Framed response comes back", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup
      const responseFiber = yield* Effect.fork(Effect.promise(() =>
        fetch(`${url}/echo?q=1`, { method: "POST", body: "hello front", headers: { "content-type": "text/plain" } }).then((r) => r.text().then((text) => ({ status: r.status, text })))
      ))
      const start = yield* nextStart(client)
      expect(start.request).toMatchObject({ method: "POST", uri: "/echo?q=1" })
      expect(start.request.body.is_last).toBe(false)
      const ids = { connection_id: start.connection_id, request_id: start.request_id }
      let body = ""
      for (;;) {
        const tcp = yield* Effect.flatMap(client.next(), (m) => tcpOf(m))
        if (tcp._tag !== "HttpRequestChunked" || tcp.value._tag !== "Body") return yield* Effect.fail(`unexpected ${tcp._tag}`)
        for (const f of tcp.value.value.frames) if (f._tag === "Data") body += dec(f.value)
        if (tcp.value.value.is_last) break
      }
      expect(body).toBe("hello front")
      const answer = enc(`echo: ${body}`)
      yield* client.send(steal({
        _tag: "HttpResponseFramed",
        value: { port: 80, ...ids, internal_response: { status: 201, version: "HTTP/1.1", headers: headers(["content-length", String(answer.length)]), body: [{ _tag: "Data", value: answer }] } }
      }))
      expect(yield* Fiber.join(responseFiber)).toEqual({ status: 201, text: "echo: hello front" })
    }), 60_000)

  it.scopedLive("a response that fails mid-body destroys the HTTP connection; unmatched paths get the simulator's 404", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup
      const responseFiber = yield* Effect.fork(Effect.promise(() => fetch(`${url}/broken`)))
      const start = yield* nextStart(client)
      const ids = { connection_id: start.connection_id, request_id: start.request_id }
      yield* client.send(chunked({ _tag: "Start", value: { port: 80, ...ids, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [{ _tag: "Data", value: enc("part") }] } } }))
      const response = yield* Fiber.join(responseFiber)
      yield* client.send(chunked({ _tag: "Error", value: ids }))
      const text = yield* Effect.either(Effect.tryPromise(() => response.text()))
      expect(text._tag).toBe("Left")
      const notStolen = yield* Effect.promise(() => fetch(`${url}/elsewhere`).then((r) => r.status))
      expect(notStolen).toBe(404)
    }), 60_000)

  it.scopedLive("an HTTP client that goes away mid-response makes the simulator send Close", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup
      const abort = new AbortController()
      const responseFiber = yield* Effect.fork(Effect.promise(() => fetch(`${url}/events`, { signal: abort.signal })))
      const start = yield* nextStart(client)
      const ids = { connection_id: start.connection_id, request_id: start.request_id }
      yield* client.send(chunked({ _tag: "Start", value: { port: 80, ...ids, internal_response: { status: 200, version: "HTTP/1.1", headers: [], body: [{ _tag: "Data", value: enc("tick") }] } } }))
      const response = yield* Fiber.join(responseFiber)
      const reader = response.body!.getReader()
      expect(dec((yield* Effect.promise(() => reader.read())).value!)).toBe("tick")
      abort.abort()
      expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toEqual({ _tag: "Close", value: { connection_id: ids.connection_id } })
    }), 60_000)

  it.scopedLive("an unfiltered steal on a simulator older than 1.19.4: curl is told the request went to raw TCP, not that nobody subscribed", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.7.0" })
      const client = yield* connectClient(sim.address)
      yield* negotiate(client, "1.29.0")
      expect(yield* subscribe(client, stealAll(80))).toEqual({ _tag: "Ok", value: 80 })
      const front = yield* sim.serveHttp(80)
      const response = yield* Effect.promise(() => fetch(`http://${front.host}:${front.port}/anything`))
      const text = yield* Effect.promise(() => response.text())
      expect(response.status).toBe(404)
      expect(text).not.toContain("no mirrord client subscription")
      expect(text).toContain("agents before 1.19.4 pass unfiltered HTTP through as raw TCP")
      expect(text).toContain("effective protocol version is 1.7.0")
      // the client got nothing as HTTP; the connection is its as raw TCP
      expect(yield* client.nothingWithin(50)).toBe(true)
      const duplex = yield* sim.connect(80)
      expect(yield* Effect.flatMap(client.next(), (m) => tcpOf(m))).toMatchObject({
        _tag: "NewConnectionV1",
        value: { connection_id: duplex.connectionId, destination_port: 80 }
      })
    }), 60_000)

  it.scopedLive("the same steal from a 1.19.4 simulator is delivered as HTTP", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.19.4" })
      const client = yield* connectClient(sim.address)
      yield* negotiate(client, "1.29.0")
      yield* subscribe(client, stealAll(80))
      const front = yield* sim.serveHttp(80)
      const responseFiber = yield* Effect.fork(Effect.promise(() => fetch(`http://${front.host}:${front.port}/x`)))
      const tcp = yield* Effect.flatMap(client.next(), (m) => tcpOf(m))
      expect(tcp).toMatchObject({ _tag: "HttpRequestChunked", value: { _tag: "StartV2", value: { request: { uri: "/x" } } } })
      yield* Fiber.interrupt(responseFiber)
    }), 60_000)
})
