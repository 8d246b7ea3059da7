/**
 * `pnpm soak [--minutes M] [--seed S]`: mixed traffic through one long-lived IncomingProxy
 * (this process, real LocalHttp/LocalTcp) with injected faults, then leak and stability checks.
 *
 * The run is a series of epochs. Each epoch attaches the proxy to a fresh agent-sim of a random
 * version (1.2.2 assumed, 1.4.0, 1.7.0, 1.8.1, 1.19.4, 1.29.0; the proxy re-sends its two
 * subscriptions by itself: HTTP on remote port 80 with a Path filter, raw TCP on port 7) and
 * runs workers that loop over every endpoint of the app (a child process): JSON, large
 * download (some read slowly), SSE, chunked upload echo, trailers, a dying endpoint, upgrade
 * echo, and raw TCP echo connections. Epochs end gracefully, or by a fault: the agent
 * connection cut mid-traffic (`sim.closeClient`), or the app killed (SIGKILL) in the middle of a
 * body and restarted. Some epochs attach to a raw agent that writes garbage instead: the proxy
 * must end that attachment with a typed `IncomingProxyError` and carry on.
 *
 * Every request must end, within its timeout, either intact or in the documented outcome of the
 * fault it met (502 from the proxy, `ChunkedResponse::Error`, pass-through by an old agent, the
 * agent connection gone). Afterwards: proxy stats (gateways, relays, fibers, connections) back
 * to 0, LocalHttp/LocalTcp connections closed, active handles not above the start, RSS after
 * warm-up vs end within a margin. Exits 1 when any check fails. All traffic on 127.0.0.1.
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import * as Negotiation from "@mirrord-effect/agent-sim/Negotiation"
import type { AgentSimError } from "@mirrord-effect/agent-sim/AgentSimError"
import type { ResponseEvent } from "@mirrord-effect/agent-sim/ResponseEvent"
import type { TcpDuplex } from "@mirrord-effect/agent-sim/TcpDuplex"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { type App, jsonBody, matchesPattern, spawnAppOn, TRAILER_NAME } from "../bench/pipeline/app.js"
import { attach, type Attached, makeProxyStack, type ProxyStack } from "../bench/pipeline/proxyStack.js"
import { rawAgent } from "../bench/pipeline/rawAgent.js"

// ---------------------------------------------------------------------------------------------
// settings

const args = process.argv.slice(2)
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const MINUTES = Number(argValue("--minutes") ?? 5)
const SEED = Number(argValue("--seed") ?? (Date.now() % 1_000_000))
if (!(MINUTES > 0) || !Number.isFinite(SEED)) {
  process.stderr.write("usage: pnpm soak [--minutes M] [--seed S]\n")
  process.exit(2)
}
const HTTP_PORT = 80
const TCP_PORT = 7
const WORKERS = 6
const REQUEST_TIMEOUT_MS = 20_000
const VERSIONS = ["1.2.2", "1.4.0", "1.7.0", "1.8.1", "1.19.4", "1.29.0"] as const
/** RSS at the end may exceed RSS after warm-up by this much (or 25 %, whichever is larger). */
const RSS_MARGIN = 96 * 1024 * 1024
/** Live memory (heap + external, after a GC) at the end may exceed warm-up by this much. */
const LIVE_MARGIN = 32 * 1024 * 1024

// ---------------------------------------------------------------------------------------------
// seeded randomness (mulberry32): a failing run can be replayed with --seed

let prngState = SEED >>> 0
const random = (): number => {
  prngState = (prngState + 0x6d2b79f5) >>> 0
  let t = prngState
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const randomInt = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!
const randomBytes = (n: number): Buffer => {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256)
  return b
}

// a forced GC before RSS samples, so they compare live memory rather than GC timing
v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

// ---------------------------------------------------------------------------------------------
// bookkeeping

type Scenario = "json" | "download" | "download-slow" | "sse" | "upload" | "trailers" | "die" | "upgrade" | "tcp"
const SCENARIOS: ReadonlyArray<Scenario> = [
  "json",
  "download",
  "download-slow",
  "sse",
  "upload",
  "trailers",
  "die",
  "upgrade",
  "tcp"
]

/** How a request ended; everything but `violation` is intact or a documented outcome. */
type Outcome =
  | "ok"
  | "ok, trailers dropped (Basic)"
  | "passed through (old agent)"
  | "502 from the proxy"
  | "ChunkedResponse::Error"
  | "agent connection gone"
  | "connection ended by the app's death"
  | "violation"

const totals = new Map<Scenario, Map<Outcome, number>>()
const versionsUsed = new Map<string, number>()
const violations: Array<string> = []
const faults = { agentCuts: 0, appKills: 0, garbageAgents: 0, slowReads: 0 }
let started = 0
let finished = 0
let epochs = 0

const count = (scenario: Scenario, outcome: Outcome) => {
  const byOutcome = totals.get(scenario) ?? new Map<Outcome, number>()
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1)
  totals.set(scenario, byOutcome)
}

const violation = (what: string) => {
  if (violations.length < 200) violations.push(what)
}

// ---------------------------------------------------------------------------------------------
// the app (child process, killed and restarted on the same ports)

interface AppHolder {
  app: App
  scope: Scope.CloseableScope
  /** [killed, back] intervals (ms, performance.now) */
  readonly downtimes: Array<[number, number]>
}

const startApp = (ports: { readonly http: number; readonly tcp: number }) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const app = yield* spawnAppOn(ports).pipe(Scope.extend(scope))
    return { app, scope }
  })

/** True when the app was down (or being killed) at some point of [from, to]. */
const appFaultDuring = (holder: AppHolder, from: number, to: number) =>
  holder.downtimes.some(([down, up]) => down <= to && up >= from)

// ---------------------------------------------------------------------------------------------
// one request

interface Epoch {
  readonly index: number
  readonly version: string
  readonly sim: AgentSim.AgentSim
  /** set right before the agent connection is cut */
  cutAt: number | undefined
  stop: boolean
}

interface Collected {
  status: number
  variant: string
  headers: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>]>
  body: Buffer
  trailers: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>]> | undefined
  ended: boolean
  errorEvent: string | undefined
  failure: string | undefined
  upgrade: TcpDuplex | undefined
}

const collect = (events: Stream.Stream<ResponseEvent, AgentSimError>, slow: boolean) =>
  Effect.gen(function*() {
    const c: Collected = {
      status: 0,
      variant: "",
      headers: [],
      body: Buffer.alloc(0),
      trailers: undefined,
      ended: false,
      errorEvent: undefined,
      failure: undefined,
      upgrade: undefined
    }
    const parts: Array<Uint8Array> = []
    yield* events.pipe(
      Stream.runForEach((event) =>
        Effect.gen(function*() {
          switch (event._tag) {
            case "Head":
              c.status = event.status
              c.variant = event.variant
              c.headers = event.headers
              c.upgrade = event.upgrade
              return
            case "Data":
              parts.push(event.bytes)
              // a slow reader: the simulator's consumer takes its time over every piece
              if (slow) yield* Effect.sleep(2)
              return
            case "Trailers":
              c.trailers = event.headers
              return
            case "End":
              c.ended = true
              return
            case "Error":
              c.errorEvent = event.reason
          }
        })
      ),
      Effect.catchAll((error) => Effect.sync(() => void (c.failure = error.message)))
    )
    c.body = Buffer.concat(parts)
    return c
  })

const header = (headers: Collected["headers"], name: string): string | undefined => {
  const found = headers.find(([n]) => n === name)
  return found === undefined || found[1][0] === undefined ? undefined : Buffer.from(found[1][0]).toString("latin1")
}

const host: [string, Array<Uint8Array>] = ["host", [Buffer.from("soak.example")]]

/** Echo through a duplex (upgraded or raw): `size` random bytes out, the same back, then EOF. */
const echoThrough = (duplex: TcpDuplex, size: number) =>
  Effect.gen(function*() {
    const payload = randomBytes(size)
    const reading = yield* duplex.read.pipe(Stream.runCollect, Effect.either, Effect.fork)
    for (let offset = 0; offset < payload.length; offset += 4096) {
      yield* duplex.write(payload.subarray(offset, offset + 4096))
    }
    yield* duplex.endWrite
    const read = yield* Fiber.join(reading)
    if (read._tag === "Left") return yield* Effect.fail(read.left)
    const back = Buffer.concat(Chunk.toArray(read.right))
    return back.equals(payload) ? undefined : `echo mismatch: ${back.length}/${payload.length} bytes`
  })

const runScenario = (scenario: Scenario, epoch: Epoch, holder: AppHolder): Effect.Effect<void> =>
  Effect.suspend(() => {
    started++
    return scenarioOutcome(scenario, epoch, holder).pipe(
      Effect.ensuring(Effect.sync(() => {
        finished++
      }))
    )
  })

const scenarioOutcome = (scenario: Scenario, epoch: Epoch, holder: AppHolder): Effect.Effect<void> =>
  Effect.gen(function*() {
    const t0 = performance.now()
    const id = `e${epoch.index}-${randomInt(0, 1e9)}`
    const label = `${scenario} ${id} (agent ${epoch.version})`
    const effective = Version.unsafeParseVersion(epoch.version)
    const request = (uri: string, extra: Partial<AgentSim.HttpRequestInput> = {}) =>
      epoch.sim.request(HTTP_PORT, { method: "GET", uri, headers: [host], ...extra })

    /** The documented outcomes of faults, or undefined when the request met none of them. */
    const faultOutcome = (c: Collected, now: number): Outcome | undefined => {
      const appFault = scenario === "die" || appFaultDuring(holder, t0, now)
      if (c.failure !== undefined || (c.variant === "NotStolen" && epoch.cutAt !== undefined)) {
        return epoch.cutAt !== undefined && !/ClientDropped|InvalidRequest|UndecodableByClient/.test(c.failure ?? "")
          ? "agent connection gone"
          : undefined
      }
      if (c.status === 502 && appFault && c.body.toString("latin1").startsWith("mirrord-effect v")) {
        return "502 from the proxy"
      }
      if (c.errorEvent !== undefined && appFault) return "ChunkedResponse::Error"
      return undefined
    }

    const judge = (c: Collected, check: (c: Collected) => string | undefined): Outcome => {
      const now = performance.now()
      const fault = faultOutcome(c, now)
      if (fault !== undefined) return fault
      const problem = c.failure ?? c.errorEvent ?? (!c.ended ? "no End" : check(c))
      if (problem === undefined) return "ok"
      // the app's side of an upgraded or raw connection died: the proxy ends it (Close /
      // ConnectionUnsubscribe), so the echo comes back short or the connection fails
      if ((scenario === "upgrade" || scenario === "tcp") && appFaultDuring(holder, t0, now)) {
        return "connection ended by the app's death"
      }
      violation(`${label}: ${problem} (status ${c.status}, ${c.variant}, ${c.body.length} bytes)`)
      return "violation"
    }

    const outcome: Outcome = yield* Effect.gen(function*() {
      switch (scenario) {
        case "json": {
          const c = yield* collect(request(`/json?id=${id}`), false)
          return judge(c, (r) => (r.status === 200 && r.body.toString() === jsonBody(id) ? undefined : "wrong JSON body"))
        }
        case "download":
        case "download-slow": {
          const size = randomInt(1, 2 * 1024 * 1024)
          if (scenario === "download-slow") faults.slowReads++
          const c = yield* collect(request(`/bytes?size=${size}`), scenario === "download-slow")
          return judge(c, (r) =>
            r.status === 200 && r.body.length === size && matchesPattern(r.body, 0) ? undefined : "body corrupted")
        }
        case "sse": {
          const c = yield* collect(request("/sse?events=5&size=2000&interval=20"), false)
          return judge(c, (r) => {
            const text = r.body.toString("latin1")
            return r.status === 200 && r.body.length === 2000 && text.split("data: {").length === 6
              ? undefined
              : "event stream corrupted"
          })
        }
        case "upload": {
          const chunks = Array.from({ length: randomInt(1, 8) }, () => randomBytes(randomInt(1, 32 * 1024)))
          const c = yield* collect(
            request("/echo", {
              method: "POST",
              headers: [host, ["transfer-encoding", [Buffer.from("chunked")]]],
              body: Stream.fromIterable(chunks)
            }),
            false
          )
          return judge(c, (r) => (r.status === 200 && r.body.equals(Buffer.concat(chunks)) ? undefined : "echo corrupted"))
        }
        case "trailers": {
          const size = randomInt(1, 64 * 1024)
          const c = yield* collect(request(`/trailers?size=${size}`), false)
          const outcome = judge(c, (r) => {
            if (r.status !== 200 || r.body.length !== size || !matchesPattern(r.body, 0)) return "body corrupted"
            if (r.variant === "HttpResponse") return undefined // Basic: trailers are dropped by design
            const value = r.trailers === undefined ? undefined : header(r.trailers, TRAILER_NAME)
            return value === String(size) ? undefined : `trailer ${TRAILER_NAME} = ${String(value)}`
          })
          return outcome === "ok" && c.variant === "HttpResponse" ? "ok, trailers dropped (Basic)" : outcome
        }
        case "die": {
          const c = yield* collect(request("/die?size=65536"), false)
          // a body cut by the app's death must never arrive as a complete response
          return judge(c, () => "a body cut short was delivered as complete")
        }
        case "upgrade": {
          const c = yield* collect(
            request("/ws", {
              headers: [host, ["connection", [Buffer.from("upgrade")]], ["upgrade", [Buffer.from("echo")]]]
            }),
            false
          )
          if (c.variant === "NotStolen" && epoch.cutAt === undefined) {
            if (!Negotiation.deliversFilteredUpgrade(effective)) return "passed through (old agent)"
          }
          if (c.upgrade === undefined || c.status !== 101) {
            return judge(c, (r) => `expected 101 with an upgraded connection, got ${r.status}`)
          }
          const duplex = c.upgrade
          const echoed = yield* echoThrough(duplex, randomInt(1, 64 * 1024)).pipe(
            Effect.map((problem) => ({ problem, failure: undefined as string | undefined })),
            Effect.catchAll((error) => Effect.succeed({ problem: undefined, failure: error.message })),
            Effect.ensuring(duplex.close)
          )
          return judge({ ...c, failure: echoed.failure }, () => echoed.problem)
        }
        case "tcp": {
          const result = yield* Effect.scoped(
            Effect.gen(function*() {
              const duplex = yield* epoch.sim.connect(TCP_PORT)
              return yield* echoThrough(duplex, randomInt(1, 256 * 1024))
            })
          ).pipe(
            Effect.map((problem) => ({ problem, failure: undefined as string | undefined })),
            Effect.catchAll((error) => Effect.succeed({ problem: undefined, failure: error.message }))
          )
          const base: Collected = {
            status: 0,
            variant: "raw",
            headers: [],
            body: Buffer.alloc(0),
            trailers: undefined,
            ended: true,
            errorEvent: undefined,
            failure: result.failure,
            upgrade: undefined
          }
          return judge(base, () => result.problem)
        }
      }
    }).pipe(
      Effect.timeoutFail({ duration: REQUEST_TIMEOUT_MS, onTimeout: () => "timeout" as const }),
      Effect.catchAll(() =>
        Effect.sync(() => {
          violation(`${label}: no outcome within ${REQUEST_TIMEOUT_MS} ms (lost)`)
          return "violation" as Outcome
        })
      )
    )
    count(scenario, outcome)
  })

// ---------------------------------------------------------------------------------------------
// epochs

const statsDrained = (stack: ProxyStack, what: string) =>
  Effect.gen(function*() {
    const deadline = performance.now() + 5_000
    for (;;) {
      const s = yield* stack.proxy.stats
      if (s.gateways === 0 && s.relays === 0 && s.fibers === 0 && s.connections === 0) return
      if (performance.now() > deadline) {
        return violation(
          `${what}: proxy still holds gateways ${s.gateways}, relays ${s.relays}, fibers ${s.fibers}, connections ${s.connections}`
        )
      }
      yield* Effect.sleep(50)
    }
  })

const trafficEpoch = (stack: ProxyStack, holder: AppHolder, deadline: number, first: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const version = pick(VERSIONS)
    versionsUsed.set(version, (versionsUsed.get(version) ?? 0) + 1)
    const sim = yield* AgentSim.make({ version })
    const attached: Attached = yield* attach(stack, sim.address, version === "1.2.2" ? { assumeVersion: version } : {})
    if (first) {
      yield* stack.proxy.subscribe({ port: HTTP_PORT, mode: "steal", target: holder.app, filter: { _tag: "Path", value: "^/" } })
      yield* stack.proxy.subscribe({ port: TCP_PORT, mode: "steal", target: { host: holder.app.host, port: holder.app.tcpPort } })
    }
    yield* sim.awaitSubscription(HTTP_PORT, "steal")
    yield* sim.awaitSubscription(TCP_PORT, "steal")
    const epoch: Epoch = { index: epochs++, version, sim, cutAt: undefined, stop: false }
    const ending = pick(["graceful", "graceful", "graceful", "cut", "appKill"] as const)
    const length = Math.max(500, Math.min(randomInt(2_000, 5_000), deadline - performance.now()))

    const worker = Effect.gen(function*() {
      while (!epoch.stop) yield* runScenario(pick(SCENARIOS), epoch, holder)
    })
    const workers = yield* Effect.forkScoped(Effect.all(Array.from({ length: WORKERS }, () => worker), { concurrency: "unbounded" }))

    if (ending === "appKill") {
      yield* Effect.sleep(length / 2)
      // a large download is in flight when the app dies
      const victim = yield* Effect.fork(runScenario("download-slow", epoch, holder))
      yield* Effect.sleep(30)
      const killedAt = performance.now()
      const downtime: [number, number] = [killedAt, Number.POSITIVE_INFINITY]
      holder.downtimes.push(downtime)
      faults.appKills++
      if (holder.app.pid !== undefined) process.kill(holder.app.pid, "SIGKILL")
      yield* Scope.close(holder.scope, Exit.void)
      const restarted = yield* startApp({ http: holder.app.port, tcp: holder.app.tcpPort })
      holder.app = restarted.app
      holder.scope = restarted.scope
      // requests begun shortly after the restart may still see the old connections fail
      downtime[1] = performance.now() + 500
      yield* Fiber.join(victim)
      yield* Effect.sleep(length / 2)
    } else {
      yield* Effect.sleep(length)
    }

    epoch.stop = true
    if (ending === "cut") {
      faults.agentCuts++
      epoch.cutAt = performance.now()
      yield* sim.closeClient("soak: agent connection cut mid-traffic")
    }
    yield* Fiber.join(workers)
    yield* attached.detach
    const exit = yield* attached.ended
    if (ending !== "cut" && Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      violation(`epoch ${epoch.index} (agent ${version}): attach ended with ${Cause.pretty(exit.cause)}`)
    }
    yield* statsDrained(stack, `after epoch ${epoch.index} (agent ${version}, ${ending})`)
  })).pipe(Effect.catchAll((error) => Effect.sync(() => violation(`epoch failed to start: ${error.message}`))))

/** A raw agent that negotiates, confirms the subscriptions, then writes garbage bytes. */
const garbageEpoch = (stack: ProxyStack) =>
  Effect.scoped(Effect.gen(function*() {
    faults.garbageAgents++
    const index = epochs++
    const agent = yield* rawAgent({ version: "1.29.0" })
    const attached = yield* attach(stack, agent.address)
    const session = yield* agent.accept
    yield* session.subscribed
    yield* Effect.sleep(20)
    // 250: no DaemonMessage has that many variants; then noise
    session.writeRaw(Buffer.concat([Buffer.from([250]), randomBytes(randomInt(1, 512))]))
    const exit = yield* attached.ended.pipe(
      Effect.timeoutFail({ duration: 5_000, onTimeout: () => "still attached 5 s after garbage frames" })
    )
    if (Exit.isSuccess(exit)) {
      violation(`garbage epoch ${index}: the attachment ended without an error`)
    } else {
      const error = Cause.failureOption(exit.cause)
      if (error._tag === "None" || error.value._tag !== "IncomingProxyError" || error.value.reason !== "AgentLost") {
        violation(`garbage epoch ${index}: expected IncomingProxyError AgentLost, got ${Cause.pretty(exit.cause)}`)
      }
    }
    yield* attached.detach
    yield* statsDrained(stack, `after garbage epoch ${index}`)
  })).pipe(Effect.catchAll((why) => Effect.sync(() => violation(`garbage epoch: ${String(why)}`))))

// ---------------------------------------------------------------------------------------------
// checks and report

const handleCounts = (): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/**
 * RSS and live memory (heap used + external), after full GCs: a pause first (closed sockets
 * release what they hold a moment later), then two GCs a moment apart (the memory behind
 * collected Buffers is released by callbacks that run after the first).
 */
const memoryNow: Effect.Effect<{ readonly rss: number; readonly live: number }> = Effect.gen(function*() {
  yield* Effect.sleep(300)
  gc()
  yield* Effect.sleep(100)
  gc()
  const usage = process.memoryUsage()
  return { rss: usage.rss, live: usage.heapUsed + usage.external }
})

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`

const program = Effect.gen(function*() {
  const runMs = MINUTES * 60_000
  const t0 = performance.now()
  const deadline = t0 + runMs
  process.stderr.write(`soak: ${MINUTES} min, seed ${SEED}\n`)
  const stack = yield* makeProxyStack()
  const first = yield* startApp({ http: 0, tcp: 0 })
  const holder: AppHolder = { app: first.app, scope: first.scope, downtimes: [] }
  yield* Effect.addFinalizer(() => Scope.close(holder.scope, Exit.void))
  const handlesBefore = handleCounts()

  // warm-up: the first quarter of the run, and at least two traffic epochs (memory swings with
  // what an epoch carried); its highest sample after an epoch is the reference
  let warm: { rss: number; live: number } | undefined
  let trafficEpochs = 0
  let firstEpoch = true
  const warmUntil = t0 + runMs * 0.25
  while (performance.now() < deadline - 300) {
    if (!firstEpoch && random() < 0.12) {
      yield* garbageEpoch(stack)
    } else {
      yield* trafficEpoch(stack, holder, deadline, firstEpoch)
      firstEpoch = false
      trafficEpochs++
    }
    const m = yield* memoryNow
    if (performance.now() <= warmUntil || trafficEpochs <= 2) {
      warm = { rss: Math.max(warm?.rss ?? 0, m.rss), live: Math.max(warm?.live ?? 0, m.live) }
    }
    process.stderr.write(
      `  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${epochs} epochs, ${finished}/${started} requests done, ${violations.length} violations, RSS ${
        MiB(m.rss)
      }, live ${MiB(m.live)}\n`
    )
  }
  const warmMemory = warm ?? (yield* memoryNow)

  // leak checks, once the pool's idle connections have timed out (LocalHttp default: 3 s)
  yield* statsDrained(stack, "at the end")
  const beforeIdle = yield* memoryNow
  const pooled = (yield* stack.localHttp.stats).openConnections
  yield* Effect.sleep(3_500)
  const localHttp = yield* stack.localHttp.stats
  const localTcp = yield* stack.localTcp.openConnections
  const proxyStats = yield* stack.proxy.stats
  if (localHttp.openConnections !== 0) violation(`LocalHttp still has ${localHttp.openConnections} connection(s) open`)
  if (localTcp !== 0) violation(`LocalTcp still has ${localTcp} connection(s) open`)
  if (started !== finished) violation(`${started - finished} request(s) never finished (lost)`)
  const handlesAfter = handleCounts()
  for (const kind of ["TCPSocketWrap", "TCPServerWrap", "TCPWRAP"]) {
    if ((handlesAfter[kind] ?? 0) > (handlesBefore[kind] ?? 0)) {
      violation(`active ${kind}: ${handlesBefore[kind] ?? 0} before, ${handlesAfter[kind] ?? 0} after`)
    }
  }
  if ((handlesAfter["Timeout"] ?? 0) > (handlesBefore["Timeout"] ?? 0) + 5) {
    violation(`active timers: ${handlesBefore["Timeout"] ?? 0} before, ${handlesAfter["Timeout"]} after`)
  }
  const end = yield* memoryNow
  const allowed = Math.max(RSS_MARGIN, warmMemory.rss * 0.25)
  if (end.rss > warmMemory.rss + allowed) {
    // Under a minute the warm-up sample comes from the first seconds, before the allocator's
    // arenas settle, and RSS alone is noise there; the live-memory, handle and fiber checks
    // still catch leaks. From a minute on (the default is 5), RSS growth is a violation.
    const message = `RSS grew from ${MiB(warmMemory.rss)} after warm-up to ${MiB(end.rss)} at the end`
    if (MINUTES >= 1) violation(message)
    else process.stdout.write(`warning (run shorter than a minute, not counted): ${message}\n`)
  }
  if (end.live > warmMemory.live + LIVE_MARGIN) {
    violation(`live memory grew from ${MiB(warmMemory.live)} after warm-up to ${MiB(end.live)} at the end`)
  }

  // report
  const outcomes: ReadonlyArray<Outcome> = [
    "ok",
    "ok, trailers dropped (Basic)",
    "passed through (old agent)",
    "502 from the proxy",
    "ChunkedResponse::Error",
    "agent connection gone",
    "connection ended by the app's death",
    "violation"
  ]
  const lines = [
    `soak: ${((performance.now() - t0) / 60_000).toFixed(2)} min, seed ${SEED}, ${epochs} epochs, ${started} requests/connections, ${finished} finished`,
    `agents: ${[...versionsUsed.entries()].map(([v, n]) => `${v}×${n}`).join(", ")}`,
    `faults: ${faults.agentCuts} agent connections cut, ${faults.appKills} app kills mid-body, ${faults.garbageAgents} garbage-frame agents, ${faults.slowReads} slow readers`,
    "",
    `| scenario | ${outcomes.join(" | ")} |`,
    `| --- | ${outcomes.map(() => "---").join(" | ")} |`,
    ...SCENARIOS.map((s) => `| ${s} | ${outcomes.map((o) => String(totals.get(s)?.get(o) ?? 0)).join(" | ")} |`),
    "",
    `proxy at the end: gateways ${proxyStats.gateways}, relays ${proxyStats.relays}, fibers ${proxyStats.fibers}, connections ${proxyStats.connections}; ` +
    `LocalHttp open ${localHttp.openConnections} (opened ${localHttp.connectionsOpened} in all); LocalTcp open ${localTcp}`,
    `active handles before / after: ${JSON.stringify(handlesBefore)} / ${JSON.stringify(handlesAfter)}`,
    `RSS after warm-up ${MiB(warmMemory.rss)}, at the end ${MiB(end.rss)} (allowed +${MiB(allowed)}); ` +
    `live heap + external ${MiB(warmMemory.live)} → ${MiB(end.live)} (allowed +${MiB(LIVE_MARGIN)}); ` +
    `before LocalHttp's idle timeout closed its ${pooled} pooled connection(s): ${MiB(beforeIdle.live)}`,
    "",
    violations.length === 0 ? "PASS: every check held" : `FAIL: ${violations.length} violation(s):\n  ${violations.join("\n  ")}`
  ]
  process.stdout.write(`${lines.join("\n")}\n`)
  return violations.length === 0
})

Effect.runPromise(Effect.scoped(program)).then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    process.stderr.write(`soak crashed: ${String(error)}\n`)
    process.exit(1)
  }
)
