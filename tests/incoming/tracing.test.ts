/**
 * The request span: recorded when a tracer other than Effect's default is installed, skipped
 * otherwise (it would cost tens of µs per request for nobody).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { bench, collectResponse, stealMsg, startV2 } from "./support/harness.js"
import { localAppHttp } from "./support/localApp.js"

describe("IncomingProxy.request span", () => {
  it.scopedLive("an installed tracer sees one IncomingProxy.request span per request, with its ids", () =>
    Effect.gen(function*() {
      const base = yield* Effect.tracer
      const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const recording = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          spans.push({ name: args[0], attributes: span.attributes })
          return span
        },
        context: base.context
      })
      const app = yield* localAppHttp((_req, res) => res.end("ok"))
      const b = yield* bench().pipe(Effect.withTracer(recording))
      yield* b.subscribe({ port: 80, mode: "steal", target: app.target })
      yield* b.agent.send(stealMsg(startV2({ port: 80, conn: 7n })))
      yield* collectResponse(b.agent)
      const requestSpans = spans.filter((s) => s.name === "IncomingProxy.request")
      expect(requestSpans).toHaveLength(1)
      expect(requestSpans[0]!.attributes.get("mirrord.connection_id")).toBe("7")
      expect(requestSpans[0]!.attributes.get("mirrord.mode")).toBe("steal")
    }), { timeout: 60_000 })
})
