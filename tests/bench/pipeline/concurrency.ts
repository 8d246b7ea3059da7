/**
 * B5 concurrency: `connections` concurrent stolen connections × `requests` requests each,
 * injected with agent-sim 1.29.0 (`sim.request`: a fresh connection id per request, as current
 * agents do) through the IncomingProxy (own process) to the app (own process); every body is
 * checked. Baseline: the same requests sent straight to the app with node:http (keep-alive
 * agent, as many sockets as connections), from this process.
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import { type App, itemBody, spawnApp } from "./app.js"
import { type ProxyProcess, spawnProxy } from "./proxyProcess.js"
import { type BenchResult, fmtMs, fmtRatio, interleave, log, markdownTable, median, percentile, type Row } from "./report.js"

export interface ConcurrencyOptions {
  readonly connections: number
  readonly requests: number
  readonly bodySize: number
  readonly rounds: number
}

const REMOTE_PORT = 80

interface Run {
  readonly seconds: number
  readonly latencies: Array<number>
  readonly completed: number
  readonly lost: number
  readonly corrupted: number
  /** The first few failures, for the report. */
  readonly failures: Array<string>
}

const tally = () => {
  const run = { latencies: [] as Array<number>, completed: 0, lost: 0, corrupted: 0, failures: [] as Array<string> }
  const fail = (kind: "lost" | "corrupted", why: string) => {
    run[kind]++
    if (run.failures.length < 5) run.failures.push(why)
  }
  return { run, fail }
}

const idOf = (worker: number, i: number, round: number) => `r${round}-w${worker}-i${i}`

const throughProxy = (relay: ProxyProcess, app: App, options: ConcurrencyOptions, round: number) =>
  Effect.scoped(Effect.gen(function*() {
    const sim = yield* AgentSim.make({ version: "1.29.0" })
    yield* relay.attach({ agent: sim.address, app, remotePort: REMOTE_PORT })
    yield* sim.awaitSubscription(REMOTE_PORT, "steal")
    const { fail, run } = tally()
    const one = (worker: number, i: number) =>
      Effect.gen(function*() {
        const id = idOf(worker, i, round)
        const start = performance.now()
        const parts: Array<Uint8Array> = []
        let status = 0
        let ended = false
        let error: string | undefined
        yield* sim.request(REMOTE_PORT, {
          method: "GET",
          uri: `/item/${id}?size=${options.bodySize}`,
          headers: [["host", [Buffer.from("bench")]]]
        }).pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              if (event._tag === "Head") status = event.status
              else if (event._tag === "Data") parts.push(event.bytes)
              else if (event._tag === "End") ended = true
              else if (event._tag === "Error") error = event.reason
            })
          ),
          Effect.catchAll((e) => Effect.sync(() => void (error = e.message)))
        )
        if (!ended || error !== undefined) return fail("lost", `${id}: ${error ?? "no End"}`)
        if (status !== 200 || !Buffer.concat(parts).equals(itemBody(id, options.bodySize))) {
          return fail("corrupted", `${id}: status ${status}`)
        }
        run.completed++
        run.latencies.push(performance.now() - start)
      })
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: options.connections }, (_, w) => w),
      (worker) => Effect.forEach(Array.from({ length: options.requests }, (_, i) => i), (i) => one(worker, i)),
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - start) / 1000
    yield* relay.detach
    return { ...run, seconds } satisfies Run
  }))

const direct = (app: App, options: ConcurrencyOptions, round: number) =>
  Effect.promise(async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections })
    const { fail, run } = tally()
    const one = (id: string) =>
      new Promise<void>((resolve) => {
        const start = performance.now()
        http.get({ host: app.host, port: app.port, path: `/item/${id}?size=${options.bodySize}`, agent }, (res) => {
          const parts: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => parts.push(chunk))
          res.on("end", () => {
            if (res.statusCode !== 200 || !Buffer.concat(parts).equals(itemBody(id, options.bodySize))) {
              fail("corrupted", `${id}: status ${res.statusCode}`)
            } else {
              run.completed++
              run.latencies.push(performance.now() - start)
            }
            resolve()
          })
          res.on("error", (e) => {
            fail("lost", `${id}: ${String(e)}`)
            resolve()
          })
        }).on("error", (e) => {
          fail("lost", `${id}: ${String(e)}`)
          resolve()
        })
      })
    const start = performance.now()
    await Promise.all(Array.from({ length: options.connections }, async (_, worker) => {
      for (let i = 0; i < options.requests; i++) await one(idOf(worker, i, round))
    }))
    const seconds = (performance.now() - start) / 1000
    agent.destroy()
    return { ...run, seconds } satisfies Run
  })

export const run = (options: ConcurrencyOptions): Effect.Effect<BenchResult, never, Scope.Scope> =>
  Effect.orDie(Effect.gen(function*() {
    const app = yield* spawnApp
    const relay = yield* spawnProxy
    const total = options.connections * options.requests
    // warm-up: a tenth of the load each way
    const warm = { ...options, requests: 1, connections: Math.max(1, Math.floor(options.connections / 10)) }
    yield* throughProxy(relay, app, warm, -1)
    yield* direct(app, warm, -1)
    const { baseline, subject } = yield* interleave(
      options.rounds,
      (round) =>
        Effect.tap(throughProxy(relay, app, options, round), (r) =>
          log(
            `  B5 round ${round + 1}: proxy ${(total / r.seconds).toFixed(0)} req/s, p99 ${
              fmtMs(percentile(r.latencies, 99))
            }, lost ${r.lost}, corrupted ${r.corrupted}`
          )),
      (round) =>
        Effect.tap(direct(app, options, round), (r) =>
          log(
            `  B5 round ${round + 1}: direct ${(total / r.seconds).toFixed(0)} req/s, p99 ${
              fmtMs(percentile(r.latencies, 99))
            }, lost ${r.lost}, corrupted ${r.corrupted}`
          ))
    )
    const rps = (runs: ReadonlyArray<Run>) => median(runs.map((r) => total / r.seconds))
    const p99 = (runs: ReadonlyArray<Run>) => median(runs.map((r) => percentile(r.latencies, 99)))
    const lost = subject.reduce((n, r) => n + r.lost, 0)
    const corrupted = subject.reduce((n, r) => n + r.corrupted, 0)
    const baseLost = baseline.reduce((n, r) => n + r.lost + r.corrupted, 0)
    const shape = `${options.connections} conn × ${options.requests} req`
    const intact = lost === 0 && corrupted === 0
    const rows: Array<Row> = [
      {
        bench: `B5 concurrency ${shape}: lost / corrupted`,
        subject: `${lost} / ${corrupted} of ${total * options.rounds}`,
        baseline: `${baseLost} (node:http direct)`,
        ratio: "–",
        target: "0 / 0",
        met: intact,
        ...(intact ? {} : {
          note: `B5: ${lost} lost, ${corrupted} corrupted; first failures: ${
            subject.flatMap((r) => r.failures).slice(0, 5).join("; ")
          }`
        })
      },
      {
        bench: `B5 concurrency ${shape}: throughput`,
        subject: `${rps(subject).toFixed(0)} req/s (agent-sim → proxy → app)`,
        baseline: `${rps(baseline).toFixed(0)} req/s (node:http keep-alive → app)`,
        ratio: fmtRatio(rps(subject) / rps(baseline)),
        target: "– (reported)",
        met: undefined,
        note: `B5: the proxy process is CPU-bound at this load (a CPU profile of it: ~26 % GC, most of ` +
          `the rest Effect's fiber runtime; LocalHttp keeps its connections pooled). One request alone ` +
          `takes ~2 ms in one process (sim → app ~0.7 ms, app → sim ~1.1 ms), ~3.5 ms across processes.`
      },
      {
        bench: `B5 concurrency ${shape}: p99 latency`,
        subject: fmtMs(p99(subject)),
        baseline: fmtMs(p99(baseline)),
        ratio: fmtRatio(p99(subject) / p99(baseline)),
        target: "– (reported)",
        met: undefined
      }
    ]
    return {
      rows,
      details: markdownTable(
        ["B5 round", "proxy req/s", "proxy p50 / p99", "direct req/s", "direct p50 / p99"],
        subject.map((r, i) => {
          const b = baseline[i]!
          return [
            String(i + 1),
            (total / r.seconds).toFixed(0),
            `${fmtMs(percentile(r.latencies, 50))} / ${fmtMs(percentile(r.latencies, 99))}`,
            (total / b.seconds).toFixed(0),
            `${fmtMs(percentile(b.latencies, 50))} / ${fmtMs(percentile(b.latencies, 99))}`
          ]
        })
      )
    }
  }))
