import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import { connectClient, negotiate, switchVersion } from "./support/testClient.js"

describe("AgentSim negotiation", () => {
  it.scopedLive("1.2.2 cannot decode SwitchProtocolVersion: drops the connection without Close and records why", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.2.2" })
      const client = yield* connectClient(sim.address)
      yield* client.send(switchVersion("1.29.0"))
      const after = yield* client.ended()
      expect(after).toEqual([])
      const drops = yield* sim.drops
      expect(drops).toHaveLength(1)
      expect(drops[0]).toMatchObject({ reason: "UnknownVariant", enumName: "ClientMessage", index: 10, variantName: "SwitchProtocolVersion", since: "1.3.0", offset: 0 })
      expect(yield* sim.undecodable()).toHaveLength(1)
    }), 60_000)

  it.scopedLive("1.4.0 echoes the client's version, even a newer one", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.4.0" })
      const client = yield* connectClient(sim.address)
      expect(yield* negotiate(client, "1.29.0")).toBe("1.29.0")
      const [info] = yield* sim.clients
      expect(info).toMatchObject({ clientVersion: "1.29.0", effectiveVersion: "1.4.0" })
    }), 60_000)

  it.scopedLive("1.7.0 answers min(agent, client) = 1.7.0", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.7.0" })
      const client = yield* connectClient(sim.address)
      expect(yield* negotiate(client, "1.29.0")).toBe("1.7.0")
    }), 60_000)

  it.scopedLive("1.29.0 answers an older client's version (1.8.1)", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const client = yield* connectClient(sim.address)
      expect(yield* negotiate(client, "1.8.1")).toBe("1.8.1")
      const events = yield* sim.events
      expect(events.filter((e) => e._tag === "Negotiated")).toMatchObject([{ clientVersion: "1.8.1", answered: "1.8.1" }])
    }), 60_000)

  it.scopedLive("a client counts as 1.2.2 before it negotiates", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const client = yield* connectClient(sim.address)
      yield* client.send({ _tag: "Ping" })
      expect(yield* client.next()).toEqual({ _tag: "Pong" })
      const [info] = yield* sim.clients
      expect(info).toMatchObject({ clientVersion: undefined, effectiveVersion: "1.2.2" })
    }), 60_000)

  it.scopedLive("Ping gets Pong, in order, and both are recorded", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.19.0" })
      const client = yield* connectClient(sim.address)
      yield* client.send({ _tag: "Ping" })
      yield* client.send({ _tag: "Ping" })
      expect(yield* client.next()).toEqual({ _tag: "Pong" })
      expect(yield* client.next()).toEqual({ _tag: "Pong" })
      expect(yield* sim.receivedVariants()).toEqual(["Ping", "Ping"])
      expect(yield* sim.sentVariants()).toEqual(["Pong", "Pong"])
      const recording = yield* sim.recording
      expect(recording[0]!.at).toBeLessThanOrEqual(recording[1]!.at)
    }), 60_000)

  it.scopedLive("closeClient sends Close(reason), then ends the connection", () =>
    Effect.gen(function*() {
      const sim = yield* AgentSim.make({ version: "1.29.0" })
      const client = yield* connectClient(sim.address)
      yield* negotiate(client, "1.29.0")
      yield* sim.closeClient("maintenance")
      expect(yield* client.ended()).toEqual([{ _tag: "Close", value: "maintenance" }])
    }), 60_000)
})
