import { describe, expect, it } from "@effect/vitest"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const show = (o: Option.Option<Version.SemVer>): string => Option.match(o, { onNone: () => "None", onSome: Version.format })

describe("ProtocolVersion", () => {
  it.effect("fixed(string) is Some from the start and drives the response mode", () =>
    Effect.gen(function*() {
      expect(show(yield* ProtocolVersion.current)).toBe("1.8.1")
      expect(Version.format(yield* ProtocolVersion.awaitKnown)).toBe("1.8.1")
      expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Chunked")
      expect(yield* ProtocolVersion.responseMode("HttpRequestFramed")).toBe("Framed")
      expect(yield* ProtocolVersion.responseMode("HttpRequest")).toBe("Basic")
    }).pipe(Effect.provide(ProtocolVersion.fixed("1.8.1"))))

  it.effect("fixed(SemVer) via the tag's statics", () =>
    Effect.gen(function*() {
      expect(show(yield* ProtocolVersion.ProtocolVersion.current)).toBe("1.8.0")
      expect(yield* ProtocolVersion.ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Framed")
    }).pipe(Effect.provide(ProtocolVersion.ProtocolVersion.fixed(Version.unsafeParseVersion("1.8.0")))))

  it.effect("fixed with an invalid version string dies with VersionParseError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(ProtocolVersion.current, ProtocolVersion.fixed("v1.8.1")))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const defect = Cause.dieOption(exit.cause)
        expect(Option.isSome(defect)).toBe(true)
        expect(Option.getOrUndefined(defect)).toBeInstanceOf(Version.VersionParseError)
      }
    }))

  it.effect("unknown is None and answers Basic", () =>
    Effect.gen(function*() {
      expect(show(yield* ProtocolVersion.current)).toBe("None")
      expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Basic")
    }).pipe(Effect.provide(ProtocolVersion.unknown)))

  it.effect("awaitKnown waits until a version is set", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(ProtocolVersion.awaitKnown)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* ProtocolVersion.set(Option.none())
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* ProtocolVersion.setKnown("1.19.4")
      expect(Version.format(yield* Fiber.join(fiber))).toBe("1.19.4")
      expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Chunked")
    }).pipe(Effect.provide(ProtocolVersion.ProtocolVersion.unknown)))

  it.effect("changes emits the current value then every update", () =>
    Effect.gen(function*() {
      const subscribed = yield* Deferred.make<void>()
      const fiber = yield* ProtocolVersion.changes.pipe(
        Stream.tap(() => Deferred.succeed(subscribed, undefined)),
        Stream.take(4),
        Stream.runCollect,
        Effect.fork
      )
      yield* Deferred.await(subscribed)
      yield* ProtocolVersion.setKnown("1.3.0")
      yield* ProtocolVersion.set(Option.some(Version.unsafeParseVersion("1.8.1")))
      yield* ProtocolVersion.set(Option.none()) // e.g. reconnect
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(fiber)).map(show)
      expect(seen).toEqual(["None", "1.3.0", "1.8.1", "None"])
      expect(yield* ProtocolVersion.responseMode("HttpRequestChunked")).toBe("Basic")
    }).pipe(Effect.provide(ProtocolVersion.unknown)))

  it.effect("each provide of a layer gets its own ref", () =>
    Effect.gen(function*() {
      yield* Effect.provide(ProtocolVersion.setKnown("1.29.0"), ProtocolVersion.unknown)
      const after = yield* Effect.provide(ProtocolVersion.current, ProtocolVersion.unknown)
      expect(show(after)).toBe("None")
    }))
})
