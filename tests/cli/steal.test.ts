/**
 * `mirrord-effect steal` as a process against the `agent-sim` bin: traffic through the
 * simulator's HTTP front reaches a local app, SIGINT unsubscribes and exits 0 (also through
 * `pnpm mirrord-effect`), a restarted agent is reconnected to, and every failure ends with its
 * one-line message and exit code.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpExchange from "@mirrord-effect/cli/demo/HttpExchange"
import { ExitCode } from "@mirrord-effect/cli/ExitCode"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import * as net from "node:net"
import {
  cliSlot,
  closedPort,
  mirrordBin,
  runCli,
  spawnNode,
  startAgentSim,
  startLocalApp,
  TEST_MS
} from "./support/process.js"

const steal = (agent: string, app: string, ...extra: Array<string>) =>
  spawnNode(mirrordBin, ["steal", "--agent", agent, "--port", "80", "--to", app, ...extra])

const stealOnce = (agent: string, app: string, ...extra: Array<string>) =>
  runCli(["steal", "--agent", agent, "--port", "80", "--to", app, ...extra])

const UNSUBSCRIBED = /-> \{"\$":"TcpSteal","value":\{"\$":"PortUnsubscribe","value":80\}\}/

/** A one-line failure: the prefix, no stack trace, nothing else on stderr. */
const expectOneLine = (stderr: string) => {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).toMatch(/^mirrord-effect: /)
  expect(stderr).not.toMatch(/^\s+at /m)
}

/** A server on 127.0.0.1 (scoped); `port` is where it listens. */
const serve = <S extends net.Server>(server: S) =>
  Effect.acquireRelease(
    Effect.async<S>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))),
    (s) =>
      Effect.async<void>((resume) => {
        s.close(() => resume(Effect.void))
        if (s instanceof http.Server) s.closeAllConnections()
      })
  ).pipe(Effect.map((s) => (s.address() as net.AddressInfo).port))

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
        yield* cliSlot
        const app = yield* startLocalApp
        const sim = yield* startAgentSim(["--protocol-version", version, "--http-port", "80", "--trace"])
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
        yield* proxy.waitFor("stderr", /requests 2 \(/)
        // stderr is a pipe: no escape codes in the status line
        expect(proxy.stderr()).not.toContain("\x1b")

        yield* proxy.kill("SIGINT")
        expect(yield* proxy.exitCode()).toBe(ExitCode.Ok)
        expect(proxy.stderr()).toContain("unsubscribed from port 80")
        yield* sim.child.waitFor("stdout", UNSUBSCRIBED)
      }), TEST_MS)
  }

  it.scopedLive("Ctrl-C through `pnpm mirrord-effect steal`: the agent sees the unsubscribe, pnpm exits 0 without ELIFECYCLE", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--trace"])
      // its own process group, signalled as a whole: what a terminal does on Ctrl-C
      const proxy = yield* spawnNode("", ["mirrord-effect", "steal", "--agent", sim.agent, "--port", "80", "--to", "127.0.0.1:9"], undefined, {
        command: "pnpm",
        detached: true
      })
      yield* proxy.waitFor("stderr", /stealing port 80/)
      yield* sim.child.waitFor("stdout", /SubscribeResult/)
      yield* proxy.kill("SIGINT")
      expect(yield* proxy.exitCode()).toBe(0)
      yield* sim.child.waitFor("stdout", UNSUBSCRIBED)
      expect(proxy.stderr() + proxy.stdout()).not.toContain("ELIFECYCLE")
      expect(proxy.stderr()).toContain("unsubscribed from port 80")
    }), TEST_MS)

  // (Node handles two signals that arrive together as one; the case that killed the process — pnpm's
  // copy arriving once the first was handled — is exercised by the pnpm test on a busy machine)
  it.scopedLive("SIGINT twice (the terminal's and pnpm's forwarded copy): still unsubscribes and exits 0", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--trace"])
      const proxy = yield* steal(sim.agent, "127.0.0.1:9")
      yield* proxy.waitFor("stderr", /stealing port 80/)
      yield* sim.child.waitFor("stdout", /SubscribeResult/)
      yield* proxy.kill("SIGINT")
      yield* proxy.kill("SIGINT")
      expect(yield* proxy.exitCode()).toBe(ExitCode.Ok)
      yield* sim.child.waitFor("stdout", UNSUBSCRIBED)
    }), TEST_MS)

  it.scopedLive("the agent killed and restarted on the same port (at another version): reconnects, re-subscribes, serves again", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const app = yield* startLocalApp
      const first = yield* startAgentSim(["--protocol-version", "1.29.0", "--http-port", "80"])
      const proxy = yield* steal(
        first.agent,
        app,
        "--filter-path",
        "^/",
        "--reconnect-initial-delay",
        "50",
        "--reconnect-max-delay",
        "250",
        "--reconnect-attempts",
        "100000"
      )
      yield* proxy.waitFor("stderr", /stealing port 80/)
      const before = yield* HttpExchange.send({ ...first.front!, method: "GET", path: "/before" })
      expect(before.status).toBe(200)

      yield* first.child.kill("SIGKILL")
      yield* first.child.exitCode()
      yield* proxy.waitFor("stderr", /reconnecting \(attempt \d+\)…/)
      const second = yield* startAgentSim(["--listen", first.agent, "--protocol-version", "1.8.1", "--http-port", "80", "--trace"])
      yield* proxy.waitFor("stderr", /reconnected, protocol 1\.8\.1/)
      yield* second.child.waitFor("stdout", /<- \{"\$":"TcpSteal","value":\{"\$":"SubscribeResult","value":\{"\$":"Ok"/)
      const after = yield* HttpExchange.send({ ...second.front!, method: "GET", path: "/after" })
      expect({ status: after.status, body: Buffer.from(after.body).toString() }).toEqual({ status: 200, body: "GET /after " })
      // 1.8.1 gets its own request variant: the version was negotiated again
      expect(second.child.stdout()).toContain(`"$":"HttpRequestChunked","value":{"$":"StartV1"`)

      yield* proxy.kill("SIGINT")
      expect(yield* proxy.exitCode()).toBe(ExitCode.Ok)
    }), TEST_MS)

  it.scopedLive("the agent gone for good: gives up per the policy, exit GaveUp with the last error", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0"])
      const proxy = yield* steal(sim.agent, "127.0.0.1:9", "--reconnect-attempts", "3", "--reconnect-initial-delay", "20", "--reconnect-max-delay", "50")
      yield* proxy.waitFor("stderr", /stealing port 80/)
      yield* sim.child.kill("SIGKILL")
      expect(yield* proxy.exitCode()).toBe(ExitCode.GaveUp)
      expect(proxy.stderr()).toMatch(/reconnecting \(attempt \d+\)…/)
      expect(proxy.stderr()).toMatch(/^mirrord-effect: gave up reconnecting to the agent \(.*\); last error: agent unreachable: .*ECONNREFUSED/m)
      expect(proxy.stderr()).not.toMatch(/^\s+at /m)
    }), TEST_MS)

  it.scopedLive("an unfiltered steal on an agent before 1.19.4: a note says its HTTP arrives as raw TCP and how to get requests", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.8.1"])
      const proxy = yield* steal(sim.agent, "127.0.0.1:9")
      yield* proxy.waitFor("stderr", /^mirrord-effect: note: agent protocol 1\.8\.1 is older than 1\.19\.4, .*raw TCP .*--filter-path/m)
      yield* proxy.kill("SIGINT")
      expect(yield* proxy.exitCode()).toBe(ExitCode.Ok)
    }), TEST_MS)

  it.scopedLive("an unreachable agent: exit AgentUnreachable", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const port = yield* closedPort
      const result = yield* stealOnce(`127.0.0.1:${port}`, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.AgentUnreachable)
      expect(result.stderr).toMatch(/^mirrord-effect: agent unreachable: .*ECONNREFUSED/)
      expectOneLine(result.stderr)
    }), TEST_MS)

  it.scopedLive("a 1.2.2 agent without --assume-version: exit NegotiationFailed with the hint", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.2.2"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.NegotiationFailed)
      expect(result.stderr).toMatch(/^mirrord-effect: negotiation failed: the agent closed the connection during negotiation; .*pass --assume-version/)
      expectOneLine(result.stderr)
    }), TEST_MS)

  it.scopedLive("an HTTP server given as the agent: says so, and no --assume-version advice", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const port = yield* serve(http.createServer((_req, res) => res.end("hello")))
      const result = yield* stealOnce(`127.0.0.1:${port}`, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.NegotiationFailed)
      expect(result.stderr).toMatch(/^mirrord-effect: negotiation failed: this looks like an HTTP server, not a mirrord agent/)
      expect(result.stderr).not.toContain("assume-version")
      expectOneLine(result.stderr)
    }), TEST_MS)

  it.scopedLive("a silent peer: no answer to SwitchProtocolVersion within --negotiation-timeout, no --assume-version advice", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const silent = new Set<net.Socket>()
      const server = net.createServer((socket) => void silent.add(socket))
      const port = yield* serve(server)
      // (after `serve`: finalizers run in reverse, and closing the server waits for its sockets)
      yield* Effect.addFinalizer(() => Effect.sync(() => silent.forEach((s) => s.destroy())))
      const result = yield* stealOnce(`127.0.0.1:${port}`, "127.0.0.1:9", "--negotiation-timeout", "1")
      expect(result.code).toBe(ExitCode.NegotiationFailed)
      expect(result.stderr).toMatch(/^mirrord-effect: negotiation failed: no answer to SwitchProtocolVersion within 1 s/)
      expect(result.stderr).not.toContain("assume-version")
      expectOneLine(result.stderr)
    }), TEST_MS)

  it.scopedLive("--filter-method against a 1.19.0 agent: exit FilterUnsupported, nothing subscribed", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.19.0", "--trace"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9", "--filter-method", "GET")
      expect(result.code).toBe(ExitCode.FilterUnsupported)
      expect(result.stderr).toMatch(/^mirrord-effect: filter unsupported by the agent: HttpFilter::Method needs agent protocol >=1\.20\.0/m)
      expect(sim.child.stdout()).not.toContain("PortSubscribe")
    }), TEST_MS)

  it.scopedLive("a port another client steals: exit PortAlreadyStolen", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const app = yield* startLocalApp
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0"])
      const first = yield* steal(sim.agent, app)
      yield* first.waitFor("stderr", /stealing port 80/)
      const second = yield* stealOnce(sim.agent, app)
      expect(second.code).toBe(ExitCode.PortAlreadyStolen)
      expect(second.stderr).toMatch(/^mirrord-effect: port 80 is already stolen by another client/m)
    }), TEST_MS)

  it.scopedLive("a port refused by policy: exit Forbidden", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--steal-result", "80=Forbidden"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9")
      expect(result.code).toBe(ExitCode.Forbidden)
      expect(result.stderr).toMatch(/^mirrord-effect: forbidden: /m)
    }), TEST_MS)

  it.scopedLive("--no-reconnect, the agent closes the session: exit AgentClosed with its reason", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0", "--close-after", "100", "--close-reason", "maintenance window"])
      const result = yield* stealOnce(sim.agent, "127.0.0.1:9", "--no-reconnect")
      expect(result.code).toBe(ExitCode.AgentClosed)
      expect(result.stderr).toMatch(/^mirrord-effect: the agent closed the session: maintenance window$/m)
    }), TEST_MS)

  it.scopedLive("--no-reconnect, the agent dies without a word: exit AgentClosed with the diagnosis", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const sim = yield* startAgentSim(["--protocol-version", "1.29.0"])
      const proxy = yield* steal(sim.agent, "127.0.0.1:9", "--no-reconnect")
      yield* proxy.waitFor("stderr", /stealing port 80/)
      yield* sim.child.kill("SIGKILL")
      expect(yield* proxy.exitCode()).toBe(ExitCode.AgentClosed)
      expect(proxy.stderr()).toMatch(/^mirrord-effect: the connection to the agent was lost \(Lost\): .*PortSubscribe/m)
      expect(proxy.stderr()).not.toMatch(/^\s+at /m)
    }), TEST_MS)

  it.scopedLive("two filters at once: a usage error", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const result = yield* stealOnce("127.0.0.1:1", "127.0.0.1:9", "--filter-path", "^/a", "--filter-method", "GET")
      expect(result.code).toBe(ExitCode.Usage)
      expect(result.stderr).toContain("give at most one of --filter-header, --filter-path, --filter-method")
      expectOneLine(result.stderr)
    }), TEST_MS)
})
