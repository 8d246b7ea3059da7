/**
 * The test bench: a real IncomingProxy (real LocalHttp, real LocalTcp) attached through a real
 * socket to the scripted byte agent, plus message builders.
 */
import type { AgentConnectionShape } from "@mirrord-effect/client/AgentConnection"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { Subscription, SubscriptionRequest } from "@mirrord-effect/incoming/Subscription"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import type { BodyFrame, DaemonTcp, HeaderMap, HttpVersion, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { expect } from "vitest"
import { connectAgent } from "./agentConnection.js"
import { type AgentSession, byteAgent, replacer } from "./byteAgent.js"

export interface BenchOptions {
  readonly agentVersion?: string
  readonly echo?: boolean
  readonly proxy?: IncomingProxy.IncomingProxyOptions
  readonly localHttp?: LocalHttp.LocalHttpOptions
  /** Outbound queue of the test AgentConnection (small = a slow agent pushes back quickly). */
  readonly outboundCapacity?: number
}

export interface Bench {
  readonly proxy: IncomingProxy.IncomingProxyService
  readonly localHttp: LocalHttp.LocalHttpService
  readonly localTcp: LocalTcp.LocalTcpService
  /** The agent side of the current connection. */
  agent: AgentSession
  attachFiber: Fiber.RuntimeFiber<void, unknown>
  /** Subscribes and confirms: expects the subscribe message, answers `Ok(port)`. */
  readonly subscribe: (request: SubscriptionRequest) => Effect.Effect<Subscription>
  /** Agent loss, then a new connection (to an agent of `agentVersion`); subscriptions are re-sent. */
  readonly reconnect: (agentVersion?: string) => Effect.Effect<void>
  readonly setVersion: (version: Option.Option<string>) => Effect.Effect<void>
}

export const bench = (options: BenchOptions = {}): Effect.Effect<Bench, never, Scope.Scope> =>
  Effect.gen(function*() {
    const versionRef = yield* ProtocolVersion.make()
    const localHttp = yield* LocalHttp.make(options.localHttp)
    const localTcp = yield* LocalTcp.make()
    const proxy = yield* IncomingProxy.make({ retryBackoff: [5, 5, 5], ...options.proxy }).pipe(
      Effect.provideService(ProtocolVersion.ProtocolVersion, versionRef),
      Effect.provideService(LocalHttp.LocalHttp, localHttp),
      Effect.provideService(LocalTcp.LocalTcp, localTcp)
    )
    const connectTo = (agentVersion: string) =>
      Effect.gen(function*() {
        const server = yield* byteAgent(agentVersion, { echo: options.echo ?? false })
        const connecting = yield* connectAgent(server.port, { outboundCapacity: options.outboundCapacity ?? 64 }).pipe(
          Effect.provideService(ProtocolVersion.ProtocolVersion, versionRef),
          Effect.forkScoped
        )
        const agent = yield* server.accept
        const connection: AgentConnectionShape = yield* Fiber.join(connecting)
        const attachFiber = yield* Effect.forkScoped(proxy.attach(connection))
        return { agent, attachFiber }
      })
    const setVersion = (version: Option.Option<string>) =>
      ProtocolVersion.set(Option.map(version, Version.unsafeParseVersion)).pipe(
        Effect.provideService(ProtocolVersion.ProtocolVersion, versionRef)
      )
    const first = yield* connectTo(options.agentVersion ?? "1.29.0")
    const scope = yield* Effect.scope
    const b: Bench = {
      proxy,
      localHttp,
      localTcp,
      agent: first.agent,
      attachFiber: first.attachFiber,
      subscribe: (request) =>
        Effect.gen(function*() {
          const pending = yield* Effect.fork(proxy.subscribe(request))
          const message = yield* b.agent.next()
          expect(isSubscribe(message)).toBe(true)
          yield* b.agent.send(subscribeOk(request.mode, request.port))
          return yield* Effect.orDie(Fiber.join(pending))
        }),
      reconnect: (agentVersion) =>
        Effect.gen(function*() {
          yield* b.agent.drop
          yield* Fiber.await(b.attachFiber)
          // What an agent connection does when it is lost: the version is unknown again.
          yield* setVersion(Option.none())
          const next = yield* Scope.extend(connectTo(agentVersion ?? options.agentVersion ?? "1.29.0"), scope)
          b.agent = next.agent
          b.attachFiber = next.attachFiber
        }),
      setVersion
    }
    return b
  })

// ---------------------------------------------------------------------------------------------
// message builders

const enc = new TextEncoder()
export const bytes = (text: string): Uint8Array => enc.encode(text)
export const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1")
export const data = (t: string): BodyFrame => ({ _tag: "Data", value: bytes(t) })
export const headers = (pairs: Record<string, string | Array<string>>): HeaderMap =>
  Object.entries(pairs).map(([k, v]) => [k.toLowerCase(), (Array.isArray(v) ? v : [v]).map(bytes)] as const)

const defaultHeaders: HeaderMap = [["host", [new TextEncoder().encode("localhost")]]]

export const stealMsg = (value: DaemonTcp): DaemonMessage => ({ _tag: "TcpSteal", value })
export const mirrorMsg = (value: DaemonTcp): DaemonMessage => ({ _tag: "Tcp", value })
export const onChannel = (mode: "steal" | "mirror", value: DaemonTcp): DaemonMessage =>
  mode === "steal" ? stealMsg(value) : mirrorMsg(value)

export const subscribeOk = (mode: "steal" | "mirror", port: number): DaemonMessage =>
  onChannel(mode, { _tag: "SubscribeResult", value: { _tag: "Ok", value: port } })

export interface RequestSpec {
  readonly conn?: bigint
  readonly req?: number
  readonly port: number
  readonly method?: string
  readonly uri?: string
  readonly version?: HttpVersion
  readonly headers?: HeaderMap
  readonly frames?: ReadonlyArray<BodyFrame>
  readonly isLast?: boolean
}

export const startV2 = (r: RequestSpec): DaemonTcp => ({
  _tag: "HttpRequestChunked",
  value: {
    _tag: "StartV2",
    value: {
      connection_id: r.conn ?? 0n,
      request_id: r.req ?? 0,
      request: {
        method: r.method ?? "GET",
        uri: r.uri ?? "/",
        headers: r.headers ?? defaultHeaders,
        version: r.version ?? "HTTP/1.1",
        body: { frames: r.frames ?? [], is_last: r.isLast ?? true }
      },
      metadata: { _tag: "V1", source: "127.0.0.1:55555", destination: `127.0.0.1:${r.port}` },
      transport: { _tag: "Tcp" }
    }
  }
})

/** An `HttpRequest<B>` (legacy, Framed, or a StartV1) with the spec's defaults. */
const httpRequestOf = <B>(r: RequestSpec, body: B) => ({
  internal_request: {
    method: r.method ?? "GET",
    uri: r.uri ?? "/",
    headers: r.headers ?? defaultHeaders,
    version: r.version ?? ("HTTP/1.1" as const),
    body
  },
  connection_id: r.conn ?? 0n,
  request_id: r.req ?? 0,
  port: r.port
})

export const startV1 = (r: RequestSpec): DaemonTcp => ({
  _tag: "HttpRequestChunked",
  value: { _tag: "StartV1", value: httpRequestOf(r, r.frames ?? []) }
})

export const framedRequest = (r: RequestSpec): DaemonTcp => ({
  _tag: "HttpRequestFramed",
  value: httpRequestOf(r, r.frames ?? [])
})

export const legacyRequest = (r: RequestSpec & { readonly body?: string }): DaemonTcp => ({
  _tag: "HttpRequest",
  value: httpRequestOf(r, bytes(r.body ?? ""))
})

export const bodyMsg = (conn: bigint, req: number, frames: ReadonlyArray<BodyFrame>, isLast: boolean): DaemonTcp => ({
  _tag: "HttpRequestChunked",
  value: { _tag: "Body", value: { frames, is_last: isLast, connection_id: conn, request_id: req } }
})

export const closeMsg = (conn: bigint): DaemonTcp => ({ _tag: "Close", value: { connection_id: conn } })
export const dataMsg = (conn: bigint, payload: string | Uint8Array): DaemonTcp => ({
  _tag: "Data",
  value: { connection_id: conn, bytes: typeof payload === "string" ? bytes(payload) : payload }
})
export const newConnectionV1 = (conn: bigint, port: number): DaemonTcp => ({
  _tag: "NewConnectionV1",
  value: { connection_id: conn, remote_address: "10.0.0.1", destination_port: port, source_port: 40000, local_address: "10.0.0.2" }
})
export const newConnectionV2 = (conn: bigint, port: number): DaemonTcp => ({
  _tag: "NewConnectionV2",
  value: {
    connection: { connection_id: conn, remote_address: "10.0.0.1", destination_port: port, source_port: 40000, local_address: "10.0.0.2" },
    transport: { _tag: "Tcp" }
  }
})

// ---------------------------------------------------------------------------------------------
// reading what the proxy sent

export const isSubscribe = (m: ClientMessage): boolean =>
  (m._tag === "TcpSteal" && m.value._tag === "PortSubscribe") ||
  (m._tag === "Tcp" && (m.value._tag === "PortSubscribe" || m.value._tag === "PortSubscribeFilteredHttp"))

/** The LayerTcpSteal payload of a message, or a test failure. */
export const stolen = (m: ClientMessage): LayerTcpSteal => {
  if (m._tag !== "TcpSteal") throw new Error(`expected TcpSteal, got ${JSON.stringify(m, replacer)}`)
  return m.value
}

/** A short description: "HttpResponse 200", "Start", "Body[2] last", "Data 5", ... */
export const describe = (m: ClientMessage): string => {
  if (m._tag !== "TcpSteal") return `${m._tag}.${(m as { value?: { _tag?: string } }).value?._tag ?? ""}`
  const s = m.value
  switch (s._tag) {
    case "HttpResponse":
      return `HttpResponse ${s.value.internal_response.status}`
    case "HttpResponseFramed":
      return `HttpResponseFramed ${s.value.internal_response.status}`
    case "HttpResponseChunked":
      return s.value._tag === "Body"
        ? `Body${s.value.value.is_last ? " last" : ""}`
        : s.value._tag === "Start"
        ? `Start ${s.value.value.internal_response.status}`
        : "Error"
    case "Data":
      return `Data ${s.value.bytes.length}`
    default:
      return s._tag
  }
}

/** Concatenated Data of a list of frames. */
export const frameText = (frames: ReadonlyArray<BodyFrame>): string =>
  frames.map((f) => (f._tag === "Data" ? text(f.value) : "")).join("")

/** The body text carried by one response message. */
export const bodyText = (m: ClientMessage): string => {
  const s = stolen(m)
  switch (s._tag) {
    case "HttpResponse":
      return text(s.value.internal_response.body)
    case "HttpResponseFramed":
      return frameText(s.value.internal_response.body)
    case "HttpResponseChunked":
      return s.value._tag === "Start"
        ? frameText(s.value.value.internal_response.body)
        : s.value._tag === "Body"
        ? frameText(s.value.value.frames)
        : ""
    default:
      return ""
  }
}

/**
 * An ordering barrier on the agent connection: sends a request for a port nobody subscribed
 * (the proxy answers it at once with a 502) and returns every message that arrived before that
 * 502. Once the proxy has nothing in flight, nothing else can follow: a deterministic "quiet".
 */
export const barrier = (agent: AgentSession): Effect.Effect<Array<ClientMessage>> =>
  Effect.gen(function*() {
    const conn = 0xbad_0bn
    yield* agent.send(stealMsg(startV2({ port: 9, conn })))
    const before: Array<ClientMessage> = []
    for (;;) {
      const m = yield* agent.next()
      if (m._tag === "TcpSteal" && m.value._tag === "HttpResponse" && m.value.value.connection_id === conn) return before
      before.push(m)
    }
  })

/** Reads messages until a complete response (Basic, Framed, Chunked is_last/Error); returns them all. */
export const collectResponse = (agent: AgentSession): Effect.Effect<Array<ClientMessage>> =>
  Effect.gen(function*() {
    const out: Array<ClientMessage> = []
    for (;;) {
      const m = yield* agent.next()
      out.push(m)
      const s = stolen(m)
      if (s._tag === "HttpResponse" || s._tag === "HttpResponseFramed") return out
      if (s._tag === "HttpResponseChunked" && (s.value._tag === "Error" || (s.value._tag === "Body" && s.value.value.is_last))) {
        return out
      }
    }
  })

/**
 * Waits for `predicate` (polled every 10 ms). The bound is generous on purpose: a loaded machine
 * must not fail the test; a hang is still reported (by name) well before the runner's timeout.
 */
export const waitUntil: {
  (predicate: () => boolean, what?: string): Effect.Effect<void>
  /** @deprecated a bound shorter than the generous default is not honoured */
  (predicate: () => boolean, timeoutMs: number, what?: string): Effect.Effect<void>
} = (predicate: () => boolean, whatOrTimeout?: string | number, maybeWhat?: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const what = typeof whatOrTimeout === "string" ? whatOrTimeout : maybeWhat ?? "condition"
    const start = Date.now()
    while (!predicate()) {
      if (Date.now() - start > WAIT_BOUND_MS) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep(10)
    }
  })

/** How long a test waits for an event before it reports it missing (below the 60 s test timeout). */
export const WAIT_BOUND_MS = 45_000
