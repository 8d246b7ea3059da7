/**
 * `mirrord-effect steal` as a process against the `agent-sim` bin: traffic through the
 * simulator's HTTP front reaches a local app, SIGINT unsubscribes and exits 0, and every failure
 * ends with its one-line message and exit code.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpExchange from "@mirrord-effect/cli/demo/HttpExchange"
import { ExitCode } from "@mirrord-effect/cli/ExitCode"
import * as Effect from "effect/Effect"
import { closedPort, runCli, spawnNode, startAgentSim, startLocalApp, mirrordBin } from "./support/process.js"

const steal = (agent: string, app: string, ...extra: Array<string>) =>
  spawnNode(mirrordBin, ["steal", "--agent", agent, "--port", "80", "--to", app, ...extra])

const stealOnce = (agent: string, app: string, ...extra: Array<string>) =>
  runCli(["steal", "--agent", agent, "--port", "80", "--to", app, ...extra])

describe("mirrord-effect steal", () => {
  for (
    // before 1.19.4 an unfiltered steal takes raw TCP, which the simulator's HTTP front does not
    // produce: the 1.7.0 case steals with a path filter
    const [version, requestVariant, filter] of [
      ["1.7.0", "StartV1", ["--filter-path", "^/"]],
      ["1.29.0", "StartV2", []]
    ] as const
  ) {
    it.scopedLive(`forwards requests from a ${version} agent to the local app${filter.length > 0 ? " (path filter)" : ""}, then SIGINT unsubscribes and exits 0`, () =>
      Effect.gen(function*() {
        const app = yield* startLocalApp
        const sim = yield* startAgentSim(["--protocol-version", version, "--http-port", "80", "--http", "127.0.0.1:0", "--trace"])
        const proxy = yield* steal(sim.agent, app, ...filter)
        yield* proxy.waitFor("stderr", /stealing port 80/)
        const front = sim.front!
        const get = yield* HttpExchange.send({ ...front, method: "GET", path: "/hello?x=1" })
        const post = yield* HttpExchange.send({
          ...front,
          method: "POST",
          path: "/echo",
          bodyChunks: [Buffer.from("chunk one, "), Buffer.from("chunk two")]
        })
        expect(get.failure).toBeUndefined()
        expect({ status: get.status, body: Buffer.from(get.body).toString(), servedBy: get.headers["x-served-by"] })
          .toEqual({ status: 200, body: "GET /hello?x=1 ", servedBy: "local-app" })
        expect({ status: post.status, body: Buffer.from(post.body).toString() })
          .toEqual({ status: 200, body: "POST /echo chunk one, chunk two" })
        // the requests went through the protocol in this agent's variant, and nothing was dropped
        const trace = sim.child.stdout()
        expect(trace).toContain(`"$":"HttpRequestChunked","value":{"$":"${requestVariant}"`)
        expect(trace).not.toContain("dropped:")
        yield* proxy.waitFor("stderr", /requests 2 \(/, 5_000)

        yield* proxy.kill("SIGINT")
        expect(yield* proxy.exitCode(5_000)).toBe(ExitCode.Ok)
        expect(proxy.stderr()).toContain("unsubscribed from port 80")
        yield* sim.child.waitFor("stdout", /-> \{"\$":"TcpSteal","value":\{"\$":"PortUnsubscribe","value":80\}\}/, 3_000)
      }), 30_000)
  }

  it.scopedLive("an unreachable agent: exit AgentUnreachable", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const result = yield* stealOnce(`127.0.0.1:${port}`, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.AgentUnreachable)
      expect(result.stderr).toMatch(/^mirrord-effect: agent unreachable: .*ECONNREFUSED/m)
    }), 20_000)

  it.scopedLive("a 1.2.2 agent without --assume-version: exit NegotiationFailed with the hint", () =>
    Effect.gen(function*() {
      const sim = yield* startAgentSim(["--protocol-version", "1.2.2"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.NegotiationFailed)
      expect(result.stderr).toMatch(/^mirrord-effect: negotiation failed: .*pass --assume-version/m)
    }), 20_000)

  it.scopedLive("--filter-method against a 1.19.0 agent: exit FilterUnsupported, nothing subscribed", () =>
    Effect.gen(function*() {
      const sim = yield* startAgentSim(["--protocol-version", "1.19.0", "--trace"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9", "--filter-method", "GET")
      expect(result.code).toBe(ExitCode.FilterUnsupported)
      expect(result.stderr).toMatch(/^mirrord-effect: filter unsupported by the agent: HttpFilter::Method needs agent protocol >=1\.20\.0/m)
      expect(sim.child.stdout()).not.toContain("PortSubscribe")
    }), 20_000)

  it.scopedLive("a port another client steals: exit PortAlreadyStolen", () =>
    Effect.gen(function*() {
      const app = yield* startLocalApp
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0"])
      const first = yield* steal(sim.agent, app)
      yield* first.waitFor("stderr", /stealing port 80/)
      const second = yield* stealOnce(sim.agent, app)
      expect(second.code).toBe(ExitCode.PortAlreadyStolen)
      expect(second.stderr).toMatch(/^mirrord-effect: port 80 is already stolen by another client/m)
    }), 20_000)

  it.scopedLive("a port refused by policy: exit Forbidden", () =>
    Effect.gen(function*() {
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--steal-result", "80=Forbidden"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.Forbidden)
      expect(result.stderr).toMatch(/^mirrord-effect: forbidden: /m)
    }), 20_000)

  it.scopedLive("the agent closes the session: exit AgentClosed with its reason", () =>
    Effect.gen(function*() {
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--close-after", "100", "--close-reason", "maintenance window"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.AgentClosed)
      expect(result.stderr).toMatch(/^mirrord-effect: the agent closed the session: maintenance window$/m)
    }), 20_000)

  it.scopedLive("the agent dies without a word: exit AgentClosed with the diagnosis", () =>
    Effect.gen(function*() {
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0"])
      const proxy = yield* steal(sim.agent, "127.0.0.1:9")
      yield* proxy.waitFor("stderr", /stealing port 80/)
      yield* sim.child.kill("SIGKILL")
      expect(yield* proxy.exitCode(10_000)).toBe(ExitCode.AgentClosed)
      expect(proxy.stderr()).toMatch(
        /^mirrord-effect: the connection to the agent was lost \(Lost\): agent 1\.29\.0 closed the connection without Close; last messages sent: .*PortSubscribe/m
      )
    }), 20_000)

  it.scopedLive("two filters at once: a usage error", () =>
    Effect.gen(function*() {
      const result = yield* stealOnce("127.0.0.1:1", "127.0.0.1:9", "--filter-path", "^/a", "--filter-method", "GET")
      expect(result.code).toBe(ExitCode.Usage)
      expect(result.stderr).toContain("give at most one of --filter-header, --filter-path, --filter-method")
    }), 20_000)
})
