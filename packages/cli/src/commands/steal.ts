/**
 * `mirrord-effect steal`: connects to a real agent (e.g. behind `kubectl port-forward`),
 * negotiates, subscribes a remote port (steal, or mirror) and forwards its traffic to a local
 * app until SIGINT/SIGTERM; then unsubscribes and closes. A status line on stderr is refreshed
 * about 4 times a second; failures end with one line and an `ExitCode`.
 * @internal
 */
import { Command, Options } from "@effect/cli"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as Diagnosis from "@mirrord-effect/client/Diagnosis"
import * as Handshake from "@mirrord-effect/client/Handshake"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import type { IncomingProxyError, SubscribeError } from "@mirrord-effect/incoming/IncomingError"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ProgressLine from "../demo/ProgressLine.js"
import { CliFailure, ExitCode } from "../ExitCode.js"

const agent = Options.text("agent").pipe(Options.withDescription("HOST:PORT of the agent (e.g. a kubectl port-forward)"))
const port = Options.integer("port").pipe(Options.withDescription("the remote port (in the target pod) to steal"))
const to = Options.text("to").pipe(Options.withDescription("HOST:PORT of the local app that gets the traffic"))
const filterHeader = Options.text("filter-header").pipe(
  Options.optional,
  Options.withDescription("steal only HTTP requests with a header line (`name: value`) matching this regex")
)
const filterPath = Options.text("filter-path").pipe(
  Options.optional,
  Options.withDescription("steal only HTTP requests whose path matches this regex")
)
const filterMethod = Options.text("filter-method").pipe(
  Options.optional,
  Options.withDescription(`steal only HTTP requests with this method (agent protocol ${Version.HTTP_METHOD_FILTER_VERSION.range})`)
)
const mirror = Options.boolean("mirror").pipe(
  Options.withDescription("mirror the traffic (the app's answers are discarded) instead of stealing it")
)
const assumeVersion = Options.text("assume-version").pipe(
  Options.optional,
  Options.withDescription("skip negotiation and assume this protocol version (agents older than 1.3.0 cannot negotiate)")
)

/** `HOST:PORT` (IPv6 in brackets), or a usage failure naming the option. */
const parseHostPort = (option: string, text: string): Either.Either<{ host: string; port: number }, CliFailure> => {
  const m = /^(.+):(\d{1,5})$/.exec(text)
  const parsedPort = m === null ? NaN : Number(m[2])
  return m === null || !(parsedPort > 0 && parsedPort <= 65535)
    ? Either.left(new CliFailure(ExitCode.Usage, `--${option}: expected HOST:PORT, got ${JSON.stringify(text)}`))
    : Either.right({ host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: parsedPort })
}

const METHODS = ["Get", "Head", "Post", "Put", "Delete", "Connect", "Options", "Trace", "Patch"] as const

const methodFilter = (text: string): HttpFilter => {
  const known = METHODS.find((m) => m.toUpperCase() === text.toUpperCase())
  return { _tag: "Method", value: known === undefined ? { _tag: "Other", value: text } : { _tag: known } }
}

const filterOf = (args: {
  readonly filterHeader: Option.Option<string>
  readonly filterPath: Option.Option<string>
  readonly filterMethod: Option.Option<string>
}): Either.Either<HttpFilter | undefined, CliFailure> => {
  const given: Array<HttpFilter> = []
  if (Option.isSome(args.filterHeader)) given.push({ _tag: "Header", value: args.filterHeader.value })
  if (Option.isSome(args.filterPath)) given.push({ _tag: "Path", value: args.filterPath.value })
  if (Option.isSome(args.filterMethod)) given.push(methodFilter(args.filterMethod.value))
  return given.length > 1
    ? Either.left(new CliFailure(ExitCode.Usage, "give at most one of --filter-header, --filter-path, --filter-method"))
    : Either.right(given[0])
}

const ASSUME_HINT = "agents older than 1.3.0 cannot negotiate: pass --assume-version (e.g. --assume-version 1.2.2)"

/** The OS error (`ECONNREFUSED: connect …`) somewhere in a cause chain. */
const osErrorOf = (cause: unknown): string | undefined => {
  for (let c = cause, depth = 0; typeof c === "object" && c !== null && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === "string") return `${code}: ${String((c as { message?: unknown }).message ?? "")}`.trim()
  }
  return undefined
}

/** A connection that ended: the agent's reason, or the diagnosis of a silent drop. */
const endedWith = (error: AgentConnection.AgentConnectionError): CliFailure => {
  switch (error.reason) {
    case "Unreachable": {
      const os = osErrorOf(error.cause)
      return new CliFailure(ExitCode.AgentUnreachable, `agent unreachable: ${error.detail}${os === undefined ? "" : ` (${os})`}`)
    }
    case "NegotiationFailed":
      return new CliFailure(
        ExitCode.NegotiationFailed,
        `negotiation failed: ${
          error.detail === Handshake.OLDER_THAN_1_3_0_HINT
            ? "the agent closed the connection during negotiation"
            : error.detail
        }; ${ASSUME_HINT}`
      )
    case "ClosedByAgent":
      return new CliFailure(ExitCode.AgentClosed, `the agent closed the session: ${error.detail}`)
    default:
      return new CliFailure(
        ExitCode.AgentClosed,
        `the connection to the agent was lost (${error.reason}): ${
          error.diagnosis === undefined ? error.detail : Diagnosis.describe(error.diagnosis)
        }`
      )
  }
}

const subscribeFailed = (error: SubscribeError): CliFailure => {
  switch (error.reason) {
    case "UnsupportedFilter":
      return new CliFailure(ExitCode.FilterUnsupported, `filter unsupported by the agent: ${error.detail}`)
    case "PortAlreadyStolen":
      return new CliFailure(ExitCode.PortAlreadyStolen, `port ${error.port} is already stolen by another client: ${error.detail}`)
    case "Forbidden":
      return new CliFailure(ExitCode.Forbidden, `forbidden: ${error.detail}`)
    default:
      return new CliFailure(ExitCode.Failure, error.message)
  }
}

const proxyFailed = (error: IncomingProxyError): CliFailure =>
  new CliFailure(error.reason === "AgentLost" ? ExitCode.AgentClosed : ExitCode.Failure, error.message)

// ---- status line --------------------------------------------------------------------------

interface Counters {
  readonly responses: Map<string, number>
  requests: number
  bytesIn: number
  bytesOut: number
  errors: number
}

/** This session's proxy metrics (tagged with `session`), summed by what the status line shows. */
const readCounters = (session: string): Effect.Effect<Counters> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const counters: Counters = { responses: new Map(), requests: 0, bytesIn: 0, bytesOut: 0, errors: 0 }
    for (const pair of pairs) {
      const tags = pair.metricKey.tags
      if (!tags.some((t) => t.key === "steal_session" && t.value === session)) continue
      const state = pair.metricState as { readonly count?: number | bigint }
      if (state.count === undefined) continue
      const count = Number(state.count)
      switch (pair.metricKey.name) {
        case "mirrord_incoming_responses_total": {
          const mode = tags.find((t) => t.key === "mode")?.value ?? "?"
          counters.responses.set(mode, (counters.responses.get(mode) ?? 0) + count)
          break
        }
        case "mirrord_incoming_requests_total":
          counters.requests += count
          break
        case "mirrord_incoming_bytes_in_total":
          counters.bytesIn += count
          break
        case "mirrord_incoming_bytes_out_total":
          counters.bytesOut += count
          break
        case "mirrord_incoming_errors_total":
          counters.errors += count
          break
      }
    }
    return counters
  })

const byteCount = (n: number) =>
  n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`

const statusText = (prefix: string, c: Counters) => {
  const modes = [...c.responses.entries()].map(([mode, n]) => `${mode} ${n}`).join(", ")
  return `${prefix} | requests ${c.requests}${modes === "" ? "" : ` (${modes})`} | in ${byteCount(c.bytesIn)}, out ${
    byteCount(c.bytesOut)
  } | errors ${c.errors}`
}

// ---- the command ----------------------------------------------------------------------------

const nodeConnector = (address: AgentConnection.AgentAddress) => NodeSocket.makeNet({ host: address.host, port: address.port })

let sessions = 0

/** @internal */
export const stealCommand = Command.make(
  "steal",
  { agent, port, to, filterHeader, filterPath, filterMethod, mirror, assumeVersion },
  (args) =>
    Effect.gen(function*() {
      const agentAddress = yield* parseHostPort("agent", args.agent)
      const target = yield* parseHostPort("to", args.to)
      if (!(args.port > 0 && args.port <= 65535)) {
        return yield* Effect.fail(new CliFailure(ExitCode.Usage, `--port: expected 1-65535, got ${args.port}`))
      }
      const filter = yield* filterOf(args)
      if (Option.isSome(args.assumeVersion) && Either.isLeft(Version.parseVersion(args.assumeVersion.value))) {
        return yield* Effect.fail(new CliFailure(ExitCode.Usage, `invalid --assume-version ${JSON.stringify(args.assumeVersion.value)}`))
      }
      const mode = args.mirror ? "mirror" as const : "steal" as const

      const connection = yield* AgentConnection.make({
        address: agentAddress,
        ...(Option.isSome(args.assumeVersion) ? { assumeVersion: args.assumeVersion.value } : {})
      }).pipe(Effect.provideService(AgentConnection.SocketConnector, nodeConnector), Effect.mapError(endedWith))
      const version = yield* connection.negotiated.pipe(Effect.mapError(endedWith))
      let connectionEnded = false
      const closed = connection.closed.pipe(
        Effect.tapError(() => Effect.sync(() => { connectionEnded = true })),
        Effect.mapError(endedWith)
      )
      yield* Effect.logInfo(`agent ${args.agent}: protocol ${Version.format(version)}`)

      const session = `${process.pid}-${++sessions}`
      const proxy = yield* IncomingProxy.make({ metricTags: { steal_session: session } }).pipe(
        Effect.provideService(ProtocolVersion, connection.version),
        Effect.provideService(LocalHttp.LocalHttp, yield* LocalHttp.make()),
        Effect.provideService(LocalTcp.LocalTcp, yield* LocalTcp.make())
      )
      const attached = Effect.mapError(proxy.attach(connection), proxyFailed)
      const attachment = yield* Effect.forkScoped(attached)

      // (raced outside any acquireRelease: an uninterruptible acquire could not stop the loser)
      const subscription = yield* proxy.subscribe({ port: args.port, mode, filter, target }).pipe(
        Effect.mapError(subscribeFailed),
        Effect.raceFirst(closed)
      )
      // runs on SIGINT/SIGTERM too (the runtime interrupts us): unsubscribe, and let the
      // message reach the socket before the connection closes
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          yield* proxy.unsubscribe(subscription)
          if (connectionEnded) return
          // bounded by its schedule: a finalizer is uninterruptible, so a timeout could not stop it
          yield* connection.diagnose.pipe(
            Effect.repeat({
              until: (d) => d.lastSent.some((s) => s.variants.some((v) => v.endsWith("::PortUnsubscribe"))),
              schedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(100)))
            })
          )
          process.stderr.write(`mirrord-effect: unsubscribed from port ${args.port}, closing\n`)
        })
      )

      const progress = ProgressLine.make()
      const prefix = `${mode} :${args.port} → ${target.host}:${target.port} | agent ${args.agent} protocol ${Version.format(version)}${
        filter === undefined ? "" : ` | filter ${filter._tag}`
      }`
      process.stderr.write(`mirrord-effect: ${mode === "steal" ? "stealing" : "mirroring"} port ${args.port} → ${args.to}; Ctrl-C to stop\n`)
      const status = Effect.flatMap(readCounters(session), (c) => Effect.sync(() => progress.update(statusText(prefix, c))))
      // on a terminal the line is redrawn ~4×/s; in a pipe, only when something changed
      const tty = process.stderr.isTTY === true
      let last = ""
      const refresh = tty
        ? status
        : Effect.flatMap(readCounters(session), (c) =>
          Effect.sync(() => {
            const text = statusText(prefix, c)
            if (text !== last) progress.update(text)
            last = text
          }))
      yield* Effect.addFinalizer(() => Effect.sync(() => progress.clear()))
      yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced("250 millis")))

      // runs until the connection ends (or the runtime interrupts us on a signal); a lost
      // connection also ends the attachment, but the connection's error says more
      const detached = Fiber.join(attachment).pipe(
        Effect.catchAll((error) => (error.code === ExitCode.AgentClosed ? closed : Effect.fail(error))),
        Effect.zipRight(Effect.fail(new CliFailure(ExitCode.Failure, "the proxy stopped serving the agent connection")))
      )
      return yield* Effect.raceFirst(closed, detached)
    }).pipe(Effect.scoped)
).pipe(Command.withDescription(
  "steal (or mirror) a remote port's traffic from a mirrord agent to a local app, until Ctrl-C"
))
