/**
 * The commands and options of `mirrord-effect`: what `--help` shows and what the parser accepts.
 * Dependency-free on purpose (see commandLine.ts): the implementations are imported lazily.
 * @internal
 */
import * as CL from "./commandLine.js"

/** Same as `Demo.DEFAULT_AGENT_VERSIONS` (a test keeps them equal; importing Demo would load Effect). */
export const DEMO_AGENT_VERSIONS: ReadonlyArray<string> = ["1.2.2", "1.4.0", "1.7.0", "1.8.0", "1.8.1", "1.29.0"]
/** Same as `Version.HTTP_METHOD_FILTER_VERSION.range` (kept equal by a test). */
export const METHOD_FILTER_RANGE = ">=1.20.0"

export const demo = CL.command({
  name: "demo",
  summary: "a sample app behind simulated agents of several protocol versions, through the real proxy: what crossed the wire",
  details: [
    "Runs everything in this process on 127.0.0.1: a sample app, one agent simulator per version, the real AgentConnection and IncomingProxy. Prints a legend, a table per agent, the counterfactual (a naive always-Chunked proxy against a 1.7.0 agent) and a verdict; exits 1 when the verdict is FAIL."
  ],
  options: {
    agentVersion: CL.repeated("agent-version", {
      placeholder: "VERSION",
      description: "simulate an agent of this protocol version",
      parse: CL.text,
      shown: DEMO_AGENT_VERSIONS.join(", ")
    }),
    requests: CL.withDefault("requests", {
      placeholder: "N",
      description: "how many times each endpoint is requested per agent",
      parse: CL.integer(1, 1000),
      default: 1
    }),
    noCounterfactual: CL.flag("no-counterfactual", "skip the naive-proxy section (saves about a second)")
  }
})

export const steal = CL.command({
  name: "steal",
  summary: "steal (or mirror) a remote port's traffic from a mirrord agent to a local app, until Ctrl-C",
  details: [
    "Connects to the agent (e.g. through `kubectl port-forward`), negotiates the protocol version, subscribes the port and forwards every request to the local app. When the connection is lost it reconnects with exponential backoff, negotiating again and re-subscribing; the status line says `reconnecting (attempt n)…` and `reconnected, protocol X`. Ctrl-C (SIGINT) or SIGTERM unsubscribes and exits 0."
  ],
  options: {
    agent: CL.required("agent", {
      placeholder: "HOST:PORT",
      description: "address of the agent (e.g. a kubectl port-forward)",
      parse: CL.hostPort(false)
    }),
    port: CL.required("port", {
      placeholder: "PORT",
      description: "the remote port (in the target pod) whose traffic is stolen",
      parse: CL.integer(1, 65535)
    }),
    to: CL.required("to", {
      placeholder: "HOST:PORT",
      description: "address of the local app that gets the traffic",
      parse: CL.hostPort(false)
    }),
    filterHeader: CL.optional("filter-header", {
      placeholder: "REGEX",
      description: "steal only HTTP requests with a header line (`name: value`) matching REGEX",
      parse: CL.text
    }),
    filterPath: CL.optional("filter-path", {
      placeholder: "REGEX",
      description: "steal only HTTP requests whose path matches REGEX",
      parse: CL.text
    }),
    filterMethod: CL.optional("filter-method", {
      placeholder: "METHOD",
      description: `steal only HTTP requests with this method (agent protocol ${METHOD_FILTER_RANGE})`,
      parse: CL.text
    }),
    mirror: CL.flag("mirror", "mirror the traffic (the app's answers are discarded) instead of stealing it"),
    assumeVersion: CL.optional("assume-version", {
      placeholder: "VERSION",
      description: "skip negotiation and assume this protocol version (only for agents older than 1.3.0, which cannot negotiate)",
      parse: CL.text
    }),
    negotiationTimeout: CL.withDefault("negotiation-timeout", {
      placeholder: "SECONDS",
      description: "how long to wait for the agent's answer to SwitchProtocolVersion",
      parse: CL.integer(1, 3600),
      default: 10
    }),
    noReconnect: CL.flag("no-reconnect", "exit when the connection to the agent is lost instead of reconnecting"),
    reconnectAttempts: CL.withDefault("reconnect-attempts", {
      placeholder: "N",
      description: "give up after N consecutive failed reconnection attempts",
      parse: CL.integer(1, 1_000_000),
      default: 30
    }),
    reconnectTimeout: CL.withDefault("reconnect-timeout", {
      placeholder: "SECONDS",
      description: "give up when the agent has been gone this long",
      parse: CL.integer(1, 86_400),
      default: 120
    }),
    reconnectInitialDelay: CL.withDefault("reconnect-initial-delay", {
      placeholder: "MS",
      description: "delay before the first reconnection attempt; doubles after each failed one",
      parse: CL.integer(0, 3_600_000),
      default: 100
    }),
    reconnectMaxDelay: CL.withDefault("reconnect-max-delay", {
      placeholder: "MS",
      description: "the longest delay between two reconnection attempts",
      parse: CL.integer(0, 3_600_000),
      default: 5000
    })
  }
})

const direction = CL.withDefault("direction", {
  placeholder: "client|daemon",
  description: "client: client→agent bytes (ClientMessage); daemon: agent→client bytes (DaemonMessage)",
  parse: CL.choice(["client", "daemon"] as const),
  default: "daemon" as "client" | "daemon"
})

export const decode = CL.command({
  name: "decode",
  summary: "decode captured mirrord-protocol bytes into canonical JSON lines",
  options: {
    direction,
    protocolVersion: CL.optional("protocol-version", {
      placeholder: "VERSION",
      description: "decode as a peer of this protocol version would (rejects what it cannot decode)",
      parse: CL.text
    }),
    hex: CL.flag("hex", "the input is hex text, not raw bytes")
  },
  positional: { name: "FILE", description: "input file, - for stdin", default: "-" }
})

export const encode = CL.command({
  name: "encode",
  summary: "encode canonical JSON lines into mirrord-protocol bytes",
  options: {
    direction,
    hex: CL.flag("hex", "write hex text instead of raw bytes")
  },
  positional: { name: "FILE", description: "input file of JSON lines, - for stdin", default: "-" }
})

export const capabilities = CL.command({
  name: "capabilities",
  summary: "print the capability matrix, or what one protocol version supports",
  options: {
    protocolVersion: CL.optional("protocol-version", {
      placeholder: "VERSION",
      description: "show what this protocol version supports (default: the matrix of every capability)",
      parse: CL.text
    })
  }
})

export const program: CL.Program = {
  name: "mirrord-effect",
  version: "0.1.0",
  summary: "mirrord's incoming-traffic pipeline in TypeScript + Effect",
  commands: [demo, steal, decode, encode, capabilities],
  single: false
}

export type DemoArgs = CL.ArgsOf<typeof demo.options>
export type StealArgs = CL.ArgsOf<typeof steal.options>
export type DecodeArgs = CL.ArgsOf<typeof decode.options>
export type EncodeArgs = CL.ArgsOf<typeof encode.options>
export type CapabilitiesArgs = CL.ArgsOf<typeof capabilities.options>
