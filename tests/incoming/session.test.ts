/**
 * The proxy across agent connections, on real sockets: an agent-sim killed and restarted on the
 * same port (older protocol), requests in flight at the loss, a session that gives up, and the
 * single-connection layer stopping observably.
 */
import { NodeSocket } from "@effect/platform-node"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import { IncomingProxyError, SubscribeError } from "@mirrord-effect/incoming/IncomingError"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Chunk from "effect/Chunk"
import { ResponseEvent } from "@mirrord-effect/agent-sim"
import { waitUntil } from "./support/harness.js"
import { localAppHttp } from "./support/localApp.js"
import { buildProxy, get, localLayers, startSim } from "./support/simAgent.js"

const T = { timeout: 60_000 }
// Agents before 1.19.4 deliver HTTP only on filtered subscriptions: use a filter for every era.
const everything = { _tag: "Path", value: "^/" } as const

/** The proxy over the client's reconnecting `AgentSession` (node:net), retrying every 10–50 ms. */
const sessionProxy = (port: number, policy: { readonly attempts: number }) =>
  buildProxy(
    IncomingProxy.layerSession().pipe(
      Layer.provideMerge(NodeTransport.layerSession({
        address: { host: "127.0.0.1", port },
        reconnect: { initialDelay: 10, maxDelay: 50, maxAttempts: policy.attempts }
      })),
      Layer.provide(localLayers)
    )
  )

const stats = (proxy: IncomingProxy.IncomingProxyService) => Effect.runSync(proxy.stats)

describe("IncomingProxy.layerSession", () => {
  it.scopedLive("agent killed and restarted on the same port, older: re-subscribed for 1.7.0 and served again", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => res.end(`hello ${req.url}`))
      const first = yield* startSim("1.29.0")
      const port = first.sim.address.port
      const proxy = yield* sessionProxy(port, { attempts: 400 })
      yield* proxy.subscribe({ port: 80, mode: "steal", filter: everything, target: app.target })
      expect((yield* get(first.sim, 80, "/one")).text).toBe("hello /one")

      yield* first.kill
      const second = yield* startSim("1.7.0", port)
      const subscription = yield* second.sim.awaitSubscription(80, "steal")
      expect(subscription.filter).toEqual({ _tag: "Filter", filter: everything })
      yield* waitUntil(() => stats(proxy).subscriptions.every((s) => s.confirmed), 10_000, "the re-subscription to be confirmed")
      const again = yield* get(second.sim, 80, "/two")
      expect(again).toEqual({ text: "hello /two", variant: "HttpResponseFramed" })
      expect(yield* second.sim.undecodable()).toEqual([])
      expect(stats(proxy).attachments).toBe(2)
      expect(Option.isNone(yield* Fiber.poll(yield* Effect.fork(proxy.awaitFailure)))).toBe(true)
    }), T)

  it.scopedLive("agent restarted newer (1.7.0 → 1.29.0): responses follow the new connection's version", () =>
    Effect.gen(function*() {
      let endBody: (() => void) | undefined
      const app = yield* localAppHttp((req, res) => {
        if (req.url === "/whole") return void res.end("whole")
        // a streamed response: the body ends once the agent has the head (see below)
        res.write("head+")
        endBody = () => res.end("tail")
      })
      const first = yield* startSim("1.7.0")
      const port = first.sim.address.port
      const proxy = yield* sessionProxy(port, { attempts: 400 })
      yield* proxy.subscribe({ port: 80, mode: "steal", filter: everything, target: app.target })
      expect(yield* get(first.sim, 80, "/whole")).toEqual({ text: "whole", variant: "HttpResponseFramed" })

      yield* first.kill
      const second = yield* startSim("1.29.0", port)
      yield* second.sim.awaitSubscription(80, "steal")
      const events = yield* second.sim.request(80, { method: "GET", uri: "/streamed", headers: [["host", [Buffer.from("x")]]] }).pipe(
        Stream.tap((event) => Effect.sync(() => event._tag === "Head" && endBody?.())),
        Stream.runCollect
      )
      const head = Chunk.findFirst(events, (e) => e._tag === "Head")
      expect(head._tag === "Some" && head.value._tag === "Head" && head.value.variant).toBe("HttpResponseChunked")
      expect(ResponseEvent.textOf(events)).toBe("head+tail")
      expect(yield* second.sim.undecodable()).toEqual([])
    }), T)

  it.scopedLive("requests in flight at the loss end (local connection closed); nothing leaks into the next attachment", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => {
        if (req.url === "/hang") return // answers never: in flight when the agent dies
        res.end(`hello ${req.url}`)
      })
      const first = yield* startSim("1.29.0")
      const port = first.sim.address.port
      const proxy = yield* sessionProxy(port, { attempts: 400 })
      yield* proxy.subscribe({ port: 80, mode: "steal", target: app.target })
      const hanging = yield* Effect.fork(get(first.sim, 80, "/hang"))
      yield* waitUntil(() => app.accepted() === 1 && stats(proxy).gateways === 1, 10_000, "the request to reach the app")

      yield* first.kill
      expect(Exit.isFailure(yield* Fiber.await(hanging))).toBe(true)
      yield* waitUntil(() => app.open() === 0, 10_000, "the in-flight request's local connection to close")
      yield* waitUntil(() => {
        const s = stats(proxy)
        return s.gateways === 0 && s.relays === 0 && s.fibers === 0 && s.connections === 0
      }, 10_000, "nothing live after the loss")

      const second = yield* startSim("1.29.0", port)
      yield* second.sim.awaitSubscription(80, "steal")
      expect((yield* get(second.sim, 80, "/after")).text).toBe("hello /after")
      const s = stats(proxy)
      expect([s.attachments, s.subscriptions.length, s.subscriptions[0]?.handles]).toEqual([2, 1, 1])
    }), T)

  it.scopedLive("agent gone for good: awaitFailure fails with AgentGaveUp (cause GaveUp), subscribe with ProxyFailed", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("x"))
      const only = yield* startSim("1.29.0")
      const proxy = yield* sessionProxy(only.sim.address.port, { attempts: 3 })
      yield* proxy.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* only.kill
      const failure = yield* Effect.flip(proxy.awaitFailure)
      expect(failure).toBeInstanceOf(IncomingProxyError)
      expect(failure.reason).toBe("AgentGaveUp")
      expect(failure.cause).toMatchObject({ _tag: "AgentConnectionError", reason: "GaveUp" })
      expect(failure.message).toMatch(/^incoming proxy AgentGaveUp: agent connection GaveUp/)
      const later = yield* Effect.flip(proxy.subscribe({ port: 81, mode: "steal", target: app.target }))
      expect(later).toBeInstanceOf(SubscribeError)
      expect(later.reason).toBe("ProxyFailed")
    }), T)

  it.scopedLive("reconnect disabled: the first loss stops the proxy with AgentLost", () =>
    Effect.gen(function*() {
      const only = yield* startSim("1.29.0")
      const proxy = yield* buildProxy(
        IncomingProxy.layerSession().pipe(
          Layer.provideMerge(NodeTransport.layerSession({ address: only.sim.address, reconnect: false })),
          Layer.provide(localLayers)
        )
      )
      yield* only.kill
      const failure = yield* Effect.flip(proxy.awaitFailure)
      expect(failure.reason).toBe("AgentLost")
      expect(failure.cause).toMatchObject({ _tag: "AgentConnectionError" })
    }), T)
})

describe("IncomingProxy.layer (one connection, no reconnect)", () => {
  it.scopedLive("the agent dies: awaitFailure fails with AgentLost instead of serving nothing forever", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("x"))
      const only = yield* startSim("1.29.0")
      const agent = AgentConnection.layer({ address: only.sim.address }).pipe(
        Layer.provide(AgentConnection.layerSocketConnector(NodeSocket.makeNet))
      )
      const proxy = yield* buildProxy(IncomingProxy.layer().pipe(Layer.provideMerge(agent), Layer.provide(localLayers)))
      yield* proxy.subscribe({ port: 80, mode: "steal", target: app.target })
      expect((yield* get(only.sim, 80, "/")).text).toBe("x")
      yield* only.kill
      const failure = yield* Effect.flip(proxy.awaitFailure)
      expect(failure.reason).toBe("AgentLost")
      expect(failure.cause).toMatchObject({ _tag: "AgentConnectionError" })
      // the accessor form, as a program waits on it
      const viaAccessor = yield* Effect.flip(IncomingProxy.awaitFailure.pipe(Effect.provideService(IncomingProxy.IncomingProxy, proxy)))
      expect(viaAccessor).toBe(failure)
      expect(stats(proxy).attached).toBe(false)
    }), T)
})

