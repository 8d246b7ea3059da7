import { describe, expect, it } from "@effect/vitest"
import { LocalHttp, layer } from "@mirrord-effect/incoming/LocalHttp"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { localAppRaw, readUntil } from "./support/localApp.js"

const headEnd = (b: Buffer) => b.includes("\r\n\r\n")

describe("LocalHttp: a body that is still arriving", () => {
  it.scopedLive("HTTP/1.1: the head is written at once with transfer-encoding: chunked", () =>
    Effect.gen(function*() {
      const head = yield* Deferred.make<string>()
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then((b) => Deferred.unsafeDone(head, Effect.succeed(b.toString("latin1"))))
      })
      const frames = yield* Queue.unbounded<{ readonly _tag: "Data"; readonly value: Uint8Array }>()
      const local = yield* LocalHttp
      yield* local.send(app.target, {
        method: "GET",
        uri: "/open",
        version: "HTTP/1.1",
        headers: [["host", [Buffer.from("x")]]],
        body: Stream.fromQueue(frames),
        bodyOpen: true
      }).pipe(Effect.forkScoped)
      // no frame was ever offered: the app must still see the request head (else the test times out)
      const seen = yield* Deferred.await(head)
      expect(seen).toBe("GET /open HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
    }).pipe(Effect.provide(layer())))

  it.scopedLive("HTTP/1.1 without bodyOpen: a complete empty body adds no framing header", () =>
    Effect.gen(function*() {
      const head = yield* Deferred.make<string>()
      const app = yield* localAppRaw((socket) => {
        void readUntil(socket, headEnd).then((b) => Deferred.unsafeDone(head, Effect.succeed(b.toString("latin1"))))
      })
      const local = yield* LocalHttp
      yield* local.send(app.target, {
        method: "GET",
        uri: "/done",
        version: "HTTP/1.1",
        headers: [["host", [Buffer.from("x")]]],
        body: Stream.empty
      }).pipe(Effect.forkScoped)
      expect(yield* Deferred.await(head)).toBe("GET /done HTTP/1.1\r\nhost: x\r\n\r\n")
    }).pipe(Effect.provide(layer())))
})
