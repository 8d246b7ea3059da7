/**
 * The simulator: client sessions, negotiation, subscriptions, request/response exchanges and
 * raw connections. All shared state is plain mutable data changed in synchronous steps (one JS
 * thread), waiting happens on Deferreds and Mailboxes.
 *
 * Receive path: each socket chunk is decoded in the `'data'` callback (MessageReader) and the
 * client's session fiber, woken once, handles its messages in one run; while that fiber waits (a
 * write waiting for drain) and messages pile up, the socket is paused. Send path: messages are encoded and
 * written from the calling fiber, the writes of one tick corked together, waiting for `'drain'`
 * only when the socket says so.
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { waitDrain } from "./drain.js"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage, ResponseError } from "@mirrord-effect/protocol/Message"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"
import * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import type * as net from "node:net"
import type {
  AgentSim,
  AgentSimOptions,
  ClientInfo,
  HttpConnection,
  HttpRequestInput,
  RequestOptions,
  SubscriptionInfo
} from "../AgentSim.js"
import { AgentSimError } from "../AgentSimError.js"
import * as HttpFilterMatch from "../HttpFilterMatch.js"
import * as HttpFront from "../HttpFront.js"
import * as MessageReader from "../MessageReader.js"
import * as Negotiation from "../Negotiation.js"
import type { DropReason, Recorded, SimEvent } from "../Recording.js"
import * as Recording from "../Recording.js"
import type { ResponseEvent } from "../ResponseEvent.js"
import type { TcpDuplex, TcpDuplexEnd } from "../TcpDuplex.js"
import { listenTcp } from "./listener.js"

type SemVer = Version.SemVer
type DaemonTcp = Tcp.DaemonTcp
type Channel = "Tcp" | "TcpSteal"

const DEFAULT_SOURCE = "10.0.0.1:40000"
const DEFAULT_POD_ADDRESS = "10.0.0.2"
const NOT_STOLEN_BODY = new TextEncoder().encode("agent-sim: no mirrord client subscription selected this request\n")

interface Client {
  readonly id: number
  readonly remote: string
  readonly socket: net.Socket
  clientVersion: SemVer | undefined
  alive: boolean
  /** why the client is gone, once it is */
  goneWith: AgentSimError | undefined
  /** the socket is corked until the end of this tick */
  corked: boolean
}

interface Subscription {
  readonly client: Client
  readonly info: SubscriptionInfo
  readonly selects: HttpFilterMatch.CompiledFilter | undefined // undefined = All
}

interface Exchange {
  readonly client: Client
  readonly connectionId: bigint
  readonly requestId: number
  readonly port: number
  readonly shared: boolean
  phase: "AwaitingResponse" | "Streaming" | "Done"
  status: number
  readonly events: Mailbox.Mailbox<ResponseEvent, AgentSimError>
  upgrade: DuplexState | undefined
}

interface DuplexState {
  readonly client: Client
  readonly connectionId: bigint
  active: boolean
  readonly activated: Deferred.Deferred<void>
  readonly inbound: Mailbox.Mailbox<Uint8Array, AgentSimError>
  readEnded: boolean
  writeEnded: boolean
  closed: boolean
  readonly ended: Deferred.Deferred<TcpDuplexEnd>
}

interface SharedConnection {
  readonly connectionId: bigint
  nextRequestId: number
  readonly clients: Set<Client>
}

const now = () => performance.now()

const exchangeKey = (connectionId: bigint, requestId: number) => `${connectionId}/${requestId}`

const ipOf = (socketAddress: string): string => {
  const v6 = /^\[(.*)\]:\d+$/.exec(socketAddress)
  if (v6 !== null) return v6[1]!
  const i = socketAddress.lastIndexOf(":")
  return i < 0 ? socketAddress : socketAddress.slice(0, i)
}

const portOf = (socketAddress: string): number => {
  const i = socketAddress.lastIndexOf(":")
  const n = i < 0 ? NaN : Number(socketAddress.slice(i + 1))
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 0
}

const socketAddress = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`)

const dropReasonOf = (error: DecodeError): DropReason => {
  const last = error.path[error.path.length - 1]
  const enumName = error.reason === "UnknownVariant" && last !== undefined ? last.split("::")[0] : undefined
  const index = error.reason === "UnknownVariant" ? error.variantIndex : undefined
  const variantName = enumName !== undefined && index !== undefined
    ? VariantHistory.variantNames(enumName)?.[index]
    : undefined
  const since = enumName !== undefined && index !== undefined ? VariantHistory.sinceOf(enumName, index) : undefined
  return { reason: error.reason, path: error.path, enumName, index, variantName, since, offset: error.offset, detail: error.detail }
}

const describeDrop = (agent: string, drop: DropReason): string =>
  drop.reason === "UnknownVariant"
    ? `agent ${agent} dropped the client connection without Close: ${drop.enumName ?? "?"} variant ${drop.index ?? "?"}` +
      ` (${drop.variantName ?? "unknown"}${drop.since === undefined ? "" : `, since ${drop.since}`}) is not decodable at ${agent}`
    : `agent ${agent} dropped the client connection without Close: ${drop.reason} at byte ${drop.offset}: ${drop.detail}`

const validateRequest = (request: HttpRequestInput): string | undefined => {
  const tcp = Tcp
  if (!tcp.isMethod(request.method)) return `invalid method ${JSON.stringify(request.method)}`
  if (tcp.normalizeUri(request.uri) === undefined) return `invalid URI ${JSON.stringify(request.uri)}`
  for (const [name, values] of request.headers ?? []) {
    if (!tcp.isHeaderName(name) || name !== name.toLowerCase()) return `invalid header name ${JSON.stringify(name)}`
    for (const v of values) if (!tcp.isHeaderValue(v)) return `invalid value for header ${name}`
  }
  return undefined
}


/** @internal */
export const make = (options: AgentSimOptions): Effect.Effect<AgentSim, AgentSimError, Scope.Scope> =>
  Effect.gen(function*() {
    const agentVersion = typeof options.version === "string"
      ? yield* Either.match(Version.parseVersion(options.version), {
        onLeft: (e) => Effect.fail(new AgentSimError({ reason: "Listen", detail: e.message, cause: e })),
        onRight: Effect.succeed
      })
      : options.version
    const agentVersionText = Version.format(agentVersion)
    // a real agent has no message size limit; the simulator's is generous and configurable
    const decoder = Codec.decoderFor(agentVersionText, "ClientMessage", {
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024 * 1024
    })
    const podAddress = options.podAddress ?? DEFAULT_POD_ADDRESS

    // ---------------------------------------------------------------------------------------
    // state

    const recording: Array<Recorded> = []
    const events: Array<SimEvent> = []
    const clients = new Map<number, Client>()
    let subscriptions: Array<Subscription> = []
    const exchanges = new Map<string, Exchange>()
    const duplexes = new Map<bigint, DuplexState>()
    const sharedConnections = new Map<bigint, SharedConnection>()
    const subscriptionWaiters: Array<{ port: number; mode: "steal" | "mirror" | undefined; deferred: Deferred.Deferred<SubscriptionInfo> }> = []
    let nextClientId = 1
    let nextConnectionId = 0n
    let shuttingDown = false

    const keep = options.record ?? true
    const recordingOn = keep || options.onRecord !== undefined
    const record = (r: Recorded) => {
      if (keep) recording.push(r)
      options.onRecord?.(r)
    }
    const note = (e: SimEvent) => {
      events.push(e)
    }

    const effectiveVersion = (client: Client) => Negotiation.effectiveVersion(agentVersion, client.clientVersion)

    const goneError = (client: Client) =>
      client.goneWith ?? new AgentSimError({ reason: "ClientGone", detail: `client ${client.id} is gone` })

    // ---------------------------------------------------------------------------------------
    // sending

    /** The writes of one tick leave in one writev. */
    const corkForThisTick = (client: Client) => {
      if (client.corked) return
      client.corked = true
      client.socket.cork()
      process.nextTick(() => {
        client.corked = false
        client.socket.uncork()
      })
    }

    /** Gate, record and write one message; waits for the socket to drain when its buffer is full. */
    const send = (client: Client, message: DaemonMessage, gate = true): Effect.Effect<void, AgentSimError> =>
      Effect.suspend(() => {
        if (!client.alive || client.socket.destroyed || !client.socket.writable) return Effect.fail(goneError(client))
        const variantsOf = () => Codec.variantsOf("DaemonMessage", message)
        if (gate) {
          const v = Version.format(effectiveVersion(client))
          const bad = Codec.firstUndecodableVariant("DaemonMessage", message, v)
          if (bad !== undefined) {
            const variant = Recording.shortPath(variantsOf())
            const why = `${bad.enumName}::${bad.name} (since ${bad.since}) is not decodable by the client at ${v}`
            note({ _tag: "Suppressed", clientId: client.id, variant, why, at: now() })
            return Effect.fail(new AgentSimError({ reason: "UndecodableByClient", detail: `${variant}: ${why}` }))
          }
        }
        let bytes: Uint8Array
        try {
          bytes = Codec.encode("DaemonMessage", message)
        } catch (cause) {
          return Effect.fail(
            new AgentSimError({
              reason: "InvalidRequest",
              detail: `cannot encode ${Recording.shortPath(variantsOf())}: ${String(cause)}`,
              cause
            })
          )
        }
        if (recordingOn) {
          const variants = variantsOf()
          record({ _tag: "Sent", clientId: client.id, at: now(), variant: Recording.shortPath(variants), variants, message })
        }
        corkForThisTick(client)
        const flushed = client.socket.write(bytes)
        return flushed ? Effect.void : waitDrain(client.socket)
      })

    const sendTcp = (client: Client, channel: Channel, value: DaemonTcp) =>
      send(client, channel === "TcpSteal" ? { _tag: "TcpSteal", value } : { _tag: "Tcp", value })

    // ---------------------------------------------------------------------------------------
    // subscriptions

    const infoOf = (client: Client): ClientInfo => ({
      id: client.id,
      remote: client.remote,
      clientVersion: client.clientVersion === undefined ? undefined : Version.format(client.clientVersion),
      effectiveVersion: Version.format(effectiveVersion(client)),
      subscriptions: subscriptions.filter((s) => s.client === client).map((s) => s.info)
    })

    const addSubscription = (sub: Subscription) => {
      subscriptions = subscriptions.filter((s) =>
        !(s.client === sub.client && s.info.port === sub.info.port && s.info.mode === sub.info.mode)
      )
      subscriptions.push(sub)
      for (let i = subscriptionWaiters.length - 1; i >= 0; i--) {
        const w = subscriptionWaiters[i]!
        if (w.port === sub.info.port && (w.mode === undefined || w.mode === sub.info.mode)) {
          subscriptionWaiters.splice(i, 1)
          Deferred.unsafeDone(w.deferred, Exit.succeed(sub.info))
        }
      }
    }

    const subscribe = (
      client: Client,
      channel: Channel,
      port: number,
      filter: SubscriptionInfo["filter"],
      blocked: Extract<ResponseError, { _tag: "Forbidden" }>["blocked_action"]
    ) =>
      Effect.gen(function*() {
        const mode = channel === "TcpSteal" ? "steal" : "mirror"
        let selects: HttpFilterMatch.CompiledFilter | undefined = undefined
        let result: Extract<DaemonTcp, { _tag: "SubscribeResult" }>["value"] = { _tag: "Ok", value: port }
        const compiled = filter._tag === "All"
          ? Either.right(undefined)
          : filter._tag === "Filter"
          ? HttpFilterMatch.compile(filter.filter)
          : HttpFilterMatch.compileLegacyHeader(filter.regex)
        const configured = options.subscribeResults?.[port] ?? "Ok"
        if (Either.isLeft(compiled)) {
          result = {
            _tag: "Err",
            value: {
              _tag: "Remote",
              value: filter._tag === "Filter"
                ? { _tag: "BadHttpFilterExRegex", values: [filter.filter, compiled.left] }
                : { _tag: "BadHttpFilterRegex", values: [filter._tag === "LegacyHeader" ? filter.regex : "", compiled.left] }
            }
          }
        } else if (configured === "Forbidden") {
          result = { _tag: "Err", value: { _tag: "Forbidden", blocked_action: blocked, policy_name: "agent-sim" } }
        } else if (
          configured === "PortAlreadyStolen" ||
          (mode === "steal" && subscriptions.some((s) =>
            s.client !== client && s.info.mode === "steal" && s.info.port === port &&
            (s.info.filter._tag === "All" || filter._tag === "All")
          ))
        ) {
          result = { _tag: "Err", value: { _tag: "PortAlreadyStolen", value: port } }
        } else {
          selects = compiled.right
          addSubscription({ client, info: { clientId: client.id, port, mode, filter }, selects })
        }
        yield* sendTcp(client, channel, { _tag: "SubscribeResult", value: result })
      })

    const unsubscribe = (client: Client, mode: "steal" | "mirror", port: number) =>
      Effect.sync(() => {
        subscriptions = subscriptions.filter((s) => !(s.client === client && s.info.mode === mode && s.info.port === port))
      })

    // ---------------------------------------------------------------------------------------
    // duplexes (raw connections and upgraded HTTP connections)

    const makeDuplexState = (client: Client, connectionId: bigint, active: boolean) =>
      Effect.gen(function*() {
        const state: DuplexState = {
          client,
          connectionId,
          active,
          activated: yield* Deferred.make<void>(),
          inbound: yield* Mailbox.make<Uint8Array, AgentSimError>(),
          readEnded: false,
          writeEnded: false,
          closed: false,
          ended: yield* Deferred.make<TcpDuplexEnd>()
        }
        if (active) Deferred.unsafeDone(state.activated, Exit.void)
        duplexes.set(connectionId, state)
        return state
      })

    /** Forgets a duplex without sending anything (the client unsubscribed or is gone). */
    const abandonDuplex = (state: DuplexState, end: TcpDuplexEnd, error: AgentSimError) => {
      if (state.closed) return
      state.closed = true
      if (duplexes.get(state.connectionId) === state) duplexes.delete(state.connectionId)
      state.inbound.unsafeDone(Exit.fail(error))
      Deferred.unsafeDone(state.activated, Exit.void)
      Deferred.unsafeDone(state.ended, Exit.succeed(end))
    }

    const closeDuplex = (state: DuplexState): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (state.closed) return Effect.void
        state.closed = true
        if (duplexes.get(state.connectionId) === state) duplexes.delete(state.connectionId)
        state.inbound.unsafeDone(Exit.void)
        Deferred.unsafeDone(state.activated, Exit.void)
        Deferred.unsafeDone(state.ended, Exit.succeed({ _tag: "Closed" }))
        return Effect.ignore(sendTcp(state.client, "TcpSteal", { _tag: "Close", value: { connection_id: state.connectionId } }))
      })

    // both directions are done: the remote peer is gone, as the agent tells the client with Close
    const closeIfFinished = (state: DuplexState) =>
      state.readEnded && state.writeEnded ? closeDuplex(state) : Effect.void

    const duplexOf = (state: DuplexState): TcpDuplex => {
      const closedError = () =>
        new AgentSimError({ reason: "ConnectionClosed", detail: `connection ${state.connectionId} is closed for writing` })
      return {
        connectionId: state.connectionId,
        clientId: state.client.id,
        read: Mailbox.toStream(state.inbound),
        write: (bytes) =>
          Effect.zipRight(
            Deferred.await(state.activated),
            Effect.suspend(() =>
              state.closed || state.writeEnded
                ? Effect.fail(closedError())
                : bytes.length === 0
                ? Effect.void
                : sendTcp(state.client, "TcpSteal", { _tag: "Data", value: { connection_id: state.connectionId, bytes } })
            )
          ),
        endWrite: Effect.zipRight(
          Deferred.await(state.activated),
          Effect.suspend(() => {
            if (state.closed) return Effect.fail(closedError())
            if (state.writeEnded) return Effect.void
            state.writeEnded = true
            return Effect.zipRight(
              sendTcp(state.client, "TcpSteal", {
                _tag: "Data",
                value: { connection_id: state.connectionId, bytes: new Uint8Array(0) }
              }),
              closeIfFinished(state)
            )
          })
        ),
        close: closeDuplex(state),
        ended: Deferred.await(state.ended)
      }
    }

    // ---------------------------------------------------------------------------------------
    // responses from clients

    const ignored = (client: Client, connectionId: bigint, requestId: number, variant: string, why: string) =>
      note({ _tag: "Ignored", clientId: client.id, connectionId, requestId, variant, why, at: now() })

    const pushFrames = (exchange: Exchange, frames: ReadonlyArray<Tcp.BodyFrame>, at: number) => {
      for (const frame of frames) {
        if (frame._tag === "Data") {
          if (frame.value.length > 0) exchange.events.unsafeOffer({ _tag: "Data", bytes: frame.value, at })
        } else {
          exchange.events.unsafeOffer({ _tag: "Trailers", headers: frame.value, at })
        }
      }
    }

    const startResponse = (
      exchange: Exchange,
      head: { readonly status: number; readonly version: Tcp.HttpVersion; readonly headers: Tcp.HeaderMap },
      variant: "HttpResponse" | "HttpResponseFramed" | "HttpResponseChunked",
      at: number
    ) =>
      Effect.gen(function*() {
        exchange.status = head.status
        if (head.status === 101) exchange.upgrade = yield* makeDuplexState(exchange.client, exchange.connectionId, false)
        exchange.events.unsafeOffer({
          _tag: "Head",
          status: head.status,
          version: head.version,
          headers: head.headers,
          variant,
          connectionId: exchange.connectionId,
          requestId: exchange.requestId,
          ...(exchange.upgrade === undefined ? {} : { upgrade: duplexOf(exchange.upgrade) }),
          at
        })
      })

    /** The response is complete: Close (or switch to the upgraded connection). */
    const completeResponse = (exchange: Exchange, at: number) =>
      Effect.suspend(() => {
        exchange.phase = "Done"
        exchanges.delete(exchangeKey(exchange.connectionId, exchange.requestId))
        exchange.events.unsafeOffer({ _tag: "End", at })
        exchange.events.unsafeDone(Exit.void)
        if (exchange.upgrade !== undefined) {
          exchange.upgrade.active = true
          Deferred.unsafeDone(exchange.upgrade.activated, Exit.void)
          return Effect.void
        }
        if (exchange.shared) return Effect.void
        return Effect.ignore(sendTcp(exchange.client, "TcpSteal", { _tag: "Close", value: { connection_id: exchange.connectionId } }))
      })

    const exchangeFor = (client: Client, connectionId: bigint, requestId: number, variant: string): Exchange | undefined => {
      const exchange = exchanges.get(exchangeKey(connectionId, requestId))
      if (exchange === undefined || exchange.client !== client) {
        ignored(client, connectionId, requestId, variant, "unknown connection or request id")
        return undefined
      }
      return exchange
    }

    const onResponse = (client: Client, message: Extract<Tcp.LayerTcpSteal, { _tag: `HttpResponse${string}` }>) =>
      Effect.gen(function*() {
        const at = now()
        switch (message._tag) {
          case "HttpResponse":
          case "HttpResponseFramed": {
            const r = message.value
            const exchange = exchangeFor(client, r.connection_id, r.request_id, message._tag)
            if (exchange === undefined) return
            if (exchange.phase !== "AwaitingResponse") {
              return ignored(client, r.connection_id, r.request_id, message._tag, "a response was already received")
            }
            yield* startResponse(exchange, r.internal_response, message._tag, at)
            if (message._tag === "HttpResponse") {
              const body = message.value.internal_response.body
              if (body.length > 0) exchange.events.unsafeOffer({ _tag: "Data", bytes: body, at })
            } else {
              pushFrames(exchange, message.value.internal_response.body, at)
            }
            yield* completeResponse(exchange, at)
            return
          }
          case "HttpResponseChunked": {
            const chunk = message.value
            switch (chunk._tag) {
              case "Start": {
                const r = chunk.value
                const exchange = exchangeFor(client, r.connection_id, r.request_id, "HttpResponseChunked/Start")
                if (exchange === undefined) return
                if (exchange.phase !== "AwaitingResponse") {
                  return ignored(client, r.connection_id, r.request_id, "HttpResponseChunked/Start", "a response was already received")
                }
                exchange.phase = "Streaming"
                yield* startResponse(exchange, r.internal_response, "HttpResponseChunked", at)
                pushFrames(exchange, r.internal_response.body, at)
                return
              }
              case "Body": {
                const b = chunk.value
                const exchange = exchangeFor(client, b.connection_id, b.request_id, "HttpResponseChunked/Body")
                if (exchange === undefined) return
                if (exchange.phase !== "Streaming") {
                  return ignored(client, b.connection_id, b.request_id, "HttpResponseChunked/Body", "no Start before this Body")
                }
                pushFrames(exchange, b.frames, at)
                if (b.is_last) yield* completeResponse(exchange, at)
                return
              }
              case "Error": {
                const e = chunk.value
                const exchange = exchangeFor(client, e.connection_id, e.request_id, "HttpResponseChunked/Error")
                if (exchange === undefined) return
                // the agent drops its state for the connection and sends no Close
                exchange.phase = "Done"
                exchanges.delete(exchangeKey(exchange.connectionId, exchange.requestId))
                if (exchange.upgrade !== undefined) {
                  abandonDuplex(exchange.upgrade, { _tag: "Closed" }, new AgentSimError({ reason: "ConnectionClosed", detail: "response failed" }))
                }
                exchange.events.unsafeOffer({ _tag: "Error", reason: "the client reported a failure of the response body (ChunkedResponse::Error)", at })
                exchange.events.unsafeDone(Exit.void)
                return
              }
            }
          }
        }
      })

    const onClientData = (client: Client, data: Tcp.TcpData) =>
      Effect.gen(function*() {
        const state = duplexes.get(data.connection_id)
        if (state === undefined || state.client !== client || !state.active || state.closed) {
          return ignored(client, data.connection_id, 0, "Data", "no raw or upgraded connection with that id")
        }
        if (state.readEnded) return ignored(client, data.connection_id, 0, "Data", "data after the client's EOF")
        if (data.bytes.length === 0) {
          state.readEnded = true
          state.inbound.unsafeDone(Exit.void)
          yield* closeIfFinished(state)
        } else {
          state.inbound.unsafeOffer(data.bytes)
        }
      })

    const onConnectionUnsubscribe = (client: Client, mode: "steal" | "mirror", connectionId: bigint) =>
      Effect.sync(() => {
        if (mode === "mirror") return
        const error = new AgentSimError({
          reason: "ConnectionUnsubscribed",
          detail: `client ${client.id} unsubscribed from connection ${connectionId}`
        })
        const state = duplexes.get(connectionId)
        if (state !== undefined && state.client === client) abandonDuplex(state, { _tag: "Unsubscribed" }, error)
        for (const [key, exchange] of exchanges) {
          if (exchange.client === client && exchange.connectionId === connectionId) {
            exchanges.delete(key)
            exchange.phase = "Done"
            exchange.events.unsafeDone(Exit.fail(error))
          }
        }
      })

    // ---------------------------------------------------------------------------------------
    // client messages

    const handle = (client: Client, message: ClientMessage): Effect.Effect<void, AgentSimError> =>
      Effect.gen(function*() {
        if (recordingOn) {
          const variants = Codec.variantsOf("ClientMessage", message)
          record({ _tag: "Received", clientId: client.id, at: now(), variant: Recording.shortPath(variants), variants, message })
        }
        switch (message._tag) {
          case "Ping":
            return yield* send(client, { _tag: "Pong" })
          case "SwitchProtocolVersion": {
            const announced = Version.toSemVer(message.value)
            if (announced === undefined) return
            client.clientVersion = announced
            const answer = Negotiation.answerTo(agentVersion, announced)
            note({
              _tag: "Negotiated",
              clientId: client.id,
              clientVersion: Version.format(announced),
              answered: Version.format(answer),
              at: now()
            })
            // the answer itself is exempt from gating: a client that negotiates decodes it
            return yield* send(client, { _tag: "SwitchProtocolVersionResponse", value: Version.format(answer) }, false)
          }
          case "Close":
            client.socket.end()
            return
          case "ReadyForLogs":
            return
          case "TcpSteal": {
            const m = message.value
            switch (m._tag) {
              case "PortSubscribe": {
                const st = m.value
                const port = st._tag === "All" ? st.value : st.values[0]
                const filter: SubscriptionInfo["filter"] = st._tag === "All"
                  ? { _tag: "All" }
                  : st._tag === "FilteredHttp"
                  ? { _tag: "LegacyHeader", regex: st.values[1] }
                  : { _tag: "Filter", filter: st.values[1] }
                return yield* subscribe(client, "TcpSteal", port, filter, { _tag: "Steal", value: st })
              }
              case "PortUnsubscribe":
                return yield* unsubscribe(client, "steal", m.value)
              case "ConnectionUnsubscribe":
                return yield* onConnectionUnsubscribe(client, "steal", m.value)
              case "Data":
                return yield* onClientData(client, m.value)
              case "HttpResponse":
              case "HttpResponseFramed":
              case "HttpResponseChunked":
                return yield* onResponse(client, m)
            }
            return
          }
          case "Tcp": {
            const m = message.value
            switch (m._tag) {
              case "PortSubscribe":
                return yield* subscribe(client, "Tcp", m.value, { _tag: "All" }, { _tag: "Mirror", value: m.value })
              case "PortSubscribeFilteredHttp":
                return yield* subscribe(client, "Tcp", m.values[0], { _tag: "Filter", filter: m.values[1] }, {
                  _tag: "Mirror",
                  value: m.values[0]
                })
              case "PortUnsubscribe":
                return yield* unsubscribe(client, "mirror", m.value)
              case "ConnectionUnsubscribe":
                return yield* onConnectionUnsubscribe(client, "mirror", m.value)
            }
            return
          }
          default:
            note({
              _tag: "Unhandled",
              clientId: client.id,
              variant: Recording.shortPath(Codec.variantsOf("ClientMessage", message)),
              at: now()
            })
        }
      }).pipe(
        // a send refused by the gate is recorded; it must not end the session
        Effect.catchIf((e) => e.reason === "UndecodableByClient", () => Effect.void)
      )

    // ---------------------------------------------------------------------------------------
    // client sessions

    const clientGone = (client: Client, error: AgentSimError) => {
      if (!client.alive) return
      client.alive = false
      client.goneWith = error
      clients.delete(client.id)
      subscriptions = subscriptions.filter((s) => s.client !== client)
      for (const [key, exchange] of exchanges) {
        if (exchange.client === client) {
          exchanges.delete(key)
          exchange.phase = "Done"
          exchange.events.unsafeDone(Exit.fail(error))
        }
      }
      for (const state of [...duplexes.values()]) {
        if (state.client === client) abandonDuplex(state, { _tag: "ClientGone", detail: error.detail }, error)
      }
    }

    const disconnected = (clientId: number) =>
      new AgentSimError({
        reason: shuttingDown ? "Shutdown" : "ClientGone",
        detail: shuttingDown ? "the simulator is shutting down" : `client ${clientId} disconnected`
      })

    /** Past this many decoded messages waiting for the session fiber, the socket is paused. */
    const INBOX_HIGH_WATER = 256

    const serveClient = (socket: net.Socket) =>
      Effect.gen(function*() {
        const client: Client = {
          id: nextClientId++,
          remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
          socket,
          clientVersion: undefined,
          alive: true,
          goneWith: undefined,
          corked: false
        }
        clients.set(client.id, client)
        note({ _tag: "ClientConnected", clientId: client.id, remote: client.remote, at: now() })
        // The 'data' callback decodes (MessageReader) into `inbox`, a plain array, and wakes the
        // session fiber, which handles everything there in one run. While the fiber is busy
        // (a write waiting for drain) and the inbox is full, the socket is paused.
        const reader = MessageReader.make(decoder)
        let inbox: Array<ClientMessage> = []
        let inputEnded = false
        let stopError: DecodeError | undefined
        let paused = false
        let wake: (() => void) | undefined
        const wakeUp = () => {
          const w = wake
          wake = undefined
          w?.()
        }
        const endInput = (error: DecodeError | undefined) => {
          if (inputEnded) return
          inputEnded = true
          stopError = error ?? reader.end()
          wakeUp()
        }
        socket.on("data", (chunk: Buffer) => {
          if (inputEnded) return
          // a plain Uint8Array view: payloads handed out are Uint8Arrays, not Buffers
          const { error, messages } = reader.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          for (const m of messages) inbox.push(m)
          if (inbox.length >= INBOX_HIGH_WATER && !paused) {
            paused = true
            socket.pause()
          }
          if (error !== undefined) endInput(error)
          else if (messages.length > 0) wakeUp()
        })
        socket.on("end", () => endInput(undefined))
        socket.on("close", () => endInput(undefined))
        socket.on("error", () => endInput(undefined))

        /** The messages received since the last call; waits when there are none (and input goes on). */
        const nextBatch = Effect.async<Array<ClientMessage>>((resume) => {
          const take = () => {
            const batch = inbox
            inbox = []
            if (paused && !inputEnded) {
              paused = false
              socket.resume()
            }
            resume(Effect.succeed(batch))
          }
          if (inbox.length > 0 || inputEnded) return take()
          wake = take
          return Effect.sync(() => {
            wake = undefined
          })
        })

        for (;;) {
          const batch = yield* nextBatch
          if (batch.length === 0) break // the input ended and everything before it is handled
          for (const message of batch) {
            const exit = yield* Effect.exit(handle(client, message))
            // a failed handler (the client is gone mid-send) ends the session, as before
            if (Exit.isFailure(exit)) return clientGone(client, disconnected(client.id))
          }
        }
        if (stopError !== undefined) {
          const drop = dropReasonOf(stopError)
          record({ _tag: "Undecodable", clientId: client.id, at: now(), drop })
          note({ _tag: "ClientDropped", clientId: client.id, drop, at: now() })
          // like the Rust agent: the client loop returns the error and the socket is dropped, no Close
          socket.destroy()
          clientGone(client, new AgentSimError({ reason: "ClientDropped", detail: describeDrop(agentVersionText, drop) }))
          return
        }
        clientGone(client, disconnected(client.id))
      }).pipe(
        Effect.onExit(() =>
          Effect.sync(() => {
            const found = [...clients.values()].find((c) => c.socket === socket)
            if (found !== undefined) {
              clientGone(found, disconnected(found.id))
            }
            socket.destroy()
            note({ _tag: "ClientDisconnected", clientId: found?.id ?? 0, at: now() })
          })
        )
      )

    // finalizers run in reverse: first mark the shutdown, then stop sessions, then the listener
    const sessions = yield* FiberSet.make<void, never>()
    const runSession = yield* FiberSet.runtime(sessions)<never>()
    const address = yield* listenTcp(options.listen?.host ?? "127.0.0.1", options.listen?.port ?? 0, (socket) => {
      runSession(serveClient(socket))
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => {
      shuttingDown = true
    }))

    // ---------------------------------------------------------------------------------------
    // injecting requests

    const hasUpgradeHeader = (headers: Tcp.HeaderMap) => headers.some(([name]) => name === "upgrade")

    /**
     * The steal subscription a real agent would deliver this request to; each subscription that
     * matches but gets the request as raw TCP instead (too old a protocol) is noted and its
     * explanation pushed to `passedThrough`.
     */
    const stealTarget = (
      port: number,
      view: HttpFilterMatch.RequestView,
      passedThrough: Array<string>
    ): Subscription | undefined => {
      const passThrough = (sub: Subscription, why: string, explanation: string) => {
        note({ _tag: "PassedThrough", clientId: sub.client.id, port, why, at: now() })
        passedThrough.push(explanation)
      }
      for (const sub of subscriptions) {
        if (sub.info.mode !== "steal" || sub.info.port !== port) continue
        const v = Version.format(effectiveVersion(sub.client))
        if (sub.selects === undefined) {
          if (!Negotiation.deliversModeAgnosticHttp(effectiveVersion(sub.client))) {
            passThrough(
              sub,
              `HTTP on an unfiltered steal needs protocol 1.19.4 (client effective version ${v})`,
              `client ${sub.client.id} holds an unfiltered steal on port ${port}, but agents before 1.19.4 pass ` +
                `unfiltered HTTP through as raw TCP, not as HTTP requests (its effective protocol version is ${v}); ` +
                `subscribe with an HTTP filter, use an agent of 1.19.4 or later, or send raw TCP (AgentSim.connect)`
            )
            continue
          }
          return sub
        }
        if (!sub.selects(view)) continue
        if (hasUpgradeHeader(view.headers) && !Negotiation.deliversFilteredUpgrade(effectiveVersion(sub.client))) {
          passThrough(
            sub,
            `a filtered request with an Upgrade header needs protocol 1.5.0 (client effective version ${v})`,
            `client ${sub.client.id}'s filter on port ${port} selects this request, but agents before 1.5.0 pass a ` +
              `request with an Upgrade header through to the original destination (its effective protocol version is ${v})`
          )
          continue
        }
        return sub
      }
      return undefined
    }

    const mirrorTargets = (port: number, view: HttpFilterMatch.RequestView): Array<Subscription> =>
      subscriptions.filter((sub) => {
        if (sub.info.mode !== "mirror" || sub.info.port !== port) return false
        if (sub.selects !== undefined && !sub.selects(view)) return false
        const v = effectiveVersion(sub.client)
        if (!Negotiation.deliversModeAgnosticHttp(v)) {
          note({
            _tag: "NotMirrored",
            clientId: sub.client.id,
            port,
            why: `mirrored HTTP needs protocol 1.19.4 (client effective version ${Version.format(v)})`,
            at: now()
          })
          return false
        }
        return true
      })

    const bodyFailed = (cause: unknown) =>
      new AgentSimError({ reason: "RequestBody", detail: `the request body failed: ${String(cause)}`, cause })

    const trailersOf = (input: HttpRequestInput): Effect.Effect<Tcp.HeaderMap | undefined> =>
      input.trailers === undefined
        ? Effect.succeed(undefined)
        : Effect.isEffect(input.trailers)
        ? input.trailers
        : Effect.succeed(input.trailers)

    /** Sends the request to a client in the variant its effective version calls for. */
    const sendRequest = (
      client: Client,
      channel: Channel,
      connectionId: bigint,
      requestId: number,
      port: number,
      input: HttpRequestInput,
      requestOptions: RequestOptions | undefined
    ): Effect.Effect<void, AgentSimError> =>
      Effect.gen(function*() {
        const v = effectiveVersion(client)
        const variant = channel === "Tcp" ? "ChunkedStartV2" : Negotiation.requestVariantFor(v)
        const head = {
          method: input.method,
          uri: input.uri,
          headers: input.headers ?? [],
          version: input.version ?? "HTTP/1.1"
        } as const
        const ids = { connection_id: connectionId, request_id: requestId }
        const body = input.body ?? new Uint8Array(0)
        const wholeBody = body instanceof Uint8Array

        if (variant === "HttpRequest" || variant === "HttpRequestFramed") {
          // agents of this era buffer the whole body first
          const chunks = wholeBody
            ? [body]
            : Array.from(yield* Stream.runCollect(Stream.mapError(body, bodyFailed)))
          const data = chunks.filter((c) => c.length > 0)
          if (variant === "HttpRequest") {
            return yield* sendTcp(client, channel, {
              _tag: "HttpRequest",
              value: { internal_request: { ...head, body: Buffer.concat(data) }, ...ids, port }
            })
          }
          const trailers = yield* trailersOf(input)
          const frames: Array<Tcp.BodyFrame> = data.map((value) => ({ _tag: "Data", value }))
          if (trailers !== undefined) frames.push({ _tag: "Trailers", value: trailers })
          return yield* sendTcp(client, channel, {
            _tag: "HttpRequestFramed",
            value: { internal_request: { ...head, body: frames }, ...ids, port }
          })
        }

        const bodyMessage = (frames: ReadonlyArray<Tcp.BodyFrame>, is_last: boolean) =>
          sendTcp(client, channel, { _tag: "HttpRequestChunked", value: { _tag: "Body", value: { frames, is_last, ...ids } } })
        const initialFrames: Array<Tcp.BodyFrame> = wholeBody && body.length > 0 ? [{ _tag: "Data", value: body }] : []
        if (wholeBody) {
          const trailers = yield* trailersOf(input)
          if (trailers !== undefined) initialFrames.push({ _tag: "Trailers", value: trailers })
        }

        if (variant === "ChunkedStartV1") {
          yield* sendTcp(client, channel, {
            _tag: "HttpRequestChunked",
            value: { _tag: "StartV1", value: { internal_request: { ...head, body: initialFrames }, ...ids, port } }
          })
        } else {
          const source = requestOptions?.source ?? DEFAULT_SOURCE
          yield* sendTcp(client, channel, {
            _tag: "HttpRequestChunked",
            value: {
              _tag: "StartV2",
              value: {
                ...ids,
                request: { ...head, body: { frames: initialFrames, is_last: wholeBody } },
                metadata: { _tag: "V1", source, destination: socketAddress(podAddress, port) },
                transport: { _tag: "Tcp" }
              }
            }
          })
          if (wholeBody) return
        }
        if (!wholeBody) {
          // one Body per chunk, as the stream produces them
          yield* Stream.runForEach(
            Stream.mapError(body, bodyFailed),
            (chunk) => chunk.length === 0 ? Effect.void : bodyMessage([{ _tag: "Data", value: chunk }], false)
          )
          const trailers = yield* trailersOf(input)
          if (trailers !== undefined) yield* bodyMessage([{ _tag: "Trailers", value: trailers }], false)
        }
        yield* bodyMessage([], true)
      })

    const notStolen = (
      port: number,
      input: HttpRequestInput,
      options: RequestOptions | undefined,
      view: HttpFilterMatch.RequestView,
      passedThrough: ReadonlyArray<string>
    ) =>
      Effect.gen(function*() {
        const mirrors = mirrorTargets(port, view)
        const sendMirror = (sub: Subscription, body: HttpRequestInput["body"]) =>
          Effect.suspend(() => {
            const connectionId = nextConnectionId++
            return sendRequest(sub.client, "Tcp", connectionId, 0, port, { ...input, ...(body === undefined ? {} : { body }) }, options)
              .pipe(
                Effect.zipRight(sendTcp(sub.client, "Tcp", { _tag: "Close", value: { connection_id: connectionId } })),
                Effect.ignore
              )
          })
        const body = input.body
        // the original server reads the whole request before answering: so does the simulator
        if (body === undefined || body instanceof Uint8Array || mirrors.length === 0) {
          yield* Effect.forEach(mirrors, (sub) => sendMirror(sub, body), { concurrency: "unbounded", discard: true })
          if (body !== undefined && !(body instanceof Uint8Array)) yield* Effect.ignore(Stream.runDrain(body))
        } else if (mirrors.length === 1) {
          yield* sendMirror(mirrors[0]!, body)
        } else {
          yield* Effect.scoped(Effect.gen(function*() {
            const copies = yield* Stream.broadcast(body, mirrors.length, 64)
            yield* Effect.forEach(mirrors, (sub, i) => sendMirror(sub, copies[i]!), { concurrency: "unbounded", discard: true })
          }))
        }
        const at = now()
        // say why: "nobody subscribed" is wrong when a subscription exists but gets raw TCP
        const answer = passedThrough.length === 0
          ? NOT_STOLEN_BODY
          : new TextEncoder().encode(
            `agent-sim: this request was not stolen as HTTP: ${passedThrough.join("; ")}\n`
          )
        const events: Array<ResponseEvent> = [
          {
            _tag: "Head",
            status: 404,
            version: input.version ?? "HTTP/1.1",
            headers: [
              ["content-type", [new TextEncoder().encode("text/plain; charset=utf-8")]],
              ["content-length", [new TextEncoder().encode(String(answer.length))]]
            ],
            variant: "NotStolen",
            connectionId: -1n,
            requestId: 0,
            at
          },
          { _tag: "Data", bytes: answer, at },
          { _tag: "End", at }
        ]
        return Stream.fromIterable(events)
      })

    const startExchange = (
      port: number,
      input: HttpRequestInput,
      requestOptions: RequestOptions | undefined,
      shared: SharedConnection | undefined
    ): Stream.Stream<ResponseEvent, AgentSimError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const invalid = validateRequest(input)
        if (invalid !== undefined) return yield* Effect.fail(new AgentSimError({ reason: "InvalidRequest", detail: invalid }))
        const view = { method: input.method, uri: input.uri, headers: input.headers ?? [] }
        const passedThrough: Array<string> = []
        const target = stealTarget(port, view, passedThrough)
        if (target === undefined) return yield* notStolen(port, input, requestOptions, view, passedThrough)
        const client = target.client
        const connectionId = shared?.connectionId ?? nextConnectionId++
        const requestId = shared === undefined ? 0 : shared.nextRequestId++
        shared?.clients.add(client)
        const exchange: Exchange = {
          client,
          connectionId,
          requestId,
          port,
          shared: shared !== undefined,
          phase: "AwaitingResponse",
          status: 0,
          events: yield* Mailbox.make<ResponseEvent, AgentSimError>(),
          upgrade: undefined
        }
        exchanges.set(exchangeKey(connectionId, requestId), exchange)
        // the consumer stopped early: the original client went away, the agent sends Close
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() => {
            if (exchange.phase === "Done") return Effect.void
            exchange.phase = "Done"
            exchanges.delete(exchangeKey(connectionId, requestId))
            return shared !== undefined
              ? Effect.void
              : Effect.ignore(sendTcp(client, "TcpSteal", { _tag: "Close", value: { connection_id: connectionId } }))
          })
        )
        yield* sendRequest(client, "TcpSteal", connectionId, requestId, port, input, requestOptions).pipe(
          Effect.catchAll((error) =>
            Effect.gen(function*() {
              // a failed request body: the current agent logs and sends Close
              if (error.reason === "RequestBody" && exchange.phase !== "Done" && shared === undefined) {
                exchange.phase = "Done"
                exchanges.delete(exchangeKey(connectionId, requestId))
                yield* Effect.ignore(sendTcp(client, "TcpSteal", { _tag: "Close", value: { connection_id: connectionId } }))
              }
              yield* exchange.events.fail(error)
            })
          ),
          Effect.forkScoped
        )
        return Mailbox.toStream(exchange.events)
      }))

    const httpConnection = (port: number): Effect.Effect<HttpConnection, never, Scope.Scope> =>
      Effect.gen(function*() {
        const shared: SharedConnection = { connectionId: nextConnectionId++, nextRequestId: 0, clients: new Set() }
        sharedConnections.set(shared.connectionId, shared)
        const close = Effect.suspend(() => {
          if (!sharedConnections.delete(shared.connectionId)) return Effect.void
          const error = new AgentSimError({ reason: "ConnectionClosed", detail: `connection ${shared.connectionId} was closed` })
          for (const [key, exchange] of exchanges) {
            if (exchange.connectionId === shared.connectionId) {
              exchanges.delete(key)
              exchange.phase = "Done"
              exchange.events.unsafeDone(Exit.fail(error))
            }
          }
          return Effect.forEach(
            shared.clients,
            (client) => Effect.ignore(sendTcp(client, "TcpSteal", { _tag: "Close", value: { connection_id: shared.connectionId } })),
            { discard: true }
          )
        })
        yield* Effect.addFinalizer(() => close)
        return {
          connectionId: shared.connectionId,
          request: (request, requestOptions) => startExchange(port, request, requestOptions, shared),
          close
        }
      })

    const connect = (port: number, requestOptions?: RequestOptions): Effect.Effect<TcpDuplex, AgentSimError, Scope.Scope> =>
      Effect.gen(function*() {
        const sub = subscriptions.find((s) => s.info.mode === "steal" && s.info.port === port && s.selects === undefined)
        if (sub === undefined) {
          return yield* Effect.fail(
            new AgentSimError({ reason: "NotSubscribed", detail: `no client holds an unfiltered steal subscription on port ${port}` })
          )
        }
        const client = sub.client
        const connectionId = nextConnectionId++
        const source = requestOptions?.source ?? DEFAULT_SOURCE
        const v1: Tcp.NewTcpConnectionV1 = {
          connection_id: connectionId,
          remote_address: ipOf(source),
          destination_port: port,
          source_port: portOf(source),
          local_address: podAddress
        }
        const state = yield* Effect.acquireRelease(makeDuplexState(client, connectionId, true), closeDuplex)
        yield* sendTcp(
          client,
          "TcpSteal",
          Negotiation.newConnectionVariantFor(effectiveVersion(client)) === "NewConnectionV2"
            ? { _tag: "NewConnectionV2", value: { connection: v1, transport: { _tag: "Tcp" } } }
            : { _tag: "NewConnectionV1", value: v1 }
        )
        return duplexOf(state)
      })

    // the clients are read when the effect runs, not when it is built
    const closeClient = (reason: string, clientId?: number) =>
      Effect.suspend(() =>
        Effect.forEach(
          [...clients.values()].filter((c) => clientId === undefined || c.id === clientId),
          (client) =>
            Effect.ignore(send(client, { _tag: "Close", value: reason })).pipe(
              Effect.zipRight(Effect.sync(() => client.socket.end()))
            ),
          { discard: true }
        )
      )

    const awaitSubscription = (port: number, mode?: "steal" | "mirror") =>
      Effect.suspend(() => {
        const existing = subscriptions.find((s) => s.info.port === port && (mode === undefined || s.info.mode === mode))
        if (existing !== undefined) return Effect.succeed(existing.info)
        return Effect.flatMap(Deferred.make<SubscriptionInfo>(), (deferred) => {
          subscriptionWaiters.push({ port, mode, deferred })
          return Deferred.await(deferred)
        })
      })

    const sim: AgentSim = {
      version: agentVersion,
      address,
      request: (port, request, requestOptions) => startExchange(port, request, requestOptions, undefined),
      httpConnection,
      connect,
      serveHttp: (port, serveOptions) => HttpFront.serve(sim, port, serveOptions),
      closeClient,
      clients: Effect.sync(() => [...clients.values()].map(infoOf)),
      awaitSubscription,
      recording: Effect.sync(() => recording.slice()),
      events: Effect.sync(() => events.slice()),
      drops: Effect.sync(() => events.flatMap((e) => (e._tag === "ClientDropped" ? [{ ...e.drop, clientId: e.clientId }] : []))),
      sentVariants: (clientId) => Effect.sync(() => Recording.sentVariants(recording, clientId)),
      receivedVariants: (clientId) => Effect.sync(() => Recording.receivedVariants(recording, clientId)),
      undecodable: (clientId) => Effect.sync(() => Recording.undecodable(recording, clientId))
    }
    return sim
  })
