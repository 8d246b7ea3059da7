import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { spawnNode } from "../cli/support/process.js"
import { get, startSim } from "../incoming/support/simAgent.js"
import { main, Proxy, stealInto } from "./embedding.js"

const localApp = Effect.acquireRelease(
  Effect.async<http.Server>((resume) => {
    const server = http.createServer((req, res) => {
      res.setHeader("content-type", "text/plain")
      res.end(`hello from the local app: ${req.method} ${req.url}`)
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)
const portOf = (server: http.Server) => (server.address() as { port: number }).port
const fast = { initialDelay: 10, maxDelay: 50 }

describe("the README's embedding example", () => {
  it("appears verbatim in the README", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8")
    const example = fs.readFileSync(path.resolve(__dirname, "embedding.ts"), "utf8").trim()
    expect(readme).toContain(example)
  })

  // Agents before 1.19.4 deliver HTTP only on filtered subscriptions (an unfiltered steal takes
  // whole TCP connections there), so those get a path filter.
  for (const version of ["1.29.0", "1.7.0"]) {
    it.scopedLive(`serves a stolen request end to end through an agent simulator at ${version}`, () =>
      Effect.gen(function*() {
        const app = yield* localApp
        const { sim } = yield* startSim(version)
        const proxy = yield* Layer.build(Proxy(sim.address))
        yield* stealInto(portOf(app), version === "1.7.0" ? { _tag: "Path", value: "^/items" } : undefined).pipe(
          Effect.provide(proxy)
        )
        const response = yield* get(sim, 80, "/items?x=1")
        expect(response.text).toBe("hello from the local app: GET /items?x=1")
        // a 1.7.0 agent cannot decode Chunked; a 1.29.0 one gets Framed or Chunked (timing)
        const allowed = version === "1.7.0" ? ["HttpResponseFramed"] : ["HttpResponseFramed", "HttpResponseChunked"]
        expect(allowed).toContain(response.variant)
        expect(yield* sim.undecodable()).toEqual([])
      }), { timeout: 30_000 })
  }

  it.scopedLive("survives the agent killed and restarted on the same port: served again", () =>
    Effect.gen(function*() {
      const app = yield* localApp
      const first = yield* startSim("1.29.0")
      const agent = first.sim.address
      // attempts for ~100 s at the 50 ms cap: longer than the test, so a slow restart cannot exhaust them
      const running = yield* Effect.fork(main(agent, portOf(app), { ...fast, maxAttempts: 2_000 }))
      yield* first.sim.awaitSubscription(80, "steal")
      expect((yield* get(first.sim, 80, "/one")).text).toBe("hello from the local app: GET /one")

      yield* first.kill
      const second = yield* startSim("1.29.0", agent.port)
      yield* second.sim.awaitSubscription(80, "steal")
      expect((yield* get(second.sim, 80, "/two")).text).toBe("hello from the local app: GET /two")
      // still serving: main has not ended
      expect(running.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(running)
    }), { timeout: 60_000 })

  it.scopedLive("as a process under NodeRuntime.runMain: exits non-zero with the reason when the agent is gone for good", () =>
    Effect.gen(function*() {
      const app = yield* localApp
      const only = yield* startSim("1.29.0")
      const child = yield* spawnNode("--conditions=@mirrord-effect/source", [
        "--import",
        "tsx",
        "tests/examples/embedding-main.ts",
        only.sim.address.host,
        String(only.sim.address.port),
        String(portOf(app))
      ])
      yield* only.sim.awaitSubscription(80, "steal")
      expect((yield* get(only.sim, 80, "/served")).text).toBe("hello from the local app: GET /served")
      yield* only.kill
      expect(yield* child.exitCode(50_000)).toBe(1)
      expect(child.stdout() + child.stderr()).toMatch(/AgentGaveUp/)
    }), { timeout: 60_000 })

  it.scopedLive("the layer fails with the connection error when the agent is not there at all", () =>
    Effect.gen(function*() {
      const { sim, kill } = yield* startSim("1.29.0")
      const address = sim.address
      yield* kill
      const failure = yield* Effect.flip(Layer.build(Proxy(address, fast)))
      expect(failure).toMatchObject({ _tag: "AgentConnectionError", reason: "Unreachable" })
    }), { timeout: 30_000 })
})

