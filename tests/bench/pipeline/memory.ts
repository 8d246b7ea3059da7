/**
 * B4 memory: a large Chunked response through the IncomingProxy to an agent that reads slowly.
 * The proxy runs in a child process whose RSS (sampled every 50 ms) is the measure; the app and
 * the slow reader (a raw agent paused between reads, so TCP pushes back) live in this process.
 * Peak RSS growth = peak during the response − RSS right before it (after a warm-up response),
 * in a fresh child process every round (a process's RSS keeps its earlier high-water mark); the
 * worst round is reported.
 *
 * Baseline: the same child relaying the same body with node's own `http.get(…).pipe(socket)`
 * to a sink that reads at the same rate.
 */
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { type App, matchesPattern, serveApp } from "./app.js"
import { type MemoryUsage, type ProxyProcess, spawnProxy } from "./proxyProcess.js"
import { rawAgent, type RawSession, readThrottled } from "./rawAgent.js"
import { type BenchResult, fmtMiB, fmtRate, fmtRatio, fmtSize, interleave, log, markdownTable, metric, MiB } from "./report.js"

export interface MemoryOptions {
  readonly size: number
  /** The slow reader's rate, bytes per second. */
  readonly readRate: number
  readonly rounds: number
}

const REMOTE_PORT = 80
const LIMIT = 50 * MiB

interface Run {
  readonly growth: number
  readonly seconds: number
  /** Growth of the heap and of external (Buffer) memory, at the RSS peak. */
  readonly heapGrowth: number
  readonly externalGrowth: number
}

const runOf = (before: MemoryUsage, peak: { readonly peak: number; readonly usage: MemoryUsage }, seconds: number): Run => ({
  growth: peak.peak - before.rss,
  seconds,
  heapGrowth: peak.usage.heapTotal - before.heapTotal,
  externalGrowth: peak.usage.external - before.external
})

/** What the raw agent expects: one Chunked (or Framed) response of `size` pattern bytes. */
interface Expected {
  readonly connectionId: bigint
  readonly size: number
  received: number
  intact: boolean
  variant: string
  readonly done: Deferred.Deferred<void, string>
}

const onResponse = (current: () => Expected | undefined) => (message: ClientMessage) => {
  const e = current()
  if (e === undefined || message._tag !== "TcpSteal") return
  const m = message.value
  const take = (frames: ReadonlyArray<{ readonly _tag: string; readonly value: unknown }>) => {
    for (const f of frames) {
      if (f._tag !== "Data") continue
      const bytes = f.value as Uint8Array
      if (e.intact && !matchesPattern(bytes, e.received)) e.intact = false
      e.received += bytes.length
    }
  }
  const finish = () => {
    const ok = e.intact && e.received === e.size
    Deferred.unsafeDone(
      e.done,
      ok ? Exit.void : Exit.fail(`${e.variant}: ${e.received}/${e.size} bytes, intact ${e.intact}`)
    )
  }
  if (m._tag === "HttpResponseChunked") {
    const c = m.value
    if (c._tag === "Start" && c.value.connection_id === e.connectionId) {
      e.variant = "Chunked"
      take(c.value.internal_response.body)
    } else if (c._tag === "Body" && c.value.connection_id === e.connectionId) {
      take(c.value.frames)
      if (c.value.is_last) finish()
    } else if (c._tag === "Error" && c.value.connection_id === e.connectionId) {
      Deferred.unsafeDone(e.done, Exit.fail("ChunkedResponse::Error"))
    }
  } else if (m._tag === "HttpResponseFramed" && m.value.connection_id === e.connectionId) {
    e.variant = "Framed"
    take(m.value.internal_response.body)
    finish()
  }
}

const request = (session: RawSession, connectionId: bigint, size: number) =>
  session.send({
    _tag: "TcpSteal",
    value: {
      _tag: "HttpRequestChunked",
      value: {
        _tag: "StartV2",
        value: {
          connection_id: connectionId,
          request_id: 0,
          request: {
            method: "GET",
            uri: `/bytes?size=${size}`,
            headers: [["host", [Buffer.from("bench")]]],
            version: "HTTP/1.1",
            body: { frames: [], is_last: true }
          },
          metadata: { _tag: "V1", source: "10.0.0.1:40000", destination: `10.0.0.2:${REMOTE_PORT}` },
          transport: { _tag: "Tcp" }
        }
      }
    }
  })

const throughProxy = (app: App, options: MemoryOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const relay = yield* spawnProxy
    let expected: Expected | undefined
    const agent = yield* rawAgent({ version: "1.29.0", onMessage: onResponse(() => expected) })
    yield* relay.attach({ agent: agent.address, app, remotePort: REMOTE_PORT })
    const session = yield* agent.accept
    yield* session.subscribed
    let nextId = 1n
    const exchange = (size: number) =>
      Effect.gen(function*() {
        const e: Expected = {
          connectionId: nextId++,
          size,
          received: 0,
          intact: true,
          variant: "none",
          done: yield* Deferred.make<void, string>()
        }
        expected = e
        request(session, e.connectionId, size)
        yield* Effect.orDieWith(Deferred.await(e.done), (why) => new Error(`B4 response broken: ${why}`))
        session.send({ _tag: "TcpSteal", value: { _tag: "Close", value: { connection_id: e.connectionId } } })
      })
    yield* exchange(16 * MiB) // warm-up, unthrottled
    const before = yield* relay.mark
    session.throttle(options.readRate)
    const start = performance.now()
    yield* exchange(options.size)
    const seconds = (performance.now() - start) / 1000
    const peak = yield* relay.peak
    yield* relay.detach
    return runOf(before, peak, seconds)
  }))

/** A sink reading at `rate` (undefined: unlimited) that checks `size` pattern bytes. */
const slowSink = (size: number, rate: number | undefined) =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; port: number; arrived: Promise<boolean> }>((resume) => {
      let resolveArrived: (ok: boolean) => void = () => {}
      const arrived = new Promise<boolean>((r) => (resolveArrived = r))
      const server = net.createServer((socket) => {
        let received = 0
        let intact = true
        const reader = readThrottled(socket, (chunk) => {
          if (intact && !matchesPattern(chunk, received)) intact = false
          received += chunk.length
          if (received >= size) resolveArrived(intact && received === size)
        })
        reader.setRate(rate)
        socket.on("error", () => {})
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, port: (server.address() as net.AddressInfo).port, arrived })))
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

const pipeOnce = (relay: ProxyProcess, app: App, size: number, rate: number | undefined) =>
  Effect.scoped(Effect.gen(function*() {
    const sink = yield* slowSink(size, rate)
    yield* relay.pipe({ app, sink: { host: "127.0.0.1", port: sink.port }, path: `/bytes?size=${size}` })
    if (!(yield* Effect.promise(() => sink.arrived))) return yield* Effect.dieMessage("B4 baseline: body corrupted")
  }))

const throughPipe = (app: App, options: MemoryOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const relay = yield* spawnProxy
    yield* pipeOnce(relay, app, 16 * MiB, undefined) // warm-up, unthrottled
    const before = yield* relay.mark
    const start = performance.now()
    yield* pipeOnce(relay, app, options.size, options.readRate)
    const seconds = (performance.now() - start) / 1000
    return runOf(before, yield* relay.peak, seconds)
  }))

export const run = (options: MemoryOptions): Effect.Effect<BenchResult, never, Scope.Scope> =>
  Effect.gen(function*() {
    const app = yield* serveApp
    const { baseline, subject } = yield* interleave(
      options.rounds,
      (round) =>
        Effect.tap(
          throughProxy(app, options),
          (r) =>
            log(
              `  B4 round ${round + 1}: proxy +${fmtMiB(r.growth)} RSS (heap +${fmtMiB(r.heapGrowth)}, external +${
                fmtMiB(r.externalGrowth)
              }), ${fmtRate(options.size / r.seconds)}`
            )
        ),
      (round) =>
        Effect.tap(
          throughPipe(app, options),
          (r) =>
            log(`  B4 round ${round + 1}: node pipe +${fmtMiB(r.growth)} RSS, ${fmtRate(options.size / r.seconds)}`)
        )
    )
    // a bound: the worst round counts
    const growth = Math.max(...subject.map((r) => r.growth))
    const baseGrowth = Math.max(...baseline.map((r) => r.growth))
    const met = growth < LIMIT
    return {
      rows: [{
        bench: `B4 memory ${fmtSize(options.size)}, reader ${fmtRate(options.readRate)}`,
        subject: `+${fmtMiB(growth)} peak RSS (proxy process, worst of ${subject.length} rounds)`,
        baseline: `+${fmtMiB(baseGrowth)} (node http.get → pipe)`,
        ratio: fmtRatio(growth / baseGrowth),
        target: `< ${LIMIT / MiB} MiB`,
        met,
        ...(met ? {} : {
          note: `B4: the proxy process grew by ${fmtMiB(growth)} while relaying ${
            fmtSize(options.size)
          } to a reader at ${fmtRate(options.readRate)} (node's pipe: +${fmtMiB(baseGrowth)}). At the peak, ` +
            `external (Buffer) memory was up by ${
              fmtMiB(Math.max(...subject.map((r) => r.externalGrowth)))
            } and the heap by ${fmtMiB(Math.max(...subject.map((r) => r.heapGrowth)))}: what the proxy buffers ` +
            `between the app and the slow agent, plus Buffers waiting for GC.`
        })
      }],
      metrics: [
        metric("B4.rssGrowth", growth / MiB, baseGrowth / MiB, "MiB", { text: `< ${LIMIT / MiB} MiB`, met })
      ],
      details: markdownTable(
        ["B4 round", "proxy RSS growth", "of which heap / external", "proxy rate", "node pipe RSS growth", "node pipe rate"],
        subject.map((r, i) => [
          String(i + 1),
          fmtMiB(r.growth),
          `${fmtMiB(r.heapGrowth)} / ${fmtMiB(r.externalGrowth)}`,
          fmtRate(options.size / r.seconds),
          fmtMiB(baseline[i]!.growth),
          fmtRate(options.size / baseline[i]!.seconds)
        ])
      )
    }
  })
