/**
 * A filter nested beyond the codec's depth limit (issue 11 part 5) fails its `subscribe` call with
 * a typed `SubscribeError` (`FilterUnencodable`) — never a throw or a stack overflow — nothing is
 * sent for it, and the proxy keeps serving the other subscriptions.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import { SubscribeError } from "@mirrord-effect/incoming/IncomingError"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as Subscription from "@mirrord-effect/incoming/Subscription"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { localAppHttp } from "./support/localApp.js"
import { buildProxy, get, localLayers, startSim } from "./support/simAgent.js"

/** `levels` Composites around a Path filter, built without recursion. */
const nested = (levels: number): HttpFilter => {
  let filter: HttpFilter = { _tag: "Path", value: "^/" }
  for (let i = 0; i < levels; i++) filter = { _tag: "Composite", all: true, filters: [filter] }
  return filter
}

const target = { host: "127.0.0.1", port: 1 }
const v129 = Option.some(Version.unsafeParseVersion("1.29.0"))

describe("subscribe with a filter nested beyond the depth limit", () => {
  it("subscribeMessage: the limit itself is accepted, one more level is FilterUnencodable", () => {
    const atLimit = Subscription.subscribeMessage({ port: 80, mode: "steal", filter: nested(Codec.defaultMaxDepth), target }, v129)
    expect(Either.isRight(atLimit)).toBe(true)
    for (const levels of [Codec.defaultMaxDepth + 1, 100_000]) {
      const beyond = Subscription.subscribeMessage({ port: 80, mode: "steal", filter: nested(levels), target }, v129)
      expect(Either.isLeft(beyond) && beyond.left.reason).toBe("FilterUnencodable")
    }
  })

  it.scopedLive("against agent-sim: the deep filter fails its call only; port 80 keeps serving", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((req, res) => res.end(`hello ${req.url}`))
      const agent = yield* startSim("1.29.0")
      const proxy = yield* buildProxy(
        IncomingProxy.layerSession().pipe(
          Layer.provideMerge(NodeTransport.layerSession({ address: agent.sim.address })),
          Layer.provide(localLayers)
        )
      )
      yield* proxy.subscribe({ port: 80, mode: "steal", target: app.target })
      const refused = yield* Effect.flip(
        proxy.subscribe({ port: 81, mode: "steal", filter: nested(10_000), target: app.target })
      )
      expect(refused).toBeInstanceOf(SubscribeError)
      expect(refused.reason).toBe("FilterUnencodable")
      expect(refused.detail).toContain("10000 levels")
      expect((yield* get(agent.sim, 80, "/still")).text).toBe("hello /still")
      expect((yield* proxy.stats).subscriptions.map((s) => s.port)).toEqual([80])
    }), { timeout: 60_000 })
})
