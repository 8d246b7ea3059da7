/**
 * Agent simulators that a test can kill and restart on the same port, and the incoming stack
 * (IncomingProxy + LocalHttp + LocalTcp) built over an agent layer.
 */
import { AgentSim } from "@mirrord-effect/agent-sim"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import { ResponseEvent } from "@mirrord-effect/agent-sim"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export interface KillableSim {
  readonly sim: AgentSim.AgentSim
  /** Closes every client connection and the listener (an agent that died). */
  readonly kill: Effect.Effect<void>
}

/** A simulator in its own scope (also closed with the test's scope). */
export const startSim = (version: string, port = 0): Effect.Effect<KillableSim, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const sim = yield* AgentSim.make({ version, listen: { port } }).pipe(Scope.extend(scope), Effect.orDie)
    return { sim, kill: Scope.close(scope, Exit.void) }
  })

/** The proxy of `layer(agent)` built in the test's scope. */
export const buildProxy = <E, R>(
  layer: Layer.Layer<IncomingProxy.IncomingProxy, E, R>
): Effect.Effect<IncomingProxy.IncomingProxyService, E, Scope.Scope | R> =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, IncomingProxy.IncomingProxy))

export const localLayers = Layer.merge(LocalHttp.layer(), LocalTcp.layer())

const host: readonly [string, ReadonlyArray<Uint8Array>] = ["host", [Buffer.from("example.com")]]

/** A GET through the simulator: the response text and the variant of its head. */
export const get = (sim: AgentSim.AgentSim, port: number, uri: string) =>
  Effect.map(Stream.runCollect(sim.request(port, { method: "GET", uri, headers: [host] })), (events) => {
    const head = Chunk.findFirst(events, (e) => e._tag === "Head")
    return {
      text: ResponseEvent.textOf(events),
      variant: head._tag === "Some" && head.value._tag === "Head" ? head.value.variant : undefined
    }
  })
