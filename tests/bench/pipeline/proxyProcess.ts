/**
 * The parent's handle on a relay process (`proxyChild.ts`).
 */
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawnChild } from "./childProcess.js"
import type { ProfileShares } from "./cpuProfile.js"

export type MemoryUsage = NodeJS.MemoryUsage

type Address = { readonly host: string; readonly port: number }

export interface ProxyProcess {
  readonly pid: number
  /** Attaches the proxy to the agent at `agent` (subscribing `remotePort` → `app` the first time). */
  readonly attach: (options: {
    readonly agent: Address
    readonly app: Address
    readonly remotePort: number
    readonly assumeVersion?: string
    /** HTTP filter of the subscription (agents before 1.19.4 steal HTTP only with one). */
    readonly filter?: HttpFilter
  }) => Effect.Effect<void>
  /** Ends the current agent connection; how the attachment ended. */
  readonly detach: Effect.Effect<string>
  /** Plain node relay: GET `path` from the app, piped to the sink; the bytes relayed. */
  readonly pipe: (options: { readonly app: Address; readonly sink: Address; readonly path: string }) => Effect.Effect<number>
  /** The proxy's and LocalHttp's live counts. */
  readonly stats: Effect.Effect<{ readonly proxy: unknown; readonly localHttp: unknown }>
  /** Restarts the peak RSS; the current memory usage. */
  readonly mark: Effect.Effect<MemoryUsage>
  /** Peak RSS since the last mark, the memory usage at that peak, and the current RSS. */
  readonly peak: Effect.Effect<{ readonly peak: number; readonly rss: number; readonly usage: MemoryUsage }>
  /** CPU time (user + system, µs) this process has used so far: `process.cpuUsage()` inside it. */
  readonly cpu: Effect.Effect<number>
  /** Starts (once) the node:http keep-alive reverse proxy to `app`; its port. */
  readonly reverseProxy: (app: Address) => Effect.Effect<number>
  readonly stopReverseProxy: Effect.Effect<void>
  readonly profileStart: Effect.Effect<void>
  readonly profileStop: Effect.Effect<ProfileShares>
}

/**
 * CPU time (µs) `relay` spends while `effect` runs, next to its result. The two readings are
 * requests to the process, so the figure includes two tiny command round trips.
 */
export const withCpu = <A, E, R>(relay: ProxyProcess, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* relay.cpu
    const result = yield* effect
    const after = yield* relay.cpu
    return { result, cpuMicros: after - before }
  })

export const spawnProxy: Effect.Effect<ProxyProcess, never, Scope.Scope> = Effect.gen(function*() {
  const child = yield* spawnChild("proxyChild.ts")
  yield* child.next("ready")
  const ask = (message: { readonly type: string } & Record<string, unknown>, answer: string, timeoutMs?: number) =>
    Effect.zipRight(child.send(message), child.next(answer, timeoutMs))
  return {
    pid: child.pid,
    attach: (options) =>
      Effect.asVoid(ask({ type: "attach", ...options, app: { host: options.app.host, port: options.app.port } }, "attached")),
    detach: Effect.map(ask({ type: "detach" }, "detached"), (m) => String(m["exit"])),
    pipe: (options) => Effect.map(ask({ type: "pipe", ...options }, "piped", 120_000), (m) => Number(m["bytes"])),
    cpu: Effect.map(ask({ type: "cpu" }, "cpu"), (m) => Number(m["user"]) + Number(m["system"])),
    reverseProxy: (app) =>
      Effect.map(ask({ type: "reverseProxy", app: { host: app.host, port: app.port } }, "reverseProxyReady"), (m) =>
        Number(m["port"])),
    stopReverseProxy: Effect.asVoid(ask({ type: "reverseProxyStop" }, "reverseProxyStopped")),
    profileStart: Effect.asVoid(ask({ type: "profileStart" }, "profiling")),
    profileStop: Effect.map(ask({ type: "profileStop" }, "profile", 120_000), (m) => m as unknown as ProfileShares),
    stats: Effect.map(ask({ type: "stats" }, "stats"), (m) => ({ proxy: m["proxy"], localHttp: m["localHttp"] })),
    mark: Effect.map(ask({ type: "mark" }, "marked"), (m) => m["usage"] as MemoryUsage),
    peak: Effect.map(ask({ type: "peak" }, "peak"), (m) => ({
      peak: Number(m["peak"]),
      rss: Number(m["rss"]),
      usage: m["usage"] as MemoryUsage
    }))
  }
})
