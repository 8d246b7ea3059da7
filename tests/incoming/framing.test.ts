/**
 * The pure parts: the framing stage (ResponseFraming: the description, the fused loop checked
 * against it, the Stream view) and the subscription message rule with its filter version gates
 * (Subscription.subscribeMessage).
 */
import { describe, expect, it } from "@effect/vitest"
import * as ResponseFraming from "@mirrord-effect/incoming/ResponseFraming"
import * as Subscription from "@mirrord-effect/incoming/Subscription"
import type { ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { BodyFrame, HttpFilter, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { bytes, data, headers } from "./support/harness.js"

const ids = { port: 80, connection_id: 3n, request_id: 1 }
const head = { status: 200, version: "HTTP/1.1", headers: headers({ "content-type": "text/plain" }) } as const
const trailers: BodyFrame = { _tag: "Trailers", value: headers({ "grpc-status": "0" }) }
const run = <E>(s: Stream.Stream<unknown, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

describe("ResponseFraming.frame", () => {
  it.effect("Basic: one HttpResponse, Data concatenated, trailers dropped", () =>
    Effect.gen(function*() {
      const out = yield* run(ResponseFraming.frame("Basic", ids, head, Stream.make(data("ab"), data("c"), trailers)))
      expect(out).toEqual([{
        _tag: "HttpResponse",
        value: { ...ids, internal_response: { ...head, body: bytes("abc") } }
      }])
    }))

  it.effect("Framed: one HttpResponseFramed, trailers kept", () =>
    Effect.gen(function*() {
      const out = yield* run(ResponseFraming.frame("Framed", ids, head, Stream.make(data("ab"), trailers)))
      expect(out).toEqual([{
        _tag: "HttpResponseFramed",
        value: { ...ids, internal_response: { ...head, body: [data("ab"), trailers] } }
      }])
    }))

  it.effect("Chunked, body complete at the head: a single HttpResponseFramed", () =>
    Effect.gen(function*() {
      const out = yield* run(ResponseFraming.frame("Chunked", ids, head, Stream.make(data("x"), trailers)))
      expect(out).toEqual([{
        _tag: "HttpResponseFramed",
        value: { ...ids, internal_response: { ...head, body: [data("x"), trailers] } }
      }])
    }))

  it.live("Chunked, open body: Start with the ready frames, Body batches, is_last", () =>
    Effect.gen(function*() {
      const q = yield* Queue.unbounded<BodyFrame | null>()
      yield* Queue.offerAll(q, [data("a"), data("b")])
      const body = Stream.fromQueue(q).pipe(Stream.takeWhile((f): f is BodyFrame => f !== null))
      const pull = yield* Stream.toPull(ResponseFraming.frame("Chunked", ids, head, body))
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([{
        _tag: "HttpResponseChunked",
        value: { _tag: "Start", value: { ...ids, internal_response: { ...head, body: [data("a"), data("b")] } } }
      }])
      yield* Queue.offerAll(q, [data("c"), trailers, null])
      const rest: Array<unknown> = []
      for (;;) {
        const next = yield* Effect.option(pull)
        if (Option.isNone(next)) break
        rest.push(...next.value)
      }
      const frames = rest.flatMap((m: any) => m.value.value.frames)
      expect(frames).toEqual([data("c"), trailers])
      expect((rest[rest.length - 1] as any).value.value.is_last).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("a failure before any message surfaces (so the gateway can answer 502)", () =>
    Effect.gen(function*() {
      for (const mode of ["Basic", "Framed", "Chunked"] as const) {
        const result = yield* Effect.either(run(ResponseFraming.frame(mode, ids, head, Stream.concat(Stream.make(data("a")), Stream.fail("boom")))))
        expect(result).toEqual(Either.left("boom"))
      }
    }))

  it.live("Chunked, a failure after Start becomes the cut: ChunkedResponse::Error", () =>
    Effect.gen(function*() {
      const q = yield* Queue.unbounded<BodyFrame | "fail">()
      yield* Queue.offer(q, data("a"))
      const body = Stream.fromQueue(q).pipe(
        Stream.mapEffect((f) => (f === "fail" ? Effect.fail("boom") : Effect.succeed(f)))
      )
      const pull = yield* Stream.toPull(ResponseFraming.frame("Chunked", ids, head, body))
      const first = Chunk.toReadonlyArray(yield* pull)
      expect(first.map((m: any) => m.value._tag)).toEqual(["Start"])
      // the failure comes only once Start is out
      yield* Queue.offer(q, "fail")
      const rest: Array<unknown> = []
      for (;;) {
        const next = yield* Effect.option(pull)
        if (Option.isNone(next)) break
        rest.push(...next.value)
      }
      expect(rest).toEqual([
        { _tag: "HttpResponseChunked", value: { _tag: "Error", value: { connection_id: 3n, request_id: 1 } } }
      ])
      expect(ResponseFraming.cutMessages(ids)).toEqual(rest)
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------
// the fused loop (respond) against the pure description (describe)

type Outcome = "End" | "Fail"
interface Case {
  readonly mode: ResponseMode
  readonly readyFrames: number
  /** the looks: frames per look; the final state comes with the last look */
  readonly looks: ReadonlyArray<ReadonlyArray<BodyFrame>>
  readonly outcome: Outcome
}

const frameArb: FastCheck.Arbitrary<BodyFrame> = FastCheck.uint8Array({ minLength: 0, maxLength: 6 }).map((value) => ({
  _tag: "Data",
  value
}))
const caseArb: FastCheck.Arbitrary<Case> = FastCheck.record({
  mode: FastCheck.constantFrom<ResponseMode>("Basic", "Framed", "Chunked"),
  readyFrames: FastCheck.integer({ min: 1, max: 5 }),
  first: FastCheck.array(frameArb, { maxLength: 7 }),
  later: FastCheck.array(FastCheck.array(frameArb, { minLength: 1, maxLength: 7 }), { maxLength: 5 }),
  lastEmpty: FastCheck.boolean(),
  withTrailers: FastCheck.boolean(),
  outcome: FastCheck.constantFrom<Outcome>("End", "Fail")
}).map(({ first, later, lastEmpty, mode, outcome, readyFrames, withTrailers }) => {
  const looks = [first, ...later].map((l) => [...l])
  if (lastEmpty && looks.length > 1) looks.push([])
  // trailers come last in a body, with the last frames
  if (withTrailers && outcome === "End") looks[looks.length - 1]!.push(trailers)
  return { mode, readyFrames, looks, outcome }
})

const bodyLooks = (c: Case): Array<ResponseFraming.BodyLook<string>> =>
  c.looks.map((frames, i) => ({
    frames,
    state: i < c.looks.length - 1 ? { _tag: "Open" } : c.outcome === "End" ? { _tag: "End" } : { _tag: "Fail", error: "boom" }
  }))

/**
 * A body source that hands out the next look only when the loop waits for one (its `ready`
 * found nothing): the looks the loop takes are exactly the scripted ones.
 */
const scriptedSource = (c: Case): ResponseFraming.BodySource<string> => {
  const looks = bodyLooks(c)
  let next = 0
  let buffer: Array<BodyFrame> = []
  let state: ResponseFraming.BodyLook<string>["state"] = { _tag: "Open" }
  const deliver = () => {
    const look = looks[next++]!
    buffer = [...buffer, ...look.frames]
    state = look.state
  }
  deliver() // what was ready when the head arrived
  return {
    drain: (into, max) => {
      const taken = buffer.splice(0, max)
      into.push(...taken)
      return buffer.length > 0 ? { _tag: "Open" } : state
    },
    ready: Effect.suspend(() => {
      if (buffer.length > 0 || state._tag !== "Open") return Effect.void
      // later, as a real source would be: after the loop has suspended
      return Effect.zipRight(Effect.yieldNow(), Effect.sync(deliver))
    })
  }
}

const respondAll = (c: Case, source: ResponseFraming.BodySource<string>, sendYields: () => number) =>
  Effect.gen(function*() {
    const sent: Array<LayerTcpSteal> = []
    const send = (m: LayerTcpSteal) =>
      Effect.gen(function*() {
        sent.push(m)
        // a slow agent: the send returns later
        for (let i = sendYields(); i > 0; i--) yield* Effect.yieldNow()
      })
    const exit = yield* Effect.either(
      ResponseFraming.respond(c.mode, ids, head, source, send, { readyFrames: c.readyFrames })
    )
    return { sent, exit }
  })

/** Data of all frames concatenated, and the trailers (the body modulo how it was batched). */
const flatten = (frames: ReadonlyArray<BodyFrame>) => ({
  data: Buffer.concat(frames.flatMap((f) => (f._tag === "Data" ? [f.value] : []))).toString("hex"),
  trailers: frames.filter((f) => f._tag === "Trailers")
})

/**
 * The normal form of what was sent, modulo batching: the frames carried (in order), and how the
 * response ended. It also checks the structure every mode must have, and fails on anything else:
 * Basic/Framed one message; Chunked one Framed (at most `readyFrames` frames), or Start, Body
 * messages with frames and no is_last, then a Body with is_last or the cut; no message carries
 * more than `readyFrames` frames.
 */
const normalForm = (c: Case, sent: ReadonlyArray<LayerTcpSteal>) => {
  const frames: Array<BodyFrame> = []
  if (c.mode !== "Chunked") {
    expect(sent).toHaveLength(1)
    const m = sent[0]!
    if (c.mode === "Basic") {
      expect(m._tag).toBe("HttpResponse")
      if (m._tag === "HttpResponse") frames.push({ _tag: "Data", value: m.value.internal_response.body })
    } else {
      expect(m._tag).toBe("HttpResponseFramed")
      if (m._tag === "HttpResponseFramed") frames.push(...m.value.internal_response.body)
    }
    return { ...flatten(frames), end: "End" as const }
  }
  const first = sent[0]!
  if (first._tag === "HttpResponseFramed") {
    expect(sent).toHaveLength(1)
    expect(first.value.internal_response.body.length).toBeLessThanOrEqual(c.readyFrames)
    return { ...flatten(first.value.internal_response.body), end: "End" as const }
  }
  expect(first._tag === "HttpResponseChunked" && first.value._tag === "Start").toBe(true)
  if (first._tag === "HttpResponseChunked" && first.value._tag === "Start") {
    expect(first.value.value.internal_response.body.length).toBeLessThanOrEqual(c.readyFrames)
    frames.push(...first.value.value.internal_response.body)
  }
  for (let i = 1; i < sent.length; i++) {
    const m = sent[i]!
    if (m._tag === "HttpResponseChunked" && m.value._tag === "Error") {
      expect(sent.slice(i)).toEqual(ResponseFraming.cutMessages(ids))
      return { ...flatten(frames), end: "Cut" as const }
    }
    expect(m._tag === "HttpResponseChunked" && m.value._tag === "Body").toBe(true)
    if (m._tag === "HttpResponseChunked" && m.value._tag === "Body") {
      const body = m.value.value
      expect(body.frames.length).toBeLessThanOrEqual(c.readyFrames)
      frames.push(...body.frames)
      if (body.is_last) {
        expect(i).toBe(sent.length - 1)
        return { ...flatten(frames), end: "End" as const }
      }
      expect(body.frames.length).toBeGreaterThan(0)
    }
  }
  throw new Error("a Chunked response that never ends")
}

describe("ResponseFraming.respond (the fused loop) does what ResponseFraming.describe specifies", () => {
  it("the same looks give exactly the described messages (random bodies, batches, modes, slow sends)", () =>
    FastCheck.assert(
      FastCheck.asyncProperty(caseArb, FastCheck.integer({ min: 0, max: 3 }), (c, yields) =>
        Effect.runPromise(Effect.gen(function*() {
          const described = ResponseFraming.describe(c.mode, ids, head, bodyLooks(c), { readyFrames: c.readyFrames })
          const { exit, sent } = yield* respondAll(c, scriptedSource(c), () => yields)
          if (described._tag === "FailedBeforeSending") {
            expect(sent).toEqual([])
            expect(exit).toEqual(Either.left("boom"))
          } else {
            expect(sent).toEqual(described.messages)
            expect(Either.isRight(exit) && exit.right._tag).toBe(described.outcome)
          }
        }))),
      { numRuns: 400 }
    ))

  it("describe: looks that stop before the body ends describe what is out so far (Open), never throw", () => {
    const open: ReadonlyArray<ResponseFraming.BodyLook<string>> = [{ frames: [data("a")], state: { _tag: "Open" } }]
    expect(ResponseFraming.describe("Chunked", ids, head, open)).toEqual({
      _tag: "Sent",
      messages: [{
        _tag: "HttpResponseChunked",
        value: { _tag: "Start", value: { ...ids, internal_response: { ...head, body: [data("a")] } } }
      }],
      outcome: "Open"
    })
    expect(ResponseFraming.describe("Framed", ids, head, open)).toEqual({ _tag: "Sent", messages: [], outcome: "Open" })
    expect(ResponseFraming.describe("Basic", ids, head, [])).toEqual({ _tag: "Sent", messages: [], outcome: "Open" })
  })

  it("random chunk boundaries and timings: the same response modulo batching", () =>
    FastCheck.assert(
      FastCheck.asyncProperty(
        caseArb,
        FastCheck.array(FastCheck.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 16 }),
        (c, delays) =>
          Effect.runPromise(Effect.gen(function*() {
            // a real Inbound-backed source (a local HTTP body), fed frame by frame by another fiber
            // with random pauses, while the loop sends with random delays
            let d = 0
            const delay = () => delays[d++ % delays.length]!
            const body = Stream.fromIterable(c.looks.flat()).pipe(
              Stream.tap(() => Effect.forEach(Array.from({ length: delay() }), () => Effect.yieldNow())),
              Stream.concat(c.outcome === "End" ? Stream.empty : Stream.fail("boom"))
            )
            const { exit, sent } = yield* Effect.scoped(Effect.flatMap(
              ResponseFraming.sourceFromStream(body, { readyFrames: c.readyFrames }),
              (source) => respondAll(c, source, delay)
            ))
            const whole = flatten(c.looks.flat())
            if (Either.isLeft(exit)) {
              // fails only before anything is sent, and only when the body failed
              expect(exit.left).toBe("boom")
              expect(sent).toEqual([])
              return
            }
            const got = normalForm(c, sent)
            if (c.outcome === "End") {
              // Basic drops trailers
              expect(got).toEqual({ ...whole, trailers: c.mode === "Basic" ? [] : whole.trailers, end: "End" })
            } else {
              // a failure: nothing in Basic/Framed; in Chunked the cut, after a prefix of the body
              expect(c.mode).toBe("Chunked")
              expect(got.end).toBe("Cut")
              expect(whole.data.startsWith(got.data)).toBe(true)
            }
          }))
      ),
      { numRuns: 300 }
    ))

  it("an interrupted Chunked response is cut when the caller says so, and only after Start", () =>
    Effect.runPromise(Effect.gen(function*() {
      for (const cutting of [true, false]) {
        const sent: Array<LayerTcpSteal> = []
        const never: ResponseFraming.BodySource<never> = {
          drain: () => ({ _tag: "Open" }),
          ready: Effect.never
        }
        const fiber = yield* Effect.fork(ResponseFraming.respond("Chunked", ids, head, never, (m) => Effect.sync(() => void sent.push(m)), {
          onInterruptAfterStart: (cut) => (cutting ? Effect.sync(() => void sent.push(...cut)) : Effect.void)
        }))
        // the loop has sent Start and waits for the body
        while (sent.length === 0) yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
        expect(sent.map((m) => (m._tag === "HttpResponseChunked" ? m.value._tag : m._tag))).toEqual(
          cutting ? ["Start", "Error"] : ["Start"]
        )
      }
    })))
})

describe("Subscription.subscribeMessage filter gates", () => {
  const target = { host: "127.0.0.1", port: 1 }
  const v = (s: string) => Option.some(Version.unsafeParseVersion(s))
  const steal = (filter: HttpFilter, version: Option.Option<Version.SemVer>) =>
    Subscription.subscribeMessage({ port: 80, mode: "steal", filter, target }, version)
  const reason = (r: ReturnType<typeof steal>) => (Either.isLeft(r) ? r.left.reason : "sent")
  const composite = (inner: HttpFilter): HttpFilter => ({ _tag: "Composite", all: true, filters: [{ _tag: "Path", value: "/" }, inner] })

  it("each gated variant is refused below its version, at any depth, and sent from it", () => {
    const rows: ReadonlyArray<readonly [HttpFilter, string, string]> = [
      [{ _tag: "Composite", all: false, filters: [] }, "1.10.9", "1.11.0"],
      [composite({ _tag: "Method", value: { _tag: "Post" } }), "1.19.9", "1.20.0"],
      [composite({ _tag: "Body", value: { _tag: "Json", query: "$.a", matches: "b" } }), "1.22.9", "1.23.0"],
      [composite(composite({ _tag: "HeaderJq", value: ".x" })), "1.25.9", "1.26.0"]
    ]
    for (const [filter, below, from] of rows) {
      expect(reason(steal(filter, v(below)))).toBe("UnsupportedFilter")
      expect(reason(steal(filter, v(from)))).toBe("sent")
    }
  })

  it("Header and Path need no minimum; an unknown version refuses the gated variants", () => {
    expect(reason(steal({ _tag: "Header", value: "a: b" }, Option.none()))).toBe("sent")
    expect(reason(steal({ _tag: "Path", value: "/x" }, v("1.2.2")))).toBe("sent")
    expect(reason(steal({ _tag: "Composite", all: true, filters: [] }, Option.none()))).toBe("UnsupportedFilter")
  })

  it("mirror with a filter below 1.21.1 degrades with a warning; a gated filter from 1.21.1 is refused", () => {
    const mirror = (filter: HttpFilter, version: Option.Option<Version.SemVer>) =>
      Subscription.subscribeMessage({ port: 80, mode: "mirror", filter, target }, version)
    const degraded = mirror({ _tag: "HeaderJq", value: ".x" }, v("1.21.0"))
    expect(Either.isRight(degraded) && degraded.right.warning !== undefined).toBe(true)
    expect(reason(mirror({ _tag: "HeaderJq", value: ".x" }, v("1.21.1")))).toBe("UnsupportedFilter")
    expect(reason(mirror({ _tag: "Path", value: "/" }, v("1.21.1")))).toBe("sent")
  })
})
