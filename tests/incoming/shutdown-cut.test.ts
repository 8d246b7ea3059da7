/**
 * The whole stack shut down with a Chunked response in flight: closing it (the layer's scope,
 * as steal's Ctrl-C does) detaches the proxy first, whose cut (ChunkedResponse::Error) must
 * still reach the agent although the connection
 * closes right after, in the same tick. Real sockets: agent-sim as the agent (recording what
 * reaches it), `IncomingStack.layer` / steal's own composition, a raw local app that never
 * finishes its body.
 */
import { describe, expect, it } from "@effect/vitest"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type { ResponseEvent } from "@mirrord-effect/agent-sim/ResponseEvent"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import { IncomingStack } from "@mirrord-effect/node"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import { localAppRaw, readUntil } from "./support/localApp.js"
import { awaitSent } from "./support/responseRecord.js"

const T = 30_000

/** Answers with a Chunked head and a first chunk, then never finishes the body. */
const halfAnsweringApp = localAppRaw((socket: net.Socket) => {
  void readUntil(socket, (b) => b.includes("\r\n\r\n")).then(() => {
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\npartial\r\n")
  })
})

type Stack = Layer.Layer<IncomingProxy.IncomingProxy, unknown>

const stacks: ReadonlyArray<readonly [string, (agent: AgentSim.AgentSim["address"]) => Stack]> = [
  ["IncomingStack.layer", (agent) => IncomingStack.layer({ agent, reconnect: false })],
  [
    "steal's composition (IncomingProxy.layerSession over NodeTransport.layerSession)",
    (agent) =>
      IncomingProxy.layerSession().pipe(
        Layer.provideMerge(NodeTransport.layerSession({ address: agent, reconnect: false })),
        Layer.provide(Layer.merge(LocalHttp.layer(), LocalTcp.layer()))
      )
  ]
]

describe("shutting the stack down with a Chunked response in flight (agent-sim 1.29.0)", () => {
  for (const [name, stackFor] of stacks) {
    it.scopedLive(`${name}: Start, then Error reach the agent`, () =>
      Effect.gen(function*() {
        const app = yield* halfAnsweringApp
        const sim = yield* AgentSim.make({ version: "1.29.0", record: true })
        const stackScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const context = yield* Layer.buildWithScope(stackFor(sim.address), stackScope)
        const proxy = Context.get(context, IncomingProxy.IncomingProxy)
        yield* proxy.subscribe({ port: 80, mode: "steal", target: { host: "127.0.0.1", port: app.port } })
        yield* sim.awaitSubscription(80, "steal")

        const head = yield* Deferred.make<Extract<ResponseEvent, { _tag: "Head" }>>()
        const events = yield* sim.request(80, { method: "GET", uri: "/stream" }).pipe(
          Stream.tap((e) => (e._tag === "Head" ? Deferred.succeed(head, e) : Effect.void)),
          Stream.runCollect,
          Effect.either,
          Effect.fork
        )
        const { connectionId, variant } = yield* Deferred.await(head)
        expect(variant).toBe("HttpResponseChunked")

        // the whole stack goes, connection included, with the body still open
        yield* Scope.close(stackScope, Exit.void)
        const received = yield* awaitSent(sim, connectionId, 2)
        expect(received).toEqual(["Start", "Error"])
        // the client's response is cut, never ended cleanly
        const result = yield* Fiber.join(events)
        const ended = result._tag === "Right" ? [...result.right].map((e) => e._tag) : ["failed"]
        expect(ended).not.toContain("End")
      }), T)
  }
})
