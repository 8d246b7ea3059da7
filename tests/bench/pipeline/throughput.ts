/**
 * B2 throughput: one large response, local app → IncomingProxy (Chunked, agent 1.29.0) → agent
 * over loopback, versus the same app's body read by a plain node `http.get` and piped into a TCP
 * socket to a sink. Three processes either way: the app (child), the relay (child: the proxy, or
 * the node pipe) and the receiver (this process). The receiver of the headline figures is the
 * light agent (lightAgent.ts: raw protocol, no Effect), so the proxy is the bottleneck; the same
 * run through agent-sim is reported as extra rows. The relay process's own CPU time
 * (`process.cpuUsage` in it) is reported per 64 KiB of body for the proxy and for the pipe.
 * Every byte is checked against the app's pattern on both sides.
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import { type App, matchesPattern, spawnApp } from "./app.js"
import type { ProfileShares } from "./cpuProfile.js"
import { lightAgent } from "./lightAgent.js"
import { type ProxyProcess, spawnProxy, withCpu } from "./proxyProcess.js"
import {
  type BenchResult,
  fmtRate,
  fmtRatio,
  fmtSize,
  interleave,
  log,
  markdownTable,
  type Metric,
  median,
  metric,
  MiB,
  type Row
} from "./report.js"

export interface ThroughputOptions {
  readonly size: number
  readonly rounds: number
  /** Rounds of the agent-sim receiver variant (0: skip it). */
  readonly simRounds: number
  /** Also take a CPU profile of the proxy process during one extra light-receiver run. */
  readonly profile: boolean
}

export interface ThroughputResult extends BenchResult {
  readonly profile: ProfileShares | undefined
}

const CHUNK = 64 * 1024

const REMOTE_PORT = 80
const host: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>]> = [["host", [Buffer.from("bench")]]]

/** Seconds for one response through the proxy to the light agent, from injecting the request to its end. */
const throughProxyLight = (relay: ProxyProcess, app: App, size: number) =>
  Effect.scoped(Effect.gen(function*() {
    const agent = yield* lightAgent
    yield* relay.attach({ agent: agent.address, app, remotePort: REMOTE_PORT })
    const session = yield* agent.accept
    yield* Effect.promise(() => session.subscribed)
    let received = 0
    let intact = true
    let variant = ""
    let failure: string | undefined
    const start = performance.now()
    yield* Effect.async<void>((resume) =>
      session.request(REMOTE_PORT, `/bytes?size=${size}`, {
        head: (_status, v) => void (variant = v),
        data: (bytes) => {
          if (intact && !matchesPattern(bytes, received)) intact = false
          received += bytes.length
        },
        end: () => resume(Effect.void),
        fail: (why) => {
          failure = why
          resume(Effect.void)
        }
      })
    )
    const seconds = (performance.now() - start) / 1000
    yield* relay.detach
    if (failure !== undefined || received !== size || !intact || variant !== "HttpResponseChunked") {
      return yield* Effect.dieMessage(
        `B2 light run broken: ${failure ?? ""} variant ${variant}, ${received}/${size} bytes, intact ${intact}`
      )
    }
    return seconds
  }))

/** Seconds for one response through the proxy to agent-sim, from injecting the request to its End. */
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


interface Measured {
  readonly seconds: number
  /** CPU of the relay process (proxy or pipe) during the run, µs */
  readonly cpuMicros: number
  /** CPU of this process — the receiver: light agent, agent-sim or sink — during the run, µs */
  readonly receiverMicros: number
}

const cpuNow = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

const measured = <E>(relay: ProxyProcess, effect: Effect.Effect<number, E>) =>
  Effect.gen(function*() {
    const before = cpuNow()
    const { cpuMicros, result } = yield* withCpu(relay, effect)
    return { seconds: result, cpuMicros, receiverMicros: cpuNow() - before } satisfies Measured
  })

export const run = (options: ThroughputOptions): Effect.Effect<ThroughputResult, never, Scope.Scope> =>
  Effect.orDie(Effect.gen(function*() {
    const app = yield* spawnApp
    const relay = yield* spawnProxy
    const sink = yield* sinkServer
    const chunks = options.size / CHUNK
    // warm-up: JIT, connection pool, socket buffers
    yield* throughProxyLight(relay, app, 16 * MiB)
    yield* throughPipe(relay, app, sink, 16 * MiB)
    const report = (label: string) => (round: number) => (m: Measured) =>
      log(
        `  B2 round ${round + 1}: ${label} ${fmtRate(options.size / m.seconds)}, relay CPU ${
          (m.cpuMicros / chunks).toFixed(1)
        } µs/64 KiB, receiver CPU ${(m.receiverMicros / chunks).toFixed(1)} µs/64 KiB`
      )
    const { baseline, subject } = yield* interleave(
      options.rounds,
      (round) => Effect.tap(measured(relay, throughProxyLight(relay, app, options.size)), report("proxy → light agent")(round)),
      (round) => Effect.tap(measured(relay, throughPipe(relay, app, sink, options.size)), report("node pipe")(round))
    )
    const viaSim: Array<Measured> = []
    if (options.simRounds > 0) yield* throughProxy(relay, app, 16 * MiB)
    for (let round = 0; round < options.simRounds; round++) {
      viaSim.push(yield* Effect.tap(measured(relay, throughProxy(relay, app, options.size)), report("proxy → agent-sim")(round)))
    }
    let profile: ProfileShares | undefined
    if (options.profile) {
      yield* relay.profileStart
      yield* throughProxyLight(relay, app, options.size)
      profile = yield* relay.profileStop
      log(`  B2 profile: ${JSON.stringify(profile.shares)}`)
    }

    const rate = (runs: ReadonlyArray<Measured>) => options.size / median(runs.map((r) => r.seconds))
    const cpuPerChunk = (runs: ReadonlyArray<Measured>) => median(runs.map((r) => r.cpuMicros / chunks))
    const receiverPerChunk = (runs: ReadonlyArray<Measured>) => median(runs.map((r) => r.receiverMicros / chunks))
    const subjectRate = rate(subject)
    const baselineRate = rate(baseline)
    const ratio = subjectRate / baselineRate
    const met = ratio >= 0.7
    const cpuRatio = cpuPerChunk(subject) / cpuPerChunk(baseline)
    const cpuMet = cpuRatio <= 1.5
    const size = fmtSize(options.size)
    const rows: Array<Row> = [
      {
        bench: `B2 throughput ${size}`,
        subject: `${fmtRate(subjectRate)} (proxy Chunked → light agent)`,
        baseline: `${fmtRate(baselineRate)} (http.get → pipe → TCP sink)`,
        ratio: fmtRatio(ratio),
        target: "≥ 0.70×",
        met,
        ...(met ? {} : {
          note: `B2: the proxy moves ${fmtRate(subjectRate)} to a receiver that does almost nothing, against ${
            fmtRate(baselineRate)
          } for node's own pipe (${fmtRatio(ratio)}); the proxy process spends ${
            cpuPerChunk(subject).toFixed(0)
          } µs of CPU per 64 KiB chunk against the pipe's ${cpuPerChunk(baseline).toFixed(0)} µs.`
        })
      },
      {
        bench: `B2 relay CPU per 64 KiB`,
        subject: `${cpuPerChunk(subject).toFixed(1)} µs (proxy process)`,
        baseline: `${cpuPerChunk(baseline).toFixed(1)} µs (pipe process)`,
        ratio: fmtRatio(cpuRatio),
        target: "≤ 1.50×",
        met: cpuMet,
        ...(cpuMet ? {} : {
          note: `B2 CPU: ${cpuPerChunk(subject).toFixed(0)} µs per 64 KiB in the proxy process against ${
            cpuPerChunk(baseline).toFixed(0)
          } µs for node's pipe (${fmtRatio(cpuRatio)}); see the profile shares for where it goes.`
        })
      }
    ]
    const metrics: Array<Metric> = [
      metric("B2.throughput", subjectRate / MiB, baselineRate / MiB, "MiB/s", { text: ">= 0.7x", met }),
      metric("B2.cpuPerChunk", cpuPerChunk(subject), cpuPerChunk(baseline), "us/64KiB", { text: "<= 1.5x", met: cpuMet }),
      // the receivers' own cost: the light agent against the plain sink
      metric("B2.receiverCpuPerChunk", receiverPerChunk(subject), receiverPerChunk(baseline), "us/64KiB")
    ]
    if (viaSim.length > 0) {
      rows.push(
        {
          bench: `B2 throughput ${size}, agent-sim receiver`,
          subject: `${fmtRate(rate(viaSim))} (proxy Chunked → agent-sim 1.29.0)`,
          baseline: `${fmtRate(baselineRate)} (http.get → pipe → TCP sink)`,
          ratio: fmtRatio(rate(viaSim) / baselineRate),
          target: "– (reported)",
          met: undefined
        },
        {
          bench: `B2 relay CPU per 64 KiB, agent-sim receiver`,
          subject: `${cpuPerChunk(viaSim).toFixed(1)} µs (proxy process)`,
          baseline: `${cpuPerChunk(baseline).toFixed(1)} µs (pipe process)`,
          ratio: fmtRatio(cpuPerChunk(viaSim) / cpuPerChunk(baseline)),
          target: "– (reported)",
          met: undefined
        },
        {
          bench: `B2 receiver CPU per 64 KiB: agent-sim vs light agent`,
          subject: `${receiverPerChunk(viaSim).toFixed(1)} µs (agent-sim's process)`,
          baseline: `${receiverPerChunk(subject).toFixed(1)} µs (light agent's process)`,
          ratio: fmtRatio(receiverPerChunk(viaSim) / receiverPerChunk(subject)),
          target: "– (reported)",
          met: undefined
        }
      )
      metrics.push(
        metric("B2.agentSim.throughput", rate(viaSim) / MiB, baselineRate / MiB, "MiB/s"),
        metric("B2.agentSim.cpuPerChunk", cpuPerChunk(viaSim), cpuPerChunk(baseline), "us/64KiB"),
        metric("B2.agentSim.receiverCpuPerChunk", receiverPerChunk(viaSim), receiverPerChunk(subject), "us/64KiB")
      )
    }
    const line = (label: string, runs: ReadonlyArray<Measured>) => [
      label,
      ...runs.map((r) =>
        `${fmtRate(options.size / r.seconds)}, ${(r.cpuMicros / chunks).toFixed(0)} / ${(r.receiverMicros / chunks).toFixed(0)} µs`
      ),
      ...Array.from({ length: options.rounds - runs.length }, () => "–"),
      `${fmtRate(rate(runs))}, ${cpuPerChunk(runs).toFixed(0)} / ${receiverPerChunk(runs).toFixed(0)} µs`
    ]
    return {
      rows,
      metrics,
      profile,
      details: [
        "B2 rounds: throughput, then CPU per 64 KiB of the relay process / of the receiver's process.",
        "",
        markdownTable(
          ["B2 round", ...subject.map((_, i) => String(i + 1)), "median"],
          [
            line("proxy → light agent", subject),
            line("node pipe → sink", baseline),
            ...(viaSim.length > 0 ? [line("proxy → agent-sim", viaSim)] : [])
          ]
        )
      ].join("\n")
    }
  }))
