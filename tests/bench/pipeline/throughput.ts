/**
 * B2 throughput: one large response, local app → IncomingProxy (Chunked, agent-sim 1.29.0) →
 * agent-sim over loopback, versus the same app's body read by a plain node `http.get` and piped
 * into a TCP socket to a sink. Three processes either way: the app (child), the relay (child:
 * the proxy, or the node pipe) and the receiver (this process: the simulator, or the sink).
 * Every byte is checked against the app's pattern on both sides.
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import { type App, matchesPattern, spawnApp } from "./app.js"
import { type ProxyProcess, spawnProxy } from "./proxyProcess.js"
import {
  type BenchResult,
  fmtRate,
  fmtRatio,
  fmtSize,
  interleave,
  log,
  markdownTable,
  median,
  MiB
} from "./report.js"

export interface ThroughputOptions {
  readonly size: number
  readonly rounds: number
}

const REMOTE_PORT = 80
const host: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>]> = [["host", [Buffer.from("bench")]]]

/** Seconds for one response through the proxy, from injecting the request to its End. */
const throughProxy = (relay: ProxyProcess, app: App, size: number) =>
  Effect.scoped(Effect.gen(function*() {
    const sim = yield* AgentSim.make({ version: "1.29.0" })
    yield* relay.attach({ agent: sim.address, app, remotePort: REMOTE_PORT })
    yield* sim.awaitSubscription(REMOTE_PORT, "steal")
    let received = 0
    let intact = true
    let variant = ""
    let failure: string | undefined
    const start = performance.now()
    let end = start
    yield* sim.request(REMOTE_PORT, { method: "GET", uri: `/bytes?size=${size}`, headers: host }).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          switch (event._tag) {
            case "Head":
              variant = event.variant
              return
            case "Data":
              if (intact && !matchesPattern(event.bytes, received)) intact = false
              received += event.bytes.length
              return
            case "Error":
              failure = event.reason
              return
            case "End":
              end = event.at
          }
        })
      ),
      Effect.catchAll((error) => Effect.sync(() => void (failure = error.message)))
    )
    yield* relay.detach
    if (failure !== undefined || received !== size || !intact || variant !== "HttpResponseChunked") {
      return yield* Effect.dieMessage(
        `B2 pipeline run broken: ${failure ?? ""} variant ${variant}, ${received}/${size} bytes, intact ${intact}`
      )
    }
    return (end - start) / 1000
  }))

/** A sink server that checks the pattern and reports when `size` bytes have arrived. */
const sinkServer = Effect.acquireRelease(
  Effect.async<{ server: net.Server; port: number; expect: (size: number) => Promise<boolean> }>((resume) => {
    let waiting: { size: number; received: number; intact: boolean; done: (ok: boolean) => void } | undefined
    const server = net.createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        const w = waiting
        if (w === undefined) return
        if (w.intact && !matchesPattern(chunk, w.received)) w.intact = false
        w.received += chunk.length
        if (w.received >= w.size) {
          waiting = undefined
          w.done(w.intact && w.received === w.size)
        }
      })
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        server,
        port: (server.address() as net.AddressInfo).port,
        expect: (size) => new Promise<boolean>((done) => (waiting = { size, received: 0, intact: true, done }))
      })))
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

/** Seconds for the plain node relay: http.get piped into a socket to the sink. */
const throughPipe = (
  relay: ProxyProcess,
  app: App,
  sink: { port: number; expect: (size: number) => Promise<boolean> },
  size: number
) =>
  Effect.gen(function*() {
    const start = performance.now()
    const arrived = sink.expect(size)
    yield* relay.pipe({ app, sink: { host: "127.0.0.1", port: sink.port }, path: `/bytes?size=${size}` })
    if (!(yield* Effect.promise(() => arrived))) return yield* Effect.dieMessage("B2 baseline: body corrupted")
    return (performance.now() - start) / 1000
  })

export const run = (options: ThroughputOptions): Effect.Effect<BenchResult, never, Scope.Scope> =>
  Effect.orDie(Effect.gen(function*() {
    const app = yield* spawnApp
    const relay = yield* spawnProxy
    const sink = yield* sinkServer
    // warm-up: JIT, connection pool, socket buffers
    yield* throughProxy(relay, app, 16 * MiB)
    yield* throughPipe(relay, app, sink, 16 * MiB)
    const { baseline, subject } = yield* interleave(
      options.rounds,
      (round) =>
        Effect.tap(
          throughProxy(relay, app, options.size),
          (s) => log(`  B2 round ${round + 1}: pipeline ${fmtRate(options.size / s)}`)
        ),
      (round) =>
        Effect.tap(
          throughPipe(relay, app, sink, options.size),
          (s) => log(`  B2 round ${round + 1}: node pipe ${fmtRate(options.size / s)}`)
        )
    )
    const subjectRate = options.size / median(subject)
    const baselineRate = options.size / median(baseline)
    const ratio = subjectRate / baselineRate
    const met = ratio >= 0.8
    return {
      rows: [{
        bench: `B2 throughput ${fmtSize(options.size)}`,
        subject: `${fmtRate(subjectRate)} (proxy Chunked → agent-sim 1.29.0)`,
        baseline: `${fmtRate(baselineRate)} (http.get → pipe → TCP sink)`,
        ratio: fmtRatio(ratio),
        target: "≥ 0.80×",
        met,
        ...(met ? {} : {
          note: `B2: the pipeline moves ${fmtRate(subjectRate)} against ${
            fmtRate(baselineRate)
          } for node's own pipe (${fmtRatio(ratio)}). The proxy process is the bottleneck: it runs a core flat out ` +
            `while agent-sim's process stays about half idle. A CPU profile of the proxy process during this ` +
            `benchmark: ~23 % Effect fiber runtime and streams, ~14 % GC, ~11 % socket writes, ~5 % Buffer ` +
            `allocation. Body frames are no longer copied on the way out (zero-copy segmented encoding and ` +
            `writes, which did not move this figure): the cost is per chunk — each 64 KiB chunk crosses ` +
            `several Effect queues and fibers (socket reader, framing pump, per-connection path, agent ` +
            `connection outbound queue and writer), where node's pipe hands it straight to the socket.`
        })
      }],
      details: markdownTable(
        ["B2 round", ...subject.map((_, i) => String(i + 1)), "median"],
        [
          ["pipeline", ...subject.map((s) => fmtRate(options.size / s)), fmtRate(subjectRate)],
          ["node pipe", ...baseline.map((s) => fmtRate(options.size / s)), fmtRate(baselineRate)]
        ]
      )
    }
  }))
