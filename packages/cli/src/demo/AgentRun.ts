/**
 * One agent version of the demo: a simulator of that version, the real `AgentConnection`
 * (negotiating over real TCP, or assuming the version for agents that cannot negotiate) and the
 * real `IncomingProxy` stealing the remote port for the sample app; then every endpoint is
 * driven through the simulator and each request is matched with the variants the simulator
 * recorded for it.
 *
 * @since 0.1.0
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type { DropReason, Recorded } from "@mirrord-effect/agent-sim/Recording"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as Diagnosis from "@mirrord-effect/client/Diagnosis"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import type { HttpFrontOptions } from "@mirrord-effect/agent-sim/HttpFront"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { DemoError } from "./DemoError.js"
import type { Endpoint } from "./Endpoints.js"
import * as Outcome from "./Outcome.js"
import type { SampleApp } from "./SampleApp.js"

/**
 * One request of the table.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  readonly endpoint: string
  /** 1-based repetition (`--requests N`) */
  readonly attempt: number
  /** the DaemonTcp variant the simulator sent, e.g. `HttpRequestChunked/StartV2` */
  readonly requestVariant: string | undefined
  /** the LayerTcpSteal variant the proxy answered with, e.g. `HttpResponseChunked/Start` */
  readonly responseVariant: string | undefined
  readonly firstByteMs: number | undefined
  readonly totalMs: number | undefined
  readonly bytes: number
  readonly outcome: Outcome.Outcome
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentReport {
  readonly agentVersion: string
  /** how the connection got its version: negotiated answer, echo, or assumed */
  readonly handshake: string
  readonly rows: ReadonlyArray<Row>
  /** client messages the simulated agent could not decode */
  readonly undecodable: ReadonlyArray<DropReason>
  /** the connection was lost or closed during the run: why */
  readonly connectionLost: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentRunOptions {
  readonly agentVersion: string
  readonly app: SampleApp
  readonly endpoints: ReadonlyArray<Endpoint>
  /** repetitions of each endpoint */
  readonly requests: number
  /** the stolen remote port (default 80) */
  readonly remotePort?: number
  readonly onProgress?: (endpoint: string, attempt: number) => void
  /** options of the proxy (e.g. the counterfactual's `unsafeResponseModeOverride`) */
  readonly proxy?: IncomingProxy.IncomingProxyOptions
  /** options of the simulator's HTTP front (e.g. the counterfactual's `onFailure: "hang"`) */
  readonly front?: HttpFrontOptions
}

// every path the app serves: a filtered steal works on every agent version, while an
// unfiltered steal carries HTTP only from 1.19.4 (older agents steal raw TCP)
const EVERY_PATH = { _tag: "Path", value: "^/" } as const

const stripChannel = (variant: string) => variant.replace(/^TcpSteal\//, "")

/** The request and response variants of the exchange among the messages recorded for it. */
const variantsIn = (recorded: ReadonlyArray<Recorded>) => {
  let requestVariant: string | undefined
  let responseVariant: string | undefined
  for (const r of recorded) {
    if (r._tag === "Sent" && requestVariant === undefined && r.variant.startsWith("TcpSteal/HttpRequest")) {
      requestVariant = stripChannel(r.variant)
    }
    if (r._tag === "Received" && responseVariant === undefined && r.variant.startsWith("TcpSteal/HttpResponse")) {
      responseVariant = stripChannel(r.variant)
    }
  }
  return { requestVariant, responseVariant }
}

/**
 * Runs every endpoint `requests` times against a simulated agent of `agentVersion`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (options: AgentRunOptions): Effect.Effect<AgentReport, DemoError> =>
  Effect.scoped(Effect.gen(function*() {
    const version = Version.parseVersion(options.agentVersion)
    if (version._tag === "Left") {
      return yield* new DemoError({ reason: "Usage", detail: `invalid agent version ${JSON.stringify(options.agentVersion)}` })
    }
    const agent = version.right
    const remotePort = options.remotePort ?? 80
    const setupFailed = (what: string) => (cause: { readonly message: string }) =>
      new DemoError({ reason: "Setup", detail: `${what} (agent ${options.agentVersion}): ${cause.message}`, cause })
    const connectFailed = (what: string) => (cause: { readonly message: string }) =>
      new DemoError({ reason: "Connect", detail: `${what} (agent ${options.agentVersion}): ${cause.message}`, cause })

    const sim = yield* AgentSim.make({ version: agent }).pipe(Effect.mapError(setupFailed("simulator")))
    // agents before 1.3.0 cannot decode SwitchProtocolVersion: the version must be assumed
    const assume = Version.HTTP_FRAMED_VERSION.matches(agent) ? undefined : Version.format(agent)
    const connection = yield* AgentConnection.make({
      address: sim.address,
      ...(assume === undefined ? {} : { assumeVersion: assume })
    }).pipe(
      Effect.provideService(AgentConnection.SocketConnector, NodeTransport.connect),
      Effect.mapError(connectFailed("connect"))
    )
    const negotiated = yield* connection.negotiated.pipe(Effect.mapError(connectFailed("negotiation")))
    const handshake = assume !== undefined
      ? `assumed ${assume} (no negotiation before 1.3.0)`
      : Version.compare(negotiated, Version.VERSION) === 0 && Version.compare(agent, Version.VERSION) < 0
      ? `negotiated ${Version.format(negotiated)}: an echo of our own offer (agents 1.3.0–1.5.5 answer with the client's version, not theirs), so responses follow the request variants the agent sends`
      : `negotiated ${Version.format(negotiated)}`
    const connectionEnded = yield* Effect.forkScoped(Effect.flip(connection.closed))

    const localHttp = yield* LocalHttp.make()
    const localTcp = yield* LocalTcp.make()
    const proxy = yield* IncomingProxy.make({ ...options.proxy, metricTags: { demo_agent: options.agentVersion } }).pipe(
      Effect.provideService(ProtocolVersion, connection.version),
      Effect.provideService(LocalHttp.LocalHttp, localHttp),
      Effect.provideService(LocalTcp.LocalTcp, localTcp)
    )
    const attached = yield* Effect.forkScoped(proxy.attach(connection))
    yield* proxy.subscribeScoped({
      port: remotePort,
      mode: "steal",
      filter: EVERY_PATH,
      target: { host: options.app.host, port: options.app.port }
    }).pipe(Effect.mapError(connectFailed("subscribe")))
    const front = yield* sim.serveHttp(remotePort, options.front).pipe(Effect.mapError(setupFailed("HTTP front")))

    const rows: Array<Row> = []
    for (const endpoint of options.endpoints) {
      for (let attempt = 1; attempt <= options.requests; attempt++) {
        options.onProgress?.(endpoint.name, attempt)
        const skip = endpoint.skipFor(agent)
        if (skip !== undefined) {
          rows.push({
            endpoint: endpoint.name,
            attempt,
            requestVariant: undefined,
            responseVariant: undefined,
            firstByteMs: undefined,
            totalMs: undefined,
            bytes: 0,
            outcome: Outcome.skipped(skip)
          })
          continue
        }
        const before = (yield* sim.recording).length
        const measured = yield* endpoint.drive({ app: options.app, sim, front, remotePort })
        const { requestVariant, responseVariant } = variantsIn((yield* sim.recording).slice(before))
        rows.push({
          endpoint: endpoint.name,
          attempt,
          requestVariant,
          responseVariant,
          firstByteMs: measured.firstByteMs,
          totalMs: measured.totalMs,
          bytes: measured.bytes,
          outcome: measured.judge(responseVariant)
        })
      }
    }

    const undecodable = yield* sim.undecodable()
    const ended = yield* Fiber.poll(connectionEnded)
    const detached = yield* Fiber.poll(attached)
    const connectionLost = Option.isSome(ended) && ended.value._tag === "Success"
      ? ended.value.value.diagnosis === undefined
        ? ended.value.value.message
        : Diagnosis.describe(ended.value.value.diagnosis)
      : Option.isSome(detached)
      ? "the proxy detached from the agent connection"
      : undefined
    return { agentVersion: options.agentVersion, handshake, rows, undecodable, connectionLost }
  }))
