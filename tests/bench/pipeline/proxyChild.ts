/**
 * The relay process of the pipeline benchmarks, so that the relay has a process (and a core) of
 * its own and its RSS is its own: either the IncomingProxy (attached to an agent in the parent)
 * or, for baselines, a plain node `http.get` piped into a TCP socket.
 *
 * Commands (JSON lines on stdin) and answers (stdout):
 * - `attach {agent, app, remotePort, assumeVersion?, filter?}` → `attached`: connects, waits
 *   for the handshake, attaches; the first attach subscribes `remotePort` (steal, target `app`,
 *   HTTP filter `filter`), later ones re-send that subscription by themselves.
 * - `detach` → `detached {exit}`: ends the agent connection, reports how `attach` ended.
 * - `pipe {app, sink, path}` → `piped {bytes}`: GET `path` from the app, body piped to the sink.
 * - `mark` → `marked {rss, usage}`: restarts the peak RSS; `peak` → `peak {rss, peak, usage}`
 *   (`usage`: `process.memoryUsage()` when the peak was sampled).
 * - `stats` → `stats {proxy, localHttp}`.
 * - `cpu` → `cpu {user, system}`: `process.cpuUsage()` of this process (µs since it started).
 * - `reverseProxy {app}` → `reverseProxyReady {port}`: starts the B5 baseline, a plain node:http
 *   keep-alive reverse proxy (http.createServer + http.request with a keep-alive agent) to the
 *   app; `reverseProxyStop` → `reverseProxyStopped`.
 * - `profileStart` → `profiling`; `profileStop` → `profile {shares, busyMs, top}` (a CPU profile
 *   of this process between the two, see cpuProfile.ts).
 * RSS is sampled every 50 ms.
 */
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import * as net from "node:net"
import { type ChildMessage, fromParent, toParent } from "./childProcess.js"
import { profiler } from "./cpuProfile.js"
import { type Attached, attach, makeProxyStack } from "./proxyStack.js"

let peak = process.memoryUsage.rss()
// what the memory was made of when the peak was sampled, to explain it
let atPeak: NodeJS.MemoryUsage = process.memoryUsage()
setInterval(() => {
  const rss = process.memoryUsage.rss()
  if (rss > peak) {
    peak = rss
    atPeak = process.memoryUsage()
  }
}, 50).unref()

type Address = { readonly host: string; readonly port: number }

/** The B5 baseline: node's own keep-alive reverse proxy, nothing else. */
const startReverseProxy = (app: Address): Promise<{ server: http.Server; port: number; agent: http.Agent }> =>
  new Promise((resolve) => {
    const agent = new http.Agent({ keepAlive: true })
    const server = http.createServer((req, res) => {
      const upstream = http.request(
        { host: app.host, port: app.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      upstream.on("error", () => res.destroy())
      req.pipe(upstream)
    })
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port, agent }))
  })

const program = Effect.gen(function*() {
  let reverseProxy: { server: http.Server; port: number; agent: http.Agent } | undefined
  const cpuProfiler = profiler()
  const stack = yield* makeProxyStack()
  let attached: Attached | undefined
  let subscribed = false

  const handle = (m: ChildMessage): Effect.Effect<void, never, Scope.Scope> => {
    switch (m.type) {
      case "attach":
        return Effect.gen(function*() {
          const agent = m["agent"] as Address
          const assumeVersion = m["assumeVersion"] as string | undefined
          attached = yield* attach(stack, agent, { assumeVersion })
          if (!subscribed) {
            const filter = m["filter"] as HttpFilter | undefined
            yield* stack.proxy.subscribe({
              port: Number(m["remotePort"]),
              mode: "steal",
              target: m["app"] as Address,
              ...(filter === undefined ? {} : { filter })
            })
            subscribed = true
          }
          toParent({ type: "attached" })
        }).pipe(
          Effect.catchAll((error) => Effect.sync(() => toParent({ type: "error", detail: error.message })))
        )
      case "detach":
        return Effect.gen(function*() {
          const current = attached
          attached = undefined
          if (current === undefined) return toParent({ type: "detached", exit: "none" })
          yield* current.detach
          const exit = yield* current.ended
          toParent({ type: "detached", exit: Exit.isSuccess(exit) ? "success" : String(exit.cause) })
        })
      case "pipe":
        return Effect.async<void>((resume) => {
          const app = m["app"] as Address
          const sink = m["sink"] as Address
          const out = net.connect(sink.port, sink.host)
          let bytes = 0
          http.get({ host: app.host, port: app.port, path: String(m["path"]), agent: false }, (res) => {
            res.on("data", (chunk: Buffer) => {
              bytes += chunk.length
            })
            res.pipe(out)
            out.on("finish", () => {
              toParent({ type: "piped", bytes })
              resume(Effect.void)
            })
          }).on("error", (error) => {
            toParent({ type: "error", detail: String(error) })
            resume(Effect.void)
          })
        })
      case "mark":
        return Effect.sync(() => {
          atPeak = process.memoryUsage()
          peak = atPeak.rss
          toParent({ type: "marked", rss: peak, usage: atPeak })
        })
      case "peak":
        return Effect.sync(() => toParent({ type: "peak", rss: process.memoryUsage.rss(), peak, usage: atPeak }))
      case "stats":
        return Effect.gen(function*() {
          const proxy = yield* stack.proxy.stats
          const localHttp = yield* stack.localHttp.stats
          toParent({ type: "stats", proxy, localHttp })
        })
      case "cpu":
        return Effect.sync(() => toParent({ type: "cpu", ...process.cpuUsage() }))
      case "reverseProxy":
        return Effect.promise(async () => {
          reverseProxy ??= await startReverseProxy(m["app"] as Address)
          toParent({ type: "reverseProxyReady", port: reverseProxy.port })
        })
      case "reverseProxyStop":
        return Effect.promise(async () => {
          const current = reverseProxy
          reverseProxy = undefined
          if (current !== undefined) {
            current.agent.destroy()
            current.server.closeAllConnections()
            await new Promise<void>((resolve) => current.server.close(() => resolve()))
          }
          toParent({ type: "reverseProxyStopped" })
        })
      case "profileStart":
        return Effect.promise(async () => {
          await cpuProfiler.start()
          toParent({ type: "profiling" })
        })
      case "profileStop":
        return Effect.promise(async () => {
          const result = await cpuProfiler.stop()
          toParent({ type: "profile", ...result })
        })
      default:
        return Effect.sync(() => toParent({ type: "error", detail: `unknown command ${m.type}` }))
    }
  }

  // one command at a time, in order
  const queue: Array<ChildMessage> = []
  let running = false
  const runFork = Runtime.runFork(yield* Effect.runtime<Scope.Scope>())
  const pump = () => {
    if (running) return
    const next = queue.shift()
    if (next === undefined) return
    running = true
    runFork(handle(next)).addObserver(() => {
      running = false
      pump()
    })
  }
  fromParent((m) => {
    queue.push(m)
    pump()
  })
  toParent({ type: "ready", pid: process.pid })
  yield* Effect.never
})

process.on("SIGTERM", () => process.exit(0))
Effect.runFork(Effect.scoped(program))
