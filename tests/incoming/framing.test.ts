/**
 * The pure parts: the framing stage (ResponseFraming.frame) and the subscription message rule
 * with its filter version gates (Subscription.subscribeMessage).
 */
import { describe, expect, it } from "@effect/vitest"
import * as ResponseFraming from "@mirrord-effect/incoming/ResponseFraming"
import * as Subscription from "@mirrord-effect/incoming/Subscription"
import type { BodyFrame, HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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

  it.live("Chunked, a failure after Start becomes ChunkedResponse::Error", () =>
    Effect.gen(function*() {
      const body = Stream.concat(Stream.make(data("a")), Stream.concat(Stream.fromEffect(Effect.sleep(20)).pipe(Stream.drain), Stream.fail("boom")))
      const out = yield* run(ResponseFraming.frame("Chunked", ids, head, body))
      expect(out.map((m: any) => m.value._tag)).toEqual(["Start", "Error"])
      expect(out[1]).toEqual({ _tag: "HttpResponseChunked", value: { _tag: "Error", value: { connection_id: 3n, request_id: 1 } } })
    }))
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
