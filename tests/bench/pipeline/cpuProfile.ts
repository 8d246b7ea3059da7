/**
 * CPU profiles of a benchmark process (V8's sampling profiler through node:inspector, in the
 * process itself) and how its time splits: the Effect runtime, GC, our code (packages/*), socket
 * writes and other Node internals, and the rest. Idle time is left out of the shares.
 */
import * as inspector from "node:inspector"

export const CATEGORIES = ["effect", "gc", "ours", "node", "other"] as const
export type Category = (typeof CATEGORIES)[number]

export const categoryLabel: Record<Category, string> = {
  effect: "Effect runtime",
  gc: "GC",
  ours: "our code (packages/*)",
  node: "socket writes / Node internals",
  other: "other"
}

export interface ProfileShares {
  /** Busy (non-idle) milliseconds sampled. */
  readonly busyMs: number
  /** Share of busy time per category, 0–1. */
  readonly shares: Record<Category, number>
  /** The functions with the most self time: `name (file)`, share of busy time. */
  readonly top: ReadonlyArray<{ readonly name: string; readonly share: number; readonly category: Category }>
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

/** Which part of the process a sampled frame belongs to (by its script URL). */
export const categorize = (functionName: string, url: string): Category | "idle" => {
  if (functionName === "(idle)") return "idle"
  if (functionName === "(garbage collector)") return "gc"
  if (/[/\\]node_modules[/\\](\.pnpm[/\\])?(@effect|effect)/.test(url)) return "effect"
  if (/[/\\]packages[/\\][^/\\]+[/\\]src[/\\]/.test(url) && !url.includes("node_modules")) return "ours"
  // node's own JS (net, stream, http) and native builtins without a script (writev, writeBuffer…)
  if (url.startsWith("node:") || (url === "" && functionName !== "(program)" && functionName !== "(root)")) {
    return "node"
  }
  return "other"
}

/** Shares of a V8 CPU profile. */
export const sharesOf = (profile: Profile): ProfileShares => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  // timeDeltas[i] is the time before sample i; attribute it to the sample that follows it
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt))
  }
  const totals: Record<Category, number> = { effect: 0, gc: 0, ours: 0, node: 0, other: 0 }
  const perFunction = new Map<string, { us: number; category: Category }>()
  let busy = 0
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, url } = node.callFrame
    const category = categorize(functionName, url)
    if (category === "idle") continue
    busy += us
    totals[category] += us
    const file = url.replace(/^.*[/\\](node_modules[/\\](\.pnpm[/\\][^/\\]+[/\\])?node_modules[/\\])?/, "")
    const key = `${functionName || "(anonymous)"} (${file || "native"}${url === "" ? "" : `:${node.callFrame.lineNumber + 1}`})`
    const entry = perFunction.get(key) ?? { us: 0, category }
    entry.us += us
    perFunction.set(key, entry)
  }
  const share = (us: number) => (busy === 0 ? 0 : us / busy)
  return {
    busyMs: busy / 1000,
    shares: {
      effect: share(totals.effect),
      gc: share(totals.gc),
      ours: share(totals.ours),
      node: share(totals.node),
      other: share(totals.other)
    },
    top: [...perFunction.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 12)
      .map(([name, e]) => ({ name, share: share(e.us), category: e.category }))
  }
}

/** A profiler session in this process: `start`, then `stop` gives the shares. */
export const profiler = () => {
  const session = new inspector.Session()
  session.connect()
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error === null ? resolve(result as T) : reject(error)))
    )
  return {
    start: async () => {
      await post("Profiler.enable")
      await post("Profiler.setSamplingInterval", { interval: 200 })
      await post("Profiler.start")
    },
    stop: async (): Promise<ProfileShares> => {
      const { profile } = await post<{ profile: Profile }>("Profiler.stop")
      await post("Profiler.disable")
      return sharesOf(profile)
    }
  }
}
