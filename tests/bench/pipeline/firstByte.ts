/**
 * B3 first byte: an SSE app writes an event every 50 ms, each carrying the wall-clock time of
 * its write; the latency of an event is the time from that write to the simulator receiving
 * the event's data line (`ResponseEvent.at`). The app and the simulator share this process (one
 * clock); the proxy runs in its own process. Body sizes 1 KiB, 1 MiB, 64 MiB: the same number
 * of events, padded to reach the size.
 *
 * Modes: Chunked (agent 1.29.0, the subject), Framed (1.7.0) and Basic (1.2.2, assumeVersion),
 * which wait for the end of the body by design, and the baseline: node `http.get` straight to
 * the app.
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import { type App, serveApp } from "./app.js"
import { type ProxyProcess, spawnProxy } from "./proxyProcess.js"
import {
  type BenchResult,
  fmtMs,
  fmtRatio,
  fmtSize,
  log,
  markdownTable,
  MiB,
  percentile,
  type Metric,
  metric,
  type Row
} from "./report.js"

export interface FirstByteOptions {
  readonly events: number
  readonly rounds: number
  readonly intervalMs?: number
  /**
   * Run Framed and Basic at 64 MiB (first round only): the simulator needs ~20 s to decode a
   * 64 MiB HttpResponseFramed (see the notes), and Basic fails at the codec's 64 MiB cap.
   */
  readonly largeBuffered: boolean
}

const REMOTE_PORT = 80
const SIZES = [1024, MiB, 64 * MiB] as const

type Mode = "Chunked" | "Framed" | "Basic" | "Direct"
const MODES: ReadonlyArray<{ readonly mode: Mode; readonly version?: string; readonly assume?: boolean }> = [
  { mode: "Chunked", version: "1.29.0" },
  { mode: "Framed", version: "1.7.0" },
  { mode: "Basic", version: "1.2.2", assume: true },
  { mode: "Direct" }
]

/**
 * Finds the `data: {"seq":…,"t":…}` lines of an event stream delivered in arbitrary pieces, and
 * reports each with the arrival time of the piece that completed it. Only the first 64 bytes of
 * each line are looked at (the padding lines are long).
 */
const eventScanner = (onEvent: (seq: number, writtenAt: number, arrivedAt: number) => void) => {
  let carry = ""
  const LINE_HEAD = 64
  return (bytes: Uint8Array, at: number) => {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let pos = 0
    for (;;) {
      const nl = buf.indexOf(10, pos)
      if (nl < 0) {
        if (carry.length < LINE_HEAD) carry += buf.toString("latin1", pos, Math.min(buf.length, pos + LINE_HEAD))
        return
      }
      const line = carry + buf.toString("latin1", pos, Math.min(nl, pos + LINE_HEAD))
      carry = ""
      pos = nl + 1
      if (line.startsWith("data: {")) {
        const event = JSON.parse(line.slice("data: ".length)) as { seq: number; t: number }
        onEvent(event.seq, event.t, performance.timeOrigin + at)
      }
    }
  }
}

interface StreamRun {
  readonly latencies: Array<number>
  readonly failure: string | undefined
}

const ssePath = (size: number, options: FirstByteOptions) =>
  `/sse?events=${options.events}&size=${size}&interval=${options.intervalMs ?? 50}`

const throughProxy = (relay: ProxyProcess, app: App, spec: (typeof MODES)[number], path: string, events: number) =>
  Effect.scoped(Effect.gen(function*() {
    const sim = yield* AgentSim.make({ version: spec.version! })
    yield* relay.attach({
      agent: sim.address,
      app,
      remotePort: REMOTE_PORT,
      // agents before 1.19.4 pass HTTP on an unfiltered steal through as raw TCP
      filter: { _tag: "Path", value: "^/" },
      ...(spec.assume === true ? { assumeVersion: spec.version! } : {})
    })
    yield* sim.awaitSubscription(REMOTE_PORT, "steal")
    const latencies: Array<number> = []
    const scan = eventScanner((_seq, writtenAt, arrivedAt) => latencies.push(arrivedAt - writtenAt))
    let failure: string | undefined
    yield* sim.request(REMOTE_PORT, { method: "GET", uri: path, headers: [["host", [Buffer.from("bench")]]] }).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "Data") scan(event.bytes, event.at)
          else if (event._tag === "Error") failure = event.reason
        })
      ),
      Effect.catchAll((error) => Effect.sync(() => void (failure = `${error.reason}: ${error.detail}`)))
    )
    yield* relay.detach
    if (failure === undefined && latencies.length !== events) failure = `${latencies.length}/${events} events arrived`
    return { latencies, failure } satisfies StreamRun
  }))

const direct = (app: App, path: string, events: number) =>
  Effect.async<StreamRun>((resume) => {
    const latencies: Array<number> = []
    const scan = eventScanner((_seq, writtenAt, arrivedAt) => latencies.push(arrivedAt - writtenAt))
    http.get({ host: app.host, port: app.port, path, agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => scan(chunk, performance.now()))
      res.on("end", () =>
        resume(Effect.succeed({
          latencies,
          failure: latencies.length === events ? undefined : `${latencies.length}/${events} events arrived`
        })))
    }).on("error", (error) => resume(Effect.succeed({ latencies, failure: String(error) })))
  })

export const run = (options: FirstByteOptions): Effect.Effect<BenchResult, never, Scope.Scope> =>
  Effect.orDie(Effect.gen(function*() {
    const app = yield* serveApp
    const relay = yield* spawnProxy
    const key = (mode: Mode, size: number) => `${mode}/${size}`
    const latencies = new Map<string, Array<number>>()
    const failures = new Map<string, string>()
    const runOnce = (spec: (typeof MODES)[number], size: number) =>
      Effect.gen(function*() {
        const path = ssePath(size, options)
        const result = spec.mode === "Direct"
          ? yield* direct(app, path, options.events)
          : yield* throughProxy(relay, app, spec, path, options.events)
        const k = key(spec.mode, size)
        latencies.set(k, [...(latencies.get(k) ?? []), ...result.latencies])
        if (result.failure !== undefined) failures.set(k, result.failure)
      })
    // warm-up: one short stream per mode
    for (const spec of MODES) {
      yield* Effect.scoped(runOnce(spec, 1024)).pipe(Effect.zipRight(Effect.sync(() => latencies.clear())))
    }
    failures.clear()
    for (let round = 0; round < options.rounds; round++) {
      // the modes take turns in a different order every round
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!)
      for (const size of SIZES) {
        for (const spec of order) {
          const buffered = spec.mode === "Framed" || spec.mode === "Basic"
          if (buffered && size > MiB && (round > 0 || !options.largeBuffered)) continue
          yield* runOnce(spec, size)
        }
        log(`  B3 round ${round + 1}: ${fmtSize(size)} done`)
      }
    }

    const stat = (mode: Mode, size: number, p: number) => percentile(latencies.get(key(mode, size)) ?? [], p)
    const cell = (mode: Mode, size: number) => {
      const failure = failures.get(key(mode, size))
      if (!latencies.has(key(mode, size))) return "not run"
      const figures = `${fmtMs(stat(mode, size, 50))} / ${fmtMs(stat(mode, size, 99))}`
      return failure === undefined ? figures : `${figures} (failed: ${failure})`
    }
    const rows: Array<Row> = []
    const metrics: Array<Metric> = []
    for (const size of SIZES) {
      for (const [p, limit] of [[50, 2], [99, 10]] as const) {
        const subject = stat("Chunked", size, p)
        const baseline = stat("Direct", size, p)
        const failure = failures.get(key("Chunked", size))
        const met = failure === undefined && subject <= limit
        metrics.push(metric(`B3.p${p}.${fmtSize(size).replace(" ", "")}`, subject, baseline, "ms", { text: `<= ${limit} ms`, met }))
        rows.push({
          bench: `B3 first byte ${fmtSize(size)} p${p}`,
          subject: `${fmtMs(subject)} (Chunked, agent 1.29.0)`,
          baseline: `${fmtMs(baseline)} (node http.get direct)`,
          ratio: fmtRatio(subject / baseline),
          target: `≤ ${limit} ms`,
          met,
          ...(met ? {} : {
            note: `B3 ${fmtSize(size)} p${p}: ${fmtMs(subject)} through the proxy (target ${limit} ms, direct ${
              fmtMs(baseline)
            })${failure === undefined ? "" : `; failed: ${failure}`}. The per-event figures are in the B3 table ` +
              `below; first-byte latency here is the proxy's scheduling delay plus that of the app+simulator ` +
              `process, so it grows with the machine's load (see the load average in the header).`
          })
        })
      }
    }
    const details = [
      `B3: ${options.events} events per stream, one every ${options.intervalMs ?? 50} ms, ${options.rounds} round(s); ` +
      `figures are p50 / p99 over every event of every round. The subscription carries a Path filter, ` +
      `because agents before 1.19.4 pass HTTP on an unfiltered steal through as raw TCP. Framed and Basic ` +
      `answer only after the whole body, so their latency is about the stream's length; that is the point. ` +
      `At 64 MiB (first round only): a Framed response is one HttpResponseFramed of ~1,000 frames; a Basic ` +
      `response is one HttpResponse over the codec's 64 MiB message cap, so agent-sim drops the client ` +
      `(real agents have no cap).`,
      "",
      markdownTable(
        ["body size", "Chunked (1.29.0)", "Framed (1.7.0)", "Basic (1.2.2, assumed)", "direct node:http"],
        SIZES.map((size) => [
          fmtSize(size),
          cell("Chunked", size),
          cell("Framed", size),
          cell("Basic", size),
          cell("Direct", size)
        ])
      )
    ].join("\n")
    return { rows, metrics, details }
  }))
