/**
 * `@mirrord-effect/node`'s one-call layer on real sockets: every service it promises, served
 * traffic, the status stream across an agent restart (older protocol on the way back), give-up
 * and `reconnect: false`.
 */
import { describe, expect, it } from "@effect/vitest"
import { AgentSession } from "@mirrord-effect/client/AgentSession"
import type { SessionStatus } from "@mirrord-effect/client/AgentSession"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import { LocalHttp } from "@mirrord-effect/incoming/LocalHttp"
import { LocalTcp } from "@mirrord-effect/incoming/LocalTcp"
import { IncomingStack } from "@mirrord-effect/node"
import { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { localAppHttp } from "../incoming/support/localApp.js"
import { get, startSim } from "../incoming/support/simAgent.js"

const T = { timeout: 60_000 }
const fast = { initialDelay: 10, maxDelay: 50 }
const everything = { _tag: "Path", value: "^/" } as const

describe("IncomingStack.layer", () => {
  it.scopedLive("provides the whole stack; served, restarted older, served again; status tells the story", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => res.end(`app ${req.url}`))
      const first = yield* startSim("1.29.0")
      const context = yield* Layer.build(IncomingStack.layer({ agent: first.sim.address, reconnect: { ...fast, maxAttempts: 400 } }))
      const proxy = Context.get(context, IncomingProxy.IncomingProxy)
      const session = Context.get(context, AgentSession)
      const version = Context.get(context, ProtocolVersion)
      expect(Context.getOption(context, LocalHttp)._tag).toBe("Some")
      expect(Context.getOption(context, LocalTcp)._tag).toBe("Some")
      expect(Option.map(yield* SubscriptionRef.get(version), Version.format)).toEqual(Option.some("1.29.0"))

      const seen: Array<SessionStatus["_tag"]> = []
      yield* session.status.pipe(Stream.runForEach((s) => Effect.sync(() => seen.push(s._tag))), Effect.forkScoped)
      yield* proxy.subscribe({ port: 80, mode: "steal", filter: everything, target: app.target })
      expect((yield* get(first.sim, 80, "/a")).text).toBe("app /a")

      yield* first.kill
      const second = yield* startSim("1.8.0", first.sim.address.port)
      yield* second.sim.awaitSubscription(80, "steal")
      expect(yield* get(second.sim, 80, "/b")).toEqual({ text: "app /b", variant: "HttpResponseFramed" })
      expect(Option.map(yield* SubscriptionRef.get(version), Version.format)).toEqual(Option.some("1.8.0"))
      expect(seen).toContain("Reconnecting")
      expect(seen.at(-1)).toBe("Connected")
    }), T)

  it.scopedLive("gone for good: awaitFailure is AgentGaveUp; reconnect false: AgentLost", () =>
    Effect.gen(function*() {
      for (const [reconnect, reason] of [[{ ...fast, maxAttempts: 2 }, "AgentGaveUp"], [false, "AgentLost"]] as const) {
        const sim = yield* startSim("1.29.0")
        const failure = yield* IncomingProxy.awaitFailure.pipe(
          Effect.zipLeft(sim.kill, { concurrent: true }),
          Effect.provide(IncomingStack.layer({ agent: sim.sim.address, reconnect })),
          Effect.flip
        )
        expect(failure.reason).toBe(reason)
      }
    }), T)
})
