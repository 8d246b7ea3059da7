/**
 * The network of one test group, made of namespaces this suite owns (names start with
 * {@link PREFIX}): client ↔ pod ↔ developer over two veth pairs, with private addresses that
 * exist only inside them. The real agent runs in the pod as pid 1 of its own pid namespace,
 * next to a small "pod app" (the workload whose port is stolen).
 *
 * Everything here is plain `child_process`: this is test plumbing below the library, and every
 * process it starts is registered so `destroyAll` (afterAll and process exit) can end it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LineLog } from "./lineLog.js"

/** Namespaces of this suite: `mera-<pid>-<n>-{c,p,d}` (mirrord-effect real agent). */
export const PREFIX = "mera-"
export const CLIENT_ADDRESS = "10.200.1.2"
export const POD_ADDRESS = "10.200.1.1"
export const POD_DEV_ADDRESS = "10.200.2.1"
export const DEV_ADDRESS = "10.200.2.2"
export const AGENT_PORT = 61337

const run = (args: ReadonlyArray<string>) => execFileSync(args[0]!, args.slice(1), { stdio: "pipe", timeout: 30_000 })
const tryRun = (args: ReadonlyArray<string>) => {
  try {
    run(args)
  } catch {
    // cleanup of something already gone
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every process a namespace holds, killed; then the namespace (and its rules) deleted. */
const deleteNamespace = (name: string) => {
  try {
    const pids = execFileSync("ip", ["netns", "pids", name], { stdio: "pipe" }).toString().split(/\s+/).filter((p) => p !== "")
    for (const pid of pids) tryRun(["kill", "-9", pid])
  } catch {
    // no such namespace
  }
  tryRun(["ip", "netns", "del", name])
}

const ownNamespaces = () =>
  execFileSync("ip", ["netns", "list"], { stdio: "pipe" }).toString().split("\n").map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(PREFIX))

/** Removes namespaces left by earlier runs of this suite whose process is gone. */
export const sweepLeftovers = (): ReadonlyArray<string> => {
  const swept: Array<string> = []
  for (const name of ownNamespaces()) {
    const pid = Number(name.split("-")[1])
    if (pid !== process.pid && !alive(pid)) {
      deleteNamespace(name)
      swept.push(name)
    }
  }
  return swept
}

/** Why this machine cannot run the suite, or undefined when it can. */
export const unavailableReason = (agentsDir: string): string | undefined => {
  if (!existsSync(agentsDir)) return `${agentsDir} is absent (no real agents to test against)`
  if (process.platform !== "linux") return "network namespaces need Linux"
  if (process.getuid?.() !== 0) return "network namespaces need root"
  for (const tool of ["ip", "unshare", "curl", "xz", "iptables-legacy"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "pipe" })
    } catch {
      return `${tool} is not installed (Debian: iproute2 util-linux curl xz-utils iptables)`
    }
  }
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    run(["ip", "netns", "add", probe])
    return undefined
  } catch (error) {
    return `cannot create a network namespace: ${String((error as Error).message).split("\n")[0]}`
  } finally {
    tryRun(["ip", "netns", "del", probe])
  }
}

export interface AgentBinary {
  readonly file: string
  readonly release: string
  readonly protocol: string
  /** Debug builds are 10–50× slower on bodies: tests use small bodies there. */
  readonly debug: boolean
}

/** The agents present in `agentsDir`, decompressed once into a cache directory. */
export const agentBinaries = (agentsDir: string): ReadonlyArray<AgentBinary & { readonly path: string }> => {
  const cache = join(tmpdir(), "mirrord-effect-real-agents")
  mkdirSync(cache, { recursive: true })
  return readdirSync(agentsDir)
    .map((file) => /^mirrord-agent-(.+)-protocol-(\d+\.\d+\.\d+)\.xz$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const path = join(cache, m[0].replace(/\.xz$/, ""))
      if (!existsSync(path)) {
        execFileSync("sh", ["-c", `xz -dc "$1" > "$2.tmp" && chmod +x "$2.tmp" && mv "$2.tmp" "$2"`, "sh", join(agentsDir, m[0]), path])
      }
      // the two 1.8.x builds are debug builds (see ../shared/agents/README.md)
      return { file: m[0], release: m[1]!, protocol: m[2]!, debug: /^1\.8\./.test(m[2]!), path }
    })
    .sort((a, b) => compareVersions(a.protocol, b.protocol))
}

const compareVersions = (a: string, b: string) => {
  const pa = a.split(".").map(Number)
  const pb = b.split(".").map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!
  return 0
}

const processes = new Set<ChildProcess>()
const namespaces = new Set<string>()
let groups = 0

/** Starts a process in its own process group (so it and its children can be ended together). */
export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): { child: ChildProcess; log: LineLog } => {
  const child = spawn(args[0]!, args.slice(1), {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...env }
  })
  processes.add(child)
  child.on("exit", () => processes.delete(child))
  const log = new LineLog(child)
  return { child, log }
}

/**
 * Ends a started process group and waits for it to be gone: `SIGTERM` first when `graceMs` is
 * given (an agent then removes its redirect rules), `SIGKILL` after it.
 */
export const stop = async (child: ChildProcess, graceMs = 0): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name)
    } catch {
      // already gone
    }
  }
  if (graceMs > 0) {
    signal("SIGTERM")
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
    })
    await Promise.race([exited, graceOver])
    clearTimeout(timer)
  }
  signal("SIGKILL")
  await exited
}

/** The agent's redirect rules (`MRD…` chains) left in the pod namespace. */
export const podRules = (network: Network): ReadonlyArray<string> =>
  execFileSync("ip", ["netns", "exec", network.pod, "iptables-legacy", "-t", "nat", "-S"], { stdio: "pipe" }).toString()
    .split("\n").filter((l) => l.includes("MRD"))

/** Removes the NAT rules (an agent's redirects) in the pod namespace. */
export const flushPodRules = (network: Network): void => {
  tryRun(["ip", "netns", "exec", network.pod, "iptables-legacy", "-t", "nat", "-F"])
  tryRun(["ip", "netns", "exec", network.pod, "iptables-legacy", "-t", "nat", "-X"])
}

export interface Network {
  readonly client: string
  readonly pod: string
  readonly developer: string
  readonly destroy: () => Promise<void>
}

/** Three fresh namespaces wired client ↔ pod ↔ developer. */
export const makeNetwork = (): Network => {
  const base = `${PREFIX}${process.pid}-${++groups}`
  const [client, pod, developer] = [`${base}-c`, `${base}-p`, `${base}-d`]
  for (const ns of [client, pod, developer]) {
    run(["ip", "netns", "add", ns])
    namespaces.add(ns)
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
  }
  run(["ip", "link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "p0", "netns", pod])
  run(["ip", "link", "add", "d0", "netns", developer, "type", "veth", "peer", "name", "p1", "netns", pod])
  run(["ip", "-n", client, "addr", "add", `${CLIENT_ADDRESS}/24`, "dev", "c0"])
  run(["ip", "-n", pod, "addr", "add", `${POD_ADDRESS}/24`, "dev", "p0"])
  run(["ip", "-n", pod, "addr", "add", `${POD_DEV_ADDRESS}/24`, "dev", "p1"])
  run(["ip", "-n", developer, "addr", "add", `${DEV_ADDRESS}/24`, "dev", "d0"])
  for (const [ns, dev] of [[client, "c0"], [pod, "p0"], [pod, "p1"], [developer, "d0"]] as const) {
    run(["ip", "-n", ns, "link", "set", dev, "up"])
  }
  // Old agents' sniffer needs a default route; this one leads only into the client namespace.
  run(["ip", "-n", pod, "route", "add", "default", "via", CLIENT_ADDRESS])
  return {
    client,
    pod,
    developer,
    destroy: async () => {
      for (const ns of [client, pod, developer]) {
        deleteNamespace(ns)
        namespaces.delete(ns)
      }
    }
  }
}

/** Ends every process and namespace this run made (afterAll, and process exit as a backstop). */
export const destroyAll = async (): Promise<void> => {
  await Promise.all([...processes].map(stop))
  for (const ns of namespaces) deleteNamespace(ns)
  namespaces.clear()
}

process.on("exit", () => {
  for (const child of processes) {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {
      // gone
    }
  }
  for (const ns of namespaces) deleteNamespace(ns)
})
