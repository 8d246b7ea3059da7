/**
 * The options of `agent-sim`: what `--help` shows and what the parser accepts. Dependency-free
 * (see commandLine.ts): the simulator itself is imported only to run.
 * @internal
 */
import * as CL from "./commandLine.js"

/** Exit codes of `agent-sim`. */
export const AgentSimExitCode = {
  /** stopped by SIGINT/SIGTERM */
  Ok: 0,
  Failure: 1,
  /** bad command line (unknown option, a protocol version the simulator does not know, --http without --http-port) */
  Usage: 2,
  /** an address could not be bound (e.g. the port is in use) */
  Listen: 3
} as const

export const exitCodeHelp: ReadonlyArray<readonly [number, string]> = [
  [AgentSimExitCode.Ok, "stopped by Ctrl-C (SIGINT) or SIGTERM"],
  [AgentSimExitCode.Failure, "any other failure"],
  [AgentSimExitCode.Usage, "bad command line (unknown option or value, unknown protocol version, --http without --http-port)"],
  [AgentSimExitCode.Listen, "--listen or --http could not be bound (e.g. the port is in use)"]
]

export const agentSim = CL.command({
  name: "agent-sim",
  summary: "a simulated mirrord agent of any protocol version, over real TCP",
  details: [
    "Prints `agent listening on HOST:PORT` (and `http front on HOST:PORT` with --http-port), then serves clients until Ctrl-C. HTTP requests sent to the front reach the subscribed clients as the simulated agent version would send them."
  ],
  options: {
    protocolVersion: CL.withDefault("protocol-version", {
      placeholder: "VERSION",
      description: "protocol version of the simulated agent: a mirrord-protocol release from 1.0.0 to 1.29.0",
      parse: CL.text,
      default: "1.29.0"
    }),
    listen: CL.withDefault("listen", {
      placeholder: "HOST:PORT",
      description: "where clients connect (port 0: any free port)",
      parse: CL.hostPort(true),
      default: { host: "127.0.0.1", port: 0 },
      shown: "127.0.0.1:0"
    }),
    httpPort: CL.optional("http-port", {
      placeholder: "PORT",
      description: "serve an HTTP front whose requests arrive as traffic of this remote port",
      parse: CL.integer(1, 65535)
    }),
    http: CL.optional("http", {
      placeholder: "HOST:PORT",
      description: "where the HTTP front listens; needs --http-port (default with --http-port: 127.0.0.1:0)",
      parse: CL.hostPort(true)
    }),
    trace: CL.flag("trace", "print every message as canonical JSON, one line each"),
    stealResult: CL.repeated("steal-result", {
      placeholder: "PORT=OUTCOME",
      description: "answer subscriptions of PORT with OUTCOME: PortAlreadyStolen, Forbidden or Ok",
      parse: (text) => {
        const m = /^(\d{1,5})=(PortAlreadyStolen|Forbidden|Ok)$/.exec(text)
        return m === null || Number(m[1]) > 65535
          ? CL.invalid(`expected PORT=PortAlreadyStolen|Forbidden|Ok, got ${JSON.stringify(text)}`)
          : CL.ok([Number(m[1]), m[2] as "PortAlreadyStolen" | "Forbidden" | "Ok"] as const)
      }
    }),
    closeAfter: CL.optional("close-after", {
      placeholder: "MS",
      description: "MS after the first subscription, close every client with DaemonMessage::Close",
      parse: CL.integer(0, 86_400_000)
    }),
    closeReason: CL.withDefault("close-reason", {
      placeholder: "TEXT",
      description: "the reason sent with --close-after",
      parse: CL.text,
      default: "agent-sim: closing the session"
    })
  }
})

export const program: CL.Program = {
  name: "agent-sim",
  version: "0.1.0",
  summary: agentSim.summary,
  commands: [agentSim],
  single: true
}

export type AgentSimArgs = CL.ArgsOf<typeof agentSim.options>
