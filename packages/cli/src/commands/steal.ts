/**
 * `mirrord-effect steal`: connects to a real agent (e.g. behind `kubectl port-forward`),
 * negotiates, subscribes a remote port (steal, or mirror) and forwards its traffic to a local
 * app until SIGINT/SIGTERM; then unsubscribes and closes. A lost connection is re-dialled
 * (`AgentSession`, with the policy of the `--reconnect-*` options), negotiated again and
 * re-subscribed (`IncomingProxy.layerSession`). A status line on stderr is refreshed about 4 times
 * a second; failures end with one line and an `ExitCode`.
 * @internal
 */
import type { AgentConnectionError } from "@mirrord-effect/client/AgentConnection"
import * as AgentSession from "@mirrord-effect/client/AgentSession"
import * as Diagnosis from "@mirrord-effect/client/Diagnosis"
import * as Handshake from "@mirrord-effect/client/Handshake"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import type { IncomingProxyError, SubscribeError } from "@mirrord-effect/incoming/IncomingError"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as ProgressLine from "../demo/ProgressLine.js"
import { CliFailure, ExitCode } from "../ExitCode.js"
import type { StealArgs } from "../internal/mirrordProgram.js"

const METHODS = ["Get", "Head", "Post", "Put", "Delete", "Connect", "Options", "Trace", "Patch"] as const

const methodFilter = (text: string): HttpFilter => {
  const known = METHODS.find((m) => m.toUpperCase() === text.toUpperCase())
  return { _tag: "Method", value: known === undefined ? { _tag: "Other", value: text } : { _tag: known } }
}

const filterOf = (args: StealArgs): Either.Either<HttpFilter | undefined, CliFailure> => {
  const given: Array<HttpFilter> = []
  if (args.filterHeader !== undefined) given.push({ _tag: "Header", value: args.filterHeader })
  if (args.filterPath !== undefined) given.push({ _tag: "Path", value: args.filterPath })
  if (args.filterMethod !== undefined) given.push(methodFilter(args.filterMethod))
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

const isConnectionError = (u: unknown): u is AgentConnectionError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "AgentConnectionError"

/** A connection that ended: the agent's reason, or the diagnosis of a silent drop. */
const endedWith = (error: AgentConnectionError): CliFailure => {
  switch (error.reason) {
    case "Unreachable": {
      const os = osErrorOf(error.cause)
      return new CliFailure(ExitCode.AgentUnreachable, `agent unreachable: ${error.detail}${os === undefined ? "" : ` (${os})`}`)
    }
    case "NegotiationFailed":
      // the advice only where it applies: a peer that dropped the connection without a byte,
      // as agents before 1.3.0 do (not a silent peer, nor an HTTP server)
      return new CliFailure(
        ExitCode.NegotiationFailed,
        error.detail === Handshake.OLDER_THAN_1_3_0_HINT || error.suggestAssumeVersion === true
          ? `negotiation failed: the agent closed the connection during negotiation; ${ASSUME_HINT}`
          : `negotiation failed: ${error.detail}`
      )
    case "ClosedByAgent":
      return new CliFailure(ExitCode.AgentClosed, `the agent closed the session: ${error.detail}`)
    case "GaveUp": {
      const last = isConnectionError(error.cause) ? endedWith(error.cause).message : undefined
      return new CliFailure(ExitCode.GaveUp, `gave up reconnecting to the agent (${error.detail})${last === undefined ? "" : `; last error: ${last}`}`)
    }
    default:
      return new CliFailure(
        ExitCode.AgentClosed,
        `the connection to the agent was lost (${error.reason}): ${
          error.diagnosis === undefined ? error.detail : Diagnosis.describe(error.diagnosis)
        }`
      )
  }
}

const proxyFailed = (error: IncomingProxyError): CliFailure =>
  isConnectionError(error.cause)
    ? endedWith(error.cause)
    : new CliFailure(error.reason === "AgentGaveUp" ? ExitCode.GaveUp : error.reason === "AgentLost" ? ExitCode.AgentClosed : ExitCode.Failure, error.message)

const subscribeFailed = (error: SubscribeError): CliFailure => {
  switch (error.reason) {
    case "UnsupportedFilter":
      return new CliFailure(ExitCode.FilterUnsupported, `filter unsupported by the agent: ${error.detail}`)
    case "PortAlreadyStolen":
      return new CliFailure(ExitCode.PortAlreadyStolen, `port ${error.port} is already stolen by another client: ${error.detail}`)
    case "Forbidden":
      return new CliFailure(ExitCode.Forbidden, `forbidden: ${error.detail}`)
    case "Refused":
      return new CliFailure(ExitCode.Failure, `the agent refused the subscription to port ${error.port}: ${error.detail}`)
    case "ProxyFailed":
      return typeof error.cause === "object" && error.cause !== null && (error.cause as { _tag?: unknown })._tag === "IncomingProxyError"
        ? proxyFailed(error.cause as IncomingProxyError)
        : new CliFailure(ExitCode.Failure, error.message)
    default:
      return new CliFailure(ExitCode.Failure, error.message)
  }
}

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

let sessions = 0

const sessionText = (status: AgentSession.SessionStatus, initial: string): string => {
  switch (status._tag) {
    case "Connecting":
      return status.attempt > 1 ? `reconnecting (attempt ${status.attempt})…` : "connecting…"
    case "Reconnecting":
      return `reconnecting (attempt ${status.attempt})…`
    case "Connected":
      return status.connections > 1 ? `reconnected, protocol ${Version.format(status.version)}` : initial
    case "GaveUp":
      return "gave up reconnecting"
  }
}

/** @internal */
export const run = (args: StealArgs, terminal: { readonly ansi: boolean }) =>
  Effect.gen(function*() {
    const filter = yield* filterOf(args)
    if (args.assumeVersion !== undefined && Either.isLeft(Version.parseVersion(args.assumeVersion))) {
      return yield* Effect.fail(new CliFailure(ExitCode.Usage, `--assume-version: not a version: ${JSON.stringify(args.assumeVersion)}`))
    }
    const mode = args.mirror ? "mirror" as const : "steal" as const
    const agentText = `${args.agent.host}:${args.agent.port}`
    const session = `${process.pid}-${++sessions}`

    const sessionLayer = NodeTransport.layerSession({
      address: args.agent,
      negotiationTimeout: Duration.seconds(args.negotiationTimeout),
      ...(args.assumeVersion === undefined ? {} : { assumeVersion: args.assumeVersion }),
      reconnect: args.noReconnect ? false : {
        initialDelay: Duration.millis(args.reconnectInitialDelay),
        maxDelay: Duration.millis(args.reconnectMaxDelay),
        maxAttempts: args.reconnectAttempts,
        maxElapsed: Duration.seconds(args.reconnectTimeout)
      }
    })
    const stack = IncomingProxy.layerSession({ metricTags: { steal_session: session } }).pipe(
      Layer.provideMerge(sessionLayer),
      Layer.provide(Layer.merge(LocalHttp.layer(), LocalTcp.layer()))
    )
    // the first connection is made (and negotiated) here: its failure ends the command
    const context = yield* Layer.build(stack).pipe(Effect.mapError(endedWith))
    const agentSession = Context.get(context, AgentSession.AgentSession)
    const proxy = Context.get(context, IncomingProxy.IncomingProxy)
    const first = yield* agentSession.current
    const version = Option.isSome(first) ? yield* first.value.negotiated.pipe(Effect.mapError(endedWith)) : undefined
    yield* Effect.logInfo(`agent ${agentText}: protocol ${version === undefined ? "?" : Version.format(version)}`)

    const stopped = Effect.mapError(proxy.awaitFailure, proxyFailed)
    // (raced outside any acquireRelease: an uninterruptible acquire could not stop the loser)
    const subscription = yield* proxy.subscribe({ port: args.port, mode, filter, target: args.to }).pipe(
      Effect.mapError(subscribeFailed),
      Effect.raceFirst(stopped)
    )
    // runs on SIGINT/SIGTERM too (the runtime interrupts us): unsubscribe before the connection
    // closes (closing it flushes what was sent, so the agent gets the PortUnsubscribe)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* proxy.unsubscribe(subscription)
        const connection = yield* agentSession.current
        if (Option.isNone(connection)) return
        // bounded by its schedule: a finalizer is uninterruptible, so a timeout could not stop it
        yield* connection.value.diagnose.pipe(
          Effect.repeat({
            until: (d) => d.lastSent.some((s) => s.variants.some((v) => v.endsWith("::PortUnsubscribe"))),
            schedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(100)))
          })
        )
        process.stderr.write(`mirrord-effect: unsubscribed from port ${args.port}, closing\n`)
      })
    )

    const progress = ProgressLine.make(process.stderr, terminal)
    const target = `${args.to.host}:${args.to.port}`
    const prefix = `${mode} :${args.port} → ${target} | agent ${agentText}${filter === undefined ? "" : ` | filter ${filter._tag}`}`
    const initial = `protocol ${version === undefined ? "?" : Version.format(version)}`
    let connectionText = initial
    process.stderr.write(`mirrord-effect: ${mode === "steal" ? "stealing" : "mirroring"} port ${args.port} → ${target}; Ctrl-C to stop\n`)
    if (filter === undefined && version !== undefined && !Version.MODE_AGNOSTIC_HTTP_REQUESTS.matches(version)) {
      // otherwise HTTP clients of such an agent see requests fail with no sign of why
      process.stderr.write(
        `mirrord-effect: note: agent protocol ${Version.format(version)} is older than 1.19.4, which hands an unfiltered ${mode}'s traffic over as raw TCP connections (relayed as bytes), not as HTTP requests; give a filter (e.g. --filter-path '^/') to get HTTP requests\n`
      )
    }
    // on a terminal the line is redrawn ~4×/s; in a pipe, only when something changed
    let last = ""
    const refresh = Effect.flatMap(readCounters(session), (c) =>
      Effect.sync(() => {
        const text = statusText(`${prefix} | ${connectionText}`, c)
        if (text !== last || (process.stderr.isTTY === true && terminal.ansi)) progress.update(text)
        last = text
      }))
    yield* Effect.addFinalizer(() => Effect.sync(() => progress.clear()))
    yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced("250 millis")))
    // the session's status changes show at once (reconnecting / reconnected)
    yield* agentSession.status.pipe(
      Stream.runForEach((status) =>
        Effect.zipRight(Effect.sync(() => { connectionText = sessionText(status, initial) }), refresh)
      ),
      Effect.forkScoped
    )

    // until the proxy stops for good (reconnecting gave up, or the connection ended with
    // --no-reconnect), or the runtime interrupts us on a signal
    return yield* stopped
  }).pipe(Effect.scoped)
