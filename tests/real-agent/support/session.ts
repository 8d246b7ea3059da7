/**
 * One test group against one real agent: its network, the agent and the pod app in the pod,
 * our proxy + local app (`developer.ts`) in the developer namespace, and real clients (curl,
 * node) in the client namespace.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Config } from "./developer.js"
import type { LineLog, LogView } from "./lineLog.js"
import type { AgentBinary, Network } from "./pod.js"
import { AGENT_PORT, makeNetwork, POD_ADDRESS, POD_DEV_ADDRESS, start, stop } from "./pod.js"

const developerScript = fileURLToPath(new URL("./developer.ts", import.meta.url))

/** The workload in the pod: answers `pod <method> <path>` on port 80. */
const podApp = `
const http = require("http")
http.createServer((q, r) => r.end("pod " + q.method + " " + q.url + "\\n")).listen(80, "0.0.0.0", () => console.log("pod app ready"))
`

export interface Agent {
  readonly log: LineLog
  readonly exited: () => boolean
  readonly stop: () => Promise<void>
}

export const startAgent = async (network: Network, agent: AgentBinary & { readonly path: string }): Promise<Agent> => {
  // pid 1 of its own pid namespace: with no container id the agent uses /proc/1 (see the README)
  const { child, log } = start(
    ["ip", "netns", "exec", network.pod, "unshare", "--pid", "--fork", "--mount-proc", agent.path, "-l", String(AGENT_PORT), "-t", "120", "ephemeral"],
    { MIRRORD_AGENT_IDLE_TTL: "120", RUST_LOG: "mirrord_agent=info" }
  )
  await log.waitFor((l) => l.includes("agent ready"), `"agent ready" from ${agent.file}`)
  // SIGTERM first: the agent removes its redirect rules on a graceful exit
  return { log, exited: () => child.exitCode !== null || child.signalCode !== null, stop: () => stop(child, 10_000) }
}

export const startPodApp = async (network: Network): Promise<() => Promise<void>> => {
  const { child, log } = start(["ip", "netns", "exec", network.pod, process.execPath, "-e", podApp])
  await log.waitFor((l) => l.includes("pod app ready"), "pod app ready")
  return () => stop(child)
}

export interface Developer {
  /** The lines of the current proxy session. */
  log: LogView
  readonly send: (command: string) => void
  /** A new proxy session in the same process (the local app stays). */
  readonly connect: (config: Omit<Config, "agent">) => Promise<void>
  readonly disconnect: () => Promise<void>
  readonly stop: () => Promise<void>
}

const subscribedOrFailed = (l: string) =>
  l.includes("\"ev\":\"subscribed\"") || l.includes("subscribe-failed") || l.includes("\"fatal\"") || l.startsWith("<exited")

/** Starts the developer process (local app + proxy); with `config`, a first proxy session. */
export const startDeveloper = async (network: Network, config?: Omit<Config, "agent">): Promise<Developer> => {
  const full = (c: Omit<Config, "agent">): Config => ({ agent: { host: POD_DEV_ADDRESS, port: AGENT_PORT }, ...c })
  const { child, log } = start([
    "ip", "netns", "exec", network.developer,
    process.execPath, "--import", "tsx", "--conditions=@mirrord-effect/source", developerScript,
    ...(config === undefined ? [] : [JSON.stringify(full(config))])
  ])
  const send = (command: string) => {
    child.stdin?.write(`${command}\n`)
  }
  const developer: Developer = {
    log: log.since(),
    send,
    connect: async (c) => {
      developer.log = log.since()
      send(`connect ${JSON.stringify(full(c))}`)
      await developer.log.waitFor(subscribedOrFailed, "subscription")
    },
    disconnect: async () => {
      const view = log.since()
      send("disconnect")
      await view.waitFor((l) => l.includes("\"ev\":\"disconnected\"") || l.startsWith("<exited"), "disconnected")
    },
    stop: () => stop(child)
  }
  if (config === undefined) await log.waitFor((l) => l.includes("app-ready") || l.startsWith("<exited"), "app-ready")
  else await log.waitFor(subscribedOrFailed, "subscription")
  return developer
}

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command in the client namespace to its end. */
export const inClient = (network: Network, args: ReadonlyArray<string>, input?: string): Promise<Ran> =>
  new Promise((resolve) => {
    const child = execFile("ip", ["netns", "exec", network.client, ...args], { encoding: "latin1", maxBuffer: 256 * 1024 * 1024, timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : -1
      resolve({ code, stdout, stderr })
    })
    if (input !== undefined) child.stdin?.end(input)
  })

/** `curl` in the client namespace against the pod's port 80 (or `port`). */
export const curl = (network: Network, path: string, extra: ReadonlyArray<string> = [], port = 80): Promise<Ran> =>
  inClient(network, ["curl", "-sS", "--max-time", "45", ...extra, `http://${POD_ADDRESS}:${port}${path}`])

export interface Group {
  readonly network: Network
  /** One developer process for the group's proxy sessions, started on first use. */
  developer?: Developer | undefined
  /** Replaced when the agent is restarted. */
  agent: Agent
  readonly close: () => Promise<void>
}

/** A fresh network with the pod app and the agent running. */
export const startGroup = async (agent: AgentBinary & { readonly path: string }): Promise<Group> => {
  const network = makeNetwork()
  const stopPodApp = await startPodApp(network)
  const group: Group = {
    network,
    agent: await startAgent(network, agent),
    close: async () => {
      await group.developer?.stop()
      await group.agent.stop()
      await stopPodApp()
      await network.destroy()
    }
  }
  return group
}
