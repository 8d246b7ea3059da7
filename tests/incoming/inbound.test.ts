/**
 * `Inbound` (internal/localHttpInbound.ts), the one boundary where socket callbacks meet the
 * data plane, tested directly: drain semantics, the single wake-up, and the pause/resume marks
 * that carry backpressure to the local app's socket.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { Inbound } from "../../packages/incoming/src/internal/localHttpInbound.js"

const make = (highWaterMark: number) => {
  const flow = { paused: 0, resumed: 0 }
  const inbound = new Inbound<string, string>({
    pause: () => void flow.paused++,
    resume: () => void flow.resumed++
  }, highWaterMark)
  return { inbound, flow }
}

describe("Inbound (socket-fed batch source)", () => {
  it("drain takes at most `max` items, in order, and reports End only once everything is out", () => {
    const { inbound } = make(100)
    inbound.push("a", 1)
    inbound.push("b", 1)
    inbound.push("c", 1)
    inbound.end()
    const into: Array<string> = []
    expect(inbound.drain(into, 2)._tag).toBe("Open")
    expect(into).toEqual(["a", "b"])
    expect(inbound.drain(into, 2)._tag).toBe("End")
    expect(into).toEqual(["a", "b", "c"])
    expect(inbound.drain(into, 2)._tag).toBe("End")
  })

  it("a failure comes after the items received before it", () => {
    const { inbound } = make(100)
    inbound.push("a", 1)
    inbound.fail("boom")
    inbound.push("late", 1) // ignored: the body has ended
    const into: Array<string> = []
    expect(inbound.drain(into, 10)).toEqual({ _tag: "Fail", error: "boom" })
    expect(into).toEqual(["a"])
  })

  it("pauses above the high-water mark, resumes once drained to half of it", () => {
    const { flow, inbound } = make(10)
    inbound.push("a", 6)
    expect(flow.paused).toBe(0)
    inbound.push("b", 6) // 12 > 10
    expect(flow.paused).toBe(1)
    inbound.push("c", 6)
    expect(flow.paused).toBe(1) // once
    const into: Array<string> = []
    inbound.drain(into, 1) // 12 left: still above half
    expect(flow.resumed).toBe(0)
    inbound.drain(into, 1) // 6 left: still above 5
    expect(flow.resumed).toBe(0)
    inbound.drain(into, 1) // 0 left
    expect(flow.resumed).toBe(1)
  })

  it.effect("ready completes at once when something is there, else on the next push, end or failure", () =>
    Effect.gen(function*() {
      for (const finish of ["push", "end", "fail"] as const) {
        const { inbound } = make(100)
        const waiting = yield* Effect.fork(inbound.ready)
        yield* Effect.yieldNow()
        expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
        if (finish === "push") inbound.push("x", 1)
        else if (finish === "end") inbound.end()
        else inbound.fail("boom")
        yield* Fiber.join(waiting)
        // and now without waiting
        yield* inbound.ready
      }
    }))

  it.effect("take waits for the next item, resuming a paused source as it empties", () =>
    Effect.gen(function*() {
      const { flow, inbound } = make(1)
      inbound.push("a", 2)
      expect(flow.paused).toBe(1)
      expect(yield* inbound.take).toBe("a")
      expect(flow.resumed).toBe(1)
      const waiting = yield* Effect.fork(inbound.take)
      yield* Effect.yieldNow()
      inbound.push("b", 1)
      expect(yield* Fiber.join(waiting)).toBe("b")
    }))

  it.effect("the Stream view yields the same items, then the end", () =>
    Effect.gen(function*() {
      const { inbound } = make(100)
      inbound.push("a", 1)
      inbound.push("b", 1)
      inbound.end()
      const all: Array<string> = []
      for (;;) {
        const next = yield* Effect.option(inbound.take)
        if (Option.isNone(next)) break
        all.push(next.value)
      }
      expect(all).toEqual(["a", "b"])
    }))
})
