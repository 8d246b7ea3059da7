import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as HttpFilterMatch from "@mirrord-effect/agent-sim/HttpFilterMatch"
import * as ResponseEvent from "@mirrord-effect/agent-sim/ResponseEvent"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import { connectClient, enc, headers, negotiate, stealAll, stealFiltered, subscribe, tcpOf } from "./support/testClient.js"

const view = (method: string, uri: string, ...hs: ReadonlyArray<readonly [string, string]>) => ({ method, uri, headers: headers(...hs) })

describe("AgentSim subscriptions", () => {
  it.scopedLive("subscribe: Ok, PortAlreadyStolen (configured, and a second unfiltered steal), Forbidden", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0", subscribeResults: { 81: "PortAlreadyStolen", 82: "Forbidden" } })
      const a = yield* connectClient(sim.address)
      const b = yield* connectClient(sim.address)
      yield* negotiate(a, "1.29.0")
      yield* negotiate(b, "1.29.0")
      expect(yield* subscribe(a, stealAll(80))).toEqual({ _tag: "Ok", value: 80 })
      expect(yield* subscribe(b, stealAll(80))).toEqual({ _tag: "Err", value: { _tag: "PortAlreadyStolen", value: 80 } })
      expect(yield* subscribe(a, stealAll(81))).toEqual({ _tag: "Err", value: { _tag: "PortAlreadyStolen", value: 81 } })
      expect(yield* subscribe(a, stealAll(82))).toMatchObject({
        _tag: "Err",
        value: { _tag: "Forbidden", blocked_action: { _tag: "Steal", value: { _tag: "All", value: 82 } } }
      })
      // mirror answers on DaemonMessage::Tcp
      expect(yield* subscribe(b, { _tag: "Tcp", value: { _tag: "PortSubscribe", value: 80 } })).toEqual({ _tag: "Ok", value: 80 })
      const [infoA] = (yield* sim.clients).filter((c) => c.subscriptions.length > 0 && c.subscriptions[0]!.mode === "steal")
      expect(infoA?.subscriptions).toEqual([{ clientId: infoA!.id, port: 80, mode: "steal", filter: { _tag: "All" } }])
    }), 60_000)

  it.scopedLive("an invalid filter regex is answered with BadHttpFilterExRegex", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const a = yield* connectClient(sim.address)
      yield* negotiate(a, "1.29.0")
      const bad: Tcp.HttpFilter = { _tag: "Path", value: "([" }
      const result = yield* subscribe(a, stealFiltered(80, bad))
      expect(result).toMatchObject({ _tag: "Err", value: { _tag: "Remote", value: { _tag: "BadHttpFilterExRegex" } } })
      if (result._tag === "Err" && result.value._tag === "Remote" && result.value.value._tag === "BadHttpFilterExRegex") {
        expect(result.value.value.values[0]).toEqual(bad)
        expect(result.value.value.values[1]).toMatch(/regular expression/i)
      }
      expect((yield* sim.clients)[0]!.subscriptions).toEqual([])
    }), 60_000)

  it.scopedLive("a refused regex fails only that subscription: the agent's reason comes back, the other port keeps its subscription", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const a = yield* connectClient(sim.address)
      yield* negotiate(a, "1.29.0")
      expect(yield* subscribe(a, stealFiltered(80, { _tag: "Path", value: "^/ok" }))).toEqual({ _tag: "Ok", value: 80 })
      const result = yield* subscribe(a, stealFiltered(81, { _tag: "Path", value: "(" }))
      expect(result).toMatchObject({ _tag: "Err", value: { _tag: "Remote", value: { _tag: "BadHttpFilterExRegex" } } })
      if (result._tag === "Err" && result.value._tag === "Remote" && result.value.value._tag === "BadHttpFilterExRegex") {
        expect(result.value.value.values[1]).toMatch(/unterminated group/i)
      }
      // a legacy header filter is refused the same way, with BadHttpFilterRegex
      const legacy = yield* subscribe(a, {
        _tag: "TcpSteal",
        value: { _tag: "PortSubscribe", value: { _tag: "FilteredHttp", values: [82, "("] } }
      })
      expect(legacy).toMatchObject({ _tag: "Err", value: { _tag: "Remote", value: { _tag: "BadHttpFilterRegex" } } })
      expect((yield* sim.clients)[0]!.subscriptions.map((s) => s.port)).toEqual([80])
      const served = yield* sim.request(80, { method: "GET", uri: "/ok" }).pipe(Stream.runHead, Effect.fork)
      expect(yield* Effect.flatMap(a.next(), (m) => tcpOf(m))).toMatchObject({ _tag: "HttpRequestChunked" })
      yield* Fiber.interrupt(served)
    }), 60_000)

  it("filter matching: header lines, path, method, composite all/any, body/jq match everything", () => {
    const req = view("POST", "http://example.com/api/items?id=3", ["x-user", "Ann"], ["accept", "a"], ["accept", "b"])
    const m = (filter: Tcp.HttpFilter) => HttpFilterMatch.matches(filter, req)
    expect(m({ _tag: "Header", value: "^x-user: Ann$" })).toBe(true)
    expect(m({ _tag: "Header", value: "^accept: b$" })).toBe(true)
    expect(m({ _tag: "Header", value: "^x-user: Bob$" })).toBe(false)
    expect(m({ _tag: "Header", value: "(?i)^X-USER: ann$" })).toBe(true)
    expect(m({ _tag: "Path", value: "^/api/items$" })).toBe(true)
    expect(m({ _tag: "Path", value: "id=3" })).toBe(false)
    expect(m({ _tag: "Method", value: { _tag: "Post" } })).toBe(true)
    expect(m({ _tag: "Method", value: { _tag: "Get" } })).toBe(false)
    const path: Tcp.HttpFilter = { _tag: "Path", value: "^/api" }
    const get: Tcp.HttpFilter = { _tag: "Method", value: { _tag: "Get" } }
    expect(m({ _tag: "Composite", all: true, filters: [path, get] })).toBe(false)
    expect(m({ _tag: "Composite", all: false, filters: [path, get] })).toBe(true)
    expect(m({ _tag: "Composite", all: false, filters: [] })).toBe(false)
    expect(m({ _tag: "Body", value: { _tag: "Json", query: "$.x", matches: "y" } })).toBe(true)
    expect(m({ _tag: "HeaderJq", value: ".x" })).toBe(true)
    expect(Either.isLeft(HttpFilterMatch.compile({ _tag: "Header", value: "(" }))).toBe(true)
  })

  it.scopedLive("only matching requests are stolen, each by its subscriber; the rest get the simulator's 404", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const ann = yield* connectClient(sim.address)
      const bob = yield* connectClient(sim.address)
      yield* negotiate(ann, "1.29.0")
      yield* negotiate(bob, "1.29.0")
      yield* subscribe(ann, stealFiltered(80, { _tag: "Header", value: "^x-user: ann$" }))
      yield* subscribe(bob, stealFiltered(80, { _tag: "Composite", all: true, filters: [{ _tag: "Path", value: "^/bob" }, { _tag: "Method", value: { _tag: "Get" } }] }))
      const forBob = yield* sim.request(80, { method: "GET", uri: "/bob/1", headers: headers(["x-user", "carol"]) }).pipe(Stream.runCollect, Effect.fork)
      const got = yield* Effect.flatMap(bob.next(), (m) => tcpOf(m))
      expect(got).toMatchObject({ _tag: "HttpRequestChunked", value: { _tag: "StartV2", value: { request: { uri: "/bob/1" } } } })
      yield* Fiber.interrupt(forBob)
      const forAnn = yield* sim.request(80, { method: "GET", uri: "/bob/1", headers: headers(["x-user", "ann"]) }).pipe(Stream.runCollect, Effect.fork)
      expect(yield* Effect.flatMap(ann.next(), (m) => tcpOf(m))).toMatchObject({ _tag: "HttpRequestChunked" })
      yield* Fiber.interrupt(forAnn)
      // interrupting the response stream sends Close, like the agent when the original client leaves
      expect(yield* Effect.flatMap(ann.next(), (m) => tcpOf(m))).toMatchObject({ _tag: "Close" })
      const nobody = Chunk.toArray(yield* Stream.runCollect(sim.request(80, { method: "POST", uri: "/x", headers: headers(["x-user", "dan"]), body: enc("ignored") })))
      expect(nobody[0]).toMatchObject({ _tag: "Head", status: 404, variant: "NotStolen" })
      expect(ResponseEvent.textOf(nobody)).toContain("no mirrord client subscription")
      expect(yield* ann.nothingWithin(50)).toBe(true)
    }), 60_000)

  it.scopedLive("an unfiltered steal gets HTTP only from 1.19.4; older clients are passed through", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const old = yield* connectClient(sim.address)
      yield* negotiate(old, "1.19.3")
      yield* subscribe(old, stealAll(80))
      const events = Chunk.toArray(yield* Stream.runCollect(sim.request(80, { method: "GET", uri: "/" })))
      expect(events[0]).toMatchObject({ variant: "NotStolen" })
      expect((yield* sim.events).filter((e) => e._tag === "PassedThrough")).toHaveLength(1)
      expect(yield* old.nothingWithin(50)).toBe(true)
    }), 60_000)
})
