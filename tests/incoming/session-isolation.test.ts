/**
 * Failure isolation: a subscription the agent refuses fails that `subscribe` call only, with the
 * agent's own reason, and every other subscription keeps serving; only a broken agent
 * connection ends the attachment.
 */
import { SubscribeError } from "@mirrord-effect/incoming/IncomingError"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import type { DaemonMessage, ResponseError } from "@mirrord-effect/protocol/Message"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { bench, collectResponse, describe as d, isSubscribe, onChannel, startV2, stealMsg, subscribeOk, waitUntil } from "./support/harness.js"
import { localAppHttp } from "./support/localApp.js"
import { buildProxy, get, localLayers, startSim } from "./support/simAgent.js"

const T = { timeout: 60_000 }
const target = { host: "127.0.0.1", port: 1 }

const refusal = (mode: "steal" | "mirror", value: ResponseError): DaemonMessage =>
  onChannel(mode, { _tag: "SubscribeResult", value: { _tag: "Err", value } })

describe("failure isolation against agent-sim", () => {
  it.scopedLive("port 80 serving, port 81 with path filter `(` refused with the agent's regex message, port 80 still serves", () =>
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
      expect((yield* get(agent.sim, 80, "/before")).text).toBe("hello /before")

      const refused = yield* Effect.flip(
        proxy.subscribe({ port: 81, mode: "steal", filter: { _tag: "Path", value: "(" }, target: app.target })
      )
      expect(refused).toBeInstanceOf(SubscribeError)
      expect(refused.reason).toBe("Refused")
      expect(refused.port).toBe(81)
      // the agent's own words: the filter it could not compile and its regex error
      expect(refused.detail).toMatch(/^the agent cannot compile the HTTP filter Path\("\("\): .*(regular expression|group)/i)
      expect(refused.cause).toMatchObject({ _tag: "Remote", value: { _tag: "BadHttpFilterExRegex" } })

      expect((yield* get(agent.sim, 80, "/after")).text).toBe("hello /after")
      const stats = yield* proxy.stats
      expect(stats.attached).toBe(true)
      expect(stats.attachments).toBe(1)
      expect(stats.subscriptions.map((s) => [s.port, s.confirmed])).toEqual([[80, true]])
      expect(Option.isNone(yield* Fiber.poll(yield* Effect.fork(proxy.awaitFailure)))).toBe(true)
      // the port is free again: a valid filter on 81 is accepted
      yield* proxy.subscribe({ port: 81, mode: "steal", filter: { _tag: "Path", value: "^/ok" }, target: app.target })
      expect((yield* get(agent.sim, 81, "/ok")).text).toBe("hello /ok")
    }), T)
})

describe("attributing refusals (scripted agent)", () => {
  it.scopedLive("a refusal naming no port fails the oldest pending subscription on its own channel only", () =>
    Effect.gen(function*() {
      const b = yield* bench()
      const steal80 = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "steal", target }))
      expect(isSubscribe(yield* b.agent.next())).toBe(true)
      const mirror81 = yield* Effect.fork(b.proxy.subscribe({ port: 81, mode: "mirror", target }))
      expect(isSubscribe(yield* b.agent.next())).toBe(true)
      const steal82 = yield* Effect.fork(b.proxy.subscribe({ port: 82, mode: "steal", target }))
      expect(isSubscribe(yield* b.agent.next())).toBe(true)

      // on the mirror channel: it can only answer 81, though 80 was sent first
      yield* b.agent.send(refusal("mirror", { _tag: "SystemFailure", can_retry: false, code: 7, message: "sniffer is down" }))
      const mirrorError = yield* Effect.flip(Fiber.join(mirror81))
      expect(mirrorError.reason).toBe("Refused")
      expect(mirrorError.detail).toBe("the agent failed (code 7): sniffer is down")
      // on the steal channel: the oldest pending steal subscription (80)
      yield* b.agent.send(refusal("steal", { _tag: "NotImplemented" }))
      const stealError = yield* Effect.flip(Fiber.join(steal80))
      expect([stealError.port, stealError.reason]).toEqual([80, "Refused"])
      yield* b.agent.send(subscribeOk("steal", 82))
      expect((yield* Fiber.join(steal82)).port).toBe(82)
      // the attachment is untouched
      expect(Option.isNone(yield* Fiber.poll(b.attachFiber))).toBe(true)
      expect((yield* b.proxy.stats).subscriptions.map((s) => s.port)).toEqual([82])
    }), T)

  it.scopedLive("a regex refusal is matched by the filter the agent names, even when it is not the oldest pending", () =>
    Effect.gen(function*() {
      const app = yield* localAppHttp((_req, res) => res.end("fine"))
      const b = yield* bench()
      const good = yield* Effect.fork(b.proxy.subscribe({ port: 80, mode: "steal", filter: { _tag: "Path", value: "^/" }, target: app.target }))
      yield* b.agent.next()
      const bad = { _tag: "Composite", all: true, filters: [{ _tag: "Header", value: "x: 1" }, { _tag: "Path", value: "[" }] } as const
      const refused = yield* Effect.fork(b.proxy.subscribe({ port: 81, mode: "steal", filter: bad, target: app.target }))
      yield* b.agent.next()
      yield* b.agent.send(refusal("steal", { _tag: "Remote", value: { _tag: "BadHttpFilterExRegex", values: [bad, "regex parse error: unclosed character class"] } }))
      const error = yield* Effect.flip(Fiber.join(refused))
      expect(error.port).toBe(81)
      expect(error.detail).toBe(
        `the agent cannot compile the HTTP filter all(Header("x: 1"), Path("[")): regex parse error: unclosed character class`
      )
      yield* b.agent.send(subscribeOk("steal", 80))
      yield* Fiber.join(good)
      yield* b.agent.send(stealMsg(startV2({ port: 80 })))
      expect((yield* collectResponse(b.agent)).map(d)).toEqual(["HttpResponseFramed 200"])
    }), T)

  it.scopedLive("a refusal for a subscription confirmed on an earlier connection is logged, the others keep serving", () =>
    Effect.gen(function*() {
      const b = yield* bench()
      yield* b.subscribe({ port: 80, mode: "steal", target })
      yield* b.subscribe({ port: 81, mode: "steal", target })
      yield* b.reconnect()
      yield* b.agent.next()
      yield* b.agent.next()
      yield* b.agent.send(refusal("steal", { _tag: "PortAlreadyStolen", value: 81 }))
      yield* b.agent.send(subscribeOk("steal", 80))
      yield* waitUntil(() => {
        const s = Effect.runSync(b.proxy.stats).subscriptions
        return s.length === 1 && s[0]!.port === 80 && s[0]!.confirmed
      }, 10_000, "81 to be dropped and 80 confirmed")
      expect(Option.isNone(yield* Fiber.poll(b.attachFiber))).toBe(true)
    }), T)
})
