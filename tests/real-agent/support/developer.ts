/**
 * The "developer" side of the real-agent suite, run as a child process inside the developer
 * network namespace (`ip netns exec`): a local app (HTTP + a TCP echo) and our proxy, connected
 * to a real agent in the pod namespace. It reports everything as JSON lines on stdout (what it
 * sent, what the app did, how the session ended) and takes commands as lines on stdin, so the
 * tests wait on events, never on time.
 *
 * Usage: developer.ts ['<Config as JSON>'] (connects at once when given)
 *
 * Commands (stdin): `connect <Config as JSON>` (a new proxy session), `disconnect`,
 * `subscribe`, `unsubscribe`, `stop` (detach the proxy with requests in flight; the app stays),
 * `release <id>` / `die <id>` (finish or kill a held response), `sequence <name>` (the failure
 * sequence to send from now on, `library` for the proxy's own), `exit`.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as AgentSession from "@mirrord-effect/client/AgentSession"
import * as Diagnosis from "@mirrord-effect/client/Diagnosis"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import type { Subscription } from "@mirrord-effect/incoming/Subscription"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import type { HttpFilter, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as http from "node:http"
import * as net from "node:net"
import * as readline from "node:readline"
import { FailureSequence, type FailureSequenceName } from "./failureSequences.js"
import { patternBytes } from "./pattern.js"

/** What the test asks for. */
export interface Config {
  readonly agent: { readonly host: string; readonly port: number }
  readonly remotePort: number
  readonly mode: "steal" | "mirror"
  readonly filter?: HttpFilter | undefined
  /** `http` (default): the local HTTP app; `echo`: a raw TCP echo server. */
  readonly target?: "http" | "echo"
  readonly unsafeResponseModeOverride?: "Chunked" | undefined
  /**
   * Test-only: replaces the library's failure sequence (`cutResponse`) for a Chunked response
   * that failed after its head, to record what the agent does with each candidate.
   */
  readonly failureSequence?: FailureSequenceName | undefined
  /**
   * One proxy across agent restarts: `AgentSession.layer` (re-dials) + `IncomingProxy.layerSession`
   * (re-subscribes on every connection). Prints `session` events for the status stream and
   * `resubscribed` when the subscription is confirmed on a new connection.
   */
  readonly reconnect?: boolean | undefined
}

const emit = (event: Record<string, unknown>) => {
  process.stdout.write(`${JSON.stringify(event, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`)
}

// ---- the local app ----------------------------------------------------------------------

/** Responses held open until a `release`/`die` command: id → the response and its socket. */
const held = new Map<string, {
  readonly res: http.ServerResponse
  readonly req: http.IncomingMessage
  readonly kind: "sse" | "length" | "chunked"
}>()

const sendEvent = (res: http.ServerResponse, n: number) => res.write(`data: event ${n}\n\n`)

const app = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://app")
  const id = url.searchParams.get("id") ?? ""
  emit({ ev: "app-request", method: req.method, path: url.pathname, id })
  // routes by the last path segment, so a path filter can pick a prefix (`/app/large`)
  switch (url.pathname.slice(url.pathname.lastIndexOf("/"))) {
    case "/large": {
      const bytes = Number(url.searchParams.get("bytes") ?? "0")
      const body = patternBytes(bytes)
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes) })
      res.end(body)
      return
    }
    case "/echo": {
      const hash = createHash("sha256")
      let length = 0
      req.on("data", (chunk: Buffer) => {
        hash.update(chunk)
        length += chunk.length
      })
      req.on("end", () => res.end(JSON.stringify({ length, sha256: hash.digest("hex") })))
      return
    }
    case "/sse": {
      // first event at once, then held: the test releases the rest
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      sendEvent(res, 1)
      held.set(id, { res, req, kind: "sse" })
      emit({ ev: "app-held", id })
      return
    }
    case "/hold": {
      // a body part, then held until `die` (the app dies mid-body) or `release`
      const withLength = url.searchParams.get("length") === "1"
      res.writeHead(200, { "content-type": "text/plain", ...(withLength ? { "content-length": "1000" } : {}) })
      res.write("part one\n")
      held.set(id, { res, req, kind: withLength ? "length" : "chunked" })
      emit({ ev: "app-held", id })
      return
    }
    default:
      res.end(`app ${req.method} ${url.pathname}\n`)
  }
})

const echo = net.createServer((socket) => {
  emit({ ev: "echo-connection" })
  socket.on("data", (d) => socket.write(d))
  socket.on("end", () => socket.end())
  socket.on("error", () => socket.destroy())
})

const listen = (server: net.Server) =>
  Effect.async<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
  })

const release = (id: string) => {
  const h = held.get(id)
  if (h === undefined) return emit({ ev: "error", detail: `no held response ${id}` })
  held.delete(id)
  if (h.kind === "sse") {
    sendEvent(h.res, 2)
    sendEvent(h.res, 3)
  } else if (h.kind === "length") {
    h.res.write(Buffer.alloc(1000 - "part one\n".length, "x"))
  } else {
    h.res.write("part two\n")
  }
  h.res.end()
  emit({ ev: "app-released", id })
}

const die = (id: string) => {
  const h = held.get(id)
  if (h === undefined) return emit({ ev: "error", detail: `no held response ${id}` })
  held.delete(id)
  h.req.socket.destroy()
  emit({ ev: "app-died", id })
}

// ---- the proxy --------------------------------------------------------------------------

/** `Outer::Inner` of a received message, for the log. */
const variantOf = (message: DaemonMessage): string => {
  const inner = (message as { readonly value?: unknown }).value
  const tag = typeof inner === "object" && inner !== null && "_tag" in inner ? `::${String(inner._tag)}` : ""
  return `${message._tag}${tag}`
}

const describe = (message: ClientMessage) => Diagnosis.describeMessage(Diagnosis.sentMessage(message))

/** The connection as the proxy sees it: every message logged, failure sequences rewritten. */
const observed = (
  connection: AgentConnection.AgentConnectionShape,
  sequence: { current: FailureSequenceName | undefined }
): AgentConnection.AgentConnectionShape => {
  const rewritten = new Set<bigint>()
  const sendOne = (message: ClientMessage) =>
    Effect.zipRight(Effect.sync(() => emit({ ev: "sent", variants: describe(message) })), connection.send(message))
  return {
    send: (message) => {
      const failureSequence = sequence.current
      if (failureSequence !== undefined && message._tag === "TcpSteal") {
        const steal: LayerTcpSteal = message.value
        if (steal._tag === "HttpResponseChunked" && steal.value._tag === "Error") {
          const ids = steal.value.value
          rewritten.add(ids.connection_id)
          return Effect.forEach(FailureSequence[failureSequence](ids), (m) => sendOne({ _tag: "TcpSteal", value: m }), {
            discard: true
          })
        }
        // the library's own follow-up to its Error is part of what is being replaced
        if (steal._tag === "ConnectionUnsubscribe" && rewritten.delete(steal.value)) return Effect.void
      }
      return sendOne(message)
    },
    messages: connection.messages.pipe(
      Stream.tap((message) => Effect.sync(() => emit({ ev: "received", variant: variantOf(message) })))
    )
  }
}

interface Session {
  readonly scope: Scope.CloseableScope
  readonly attached: Fiber.RuntimeFiber<void>
  readonly proxy: IncomingProxy.IncomingProxyService
  readonly connection: AgentConnection.LiveAgentConnection
  readonly subscribe: Effect.Effect<void>
  readonly subscription: () => Subscription | undefined
}

const connector = (address: AgentConnection.AgentAddress) => NodeSocket.makeNet({ host: address.host, port: address.port })

/** One proxy session: a connection to the agent, the proxy attached to it, one subscription. */
const openSession = (config: Config, ports: { readonly app: number; readonly echo: number }, sequence: { current: FailureSequenceName | undefined }) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const connection = yield* AgentConnection.make({ address: config.agent }).pipe(
      Effect.provideService(AgentConnection.SocketConnector, connector),
      Scope.extend(scope)
    )
    const version = yield* connection.negotiated
    emit({ ev: "negotiated", version: Version.format(version) })
    yield* connection.closed.pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          const diagnosis = error.diagnosis === undefined ? undefined : Diagnosis.describe(error.diagnosis)
          emit({ ev: "agent-closed", reason: error.reason, detail: error.detail, diagnosis })
        })
      ),
      Effect.forkDaemon
    )
    const localHttp = yield* Scope.extend(LocalHttp.make(), scope)
    const proxy = yield* IncomingProxy.make({ unsafeResponseModeOverride: config.unsafeResponseModeOverride }).pipe(
      Effect.provideService(ProtocolVersion, connection.version),
      Effect.provideService(LocalHttp.LocalHttp, localHttp),
      Effect.provideService(LocalTcp.LocalTcp, yield* LocalTcp.make()),
      Scope.extend(scope)
    )
    sequence.current = config.failureSequence
    const attached = yield* proxy.attach(observed(connection, sequence)).pipe(
      Effect.exit,
      Effect.tap((exit) => Effect.sync(() => emit({ ev: "detached", exit: Exit.isSuccess(exit) ? "ok" : String(Exit.causeOption(exit)) }))),
      Effect.asVoid,
      Effect.forkDaemon
    )
    const target = { host: "127.0.0.1", port: config.target === "echo" ? ports.echo : ports.app }
    const request = { port: config.remotePort, mode: config.mode, filter: config.filter, target }
    let subscription: Subscription | undefined
    const subscribe = Effect.gen(function*() {
      const exit = yield* Effect.exit(proxy.subscribe(request))
      if (Exit.isSuccess(exit)) {
        subscription = exit.value
        emit({ ev: "subscribed" })
      } else {
        emit({ ev: "subscribe-failed", detail: String(Exit.causeOption(exit)) })
      }
    })
    yield* subscribe
    const session: Session = { scope, attached, proxy, connection, subscribe, subscription: () => subscription }
    return session
  })

/** A reconnecting session: no connection wrapper here, the layers own the connections. */
const openReconnectingSession = (config: Config, ports: { readonly app: number; readonly echo: number }) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const layer = IncomingProxy.layerSession().pipe(
      Layer.provideMerge(AgentSession.layer({ address: config.agent, reconnect: { initialDelay: "100 millis", maxDelay: "1 second", maxAttempts: 200 } })),
      Layer.provide(Layer.mergeAll(
        LocalHttp.layer(),
        LocalTcp.layer(),
        Layer.succeed(AgentConnection.SocketConnector, connector)
      ))
    )
    const context = yield* Layer.buildWithScope(layer, scope)
    const session = Context.get(context, AgentSession.AgentSession)
    const proxy = Context.get(context, IncomingProxy.IncomingProxy)
    let connections = 0
    yield* session.status.pipe(
      Stream.runForEach((status) =>
        Effect.gen(function*() {
          emit({ ev: "session", status: status._tag, ...(status._tag === "Connected" ? { version: Version.format(status.version) } : {}) })
          if (status._tag !== "Connected") return
          connections++
          if (connections === 1) return
          // after a reconnect: the proxy re-subscribes; report when the agent confirmed it
          yield* proxy.stats.pipe(
            Effect.repeat({ until: (stats) => stats.subscriptions.every((sub) => sub.confirmed), schedule: Schedule.spaced("20 millis") })
          )
          emit({ ev: "resubscribed" })
        })
      ),
      Effect.forkIn(scope)
    )
    const target = { host: "127.0.0.1", port: config.target === "echo" ? ports.echo : ports.app }
    const subscription = yield* proxy.subscribe({ port: config.remotePort, mode: config.mode, filter: config.filter, target })
    emit({ ev: "subscribed" })
    return { scope, subscription, proxy }
  })

const main = (initial: Config | undefined) =>
  Effect.gen(function*() {
    const ports = { app: yield* listen(app), echo: yield* listen(echo) }
    emit({ ev: "app-ready", appPort: ports.app, echoPort: ports.echo })
    const sequence: { current: FailureSequenceName | undefined } = { current: undefined }
    let session: Session | undefined

    let reconnecting: Scope.CloseableScope | undefined
    const connect = (config: Config) =>
      Effect.gen(function*() {
        if (config.reconnect === true) {
          const exit = yield* Effect.exit(openReconnectingSession(config, ports))
          if (Exit.isSuccess(exit)) reconnecting = exit.value.scope
          else emit({ ev: "fatal", detail: String(Exit.causeOption(exit)) })
          return
        }
        const exit = yield* Effect.exit(openSession(config, ports, sequence))
        if (Exit.isSuccess(exit)) session = exit.value
        else emit({ ev: "fatal", detail: String(Exit.causeOption(exit)) })
      })
    const disconnect = (event: string) =>
      Effect.gen(function*() {
        const current = session
        session = undefined
        if (reconnecting !== undefined) {
          const scope = reconnecting
          reconnecting = undefined
          yield* Scope.close(scope, Exit.void)
        }
        if (current !== undefined) {
          yield* Fiber.interrupt(current.attached)
          yield* Scope.close(current.scope, Exit.void)
        }
        emit({ ev: event })
      })
    if (initial !== undefined) yield* connect(initial)

    const lines = readline.createInterface({ input: process.stdin })
    const done = yield* Deferred.make<void>()
    const run = <A>(effect: Effect.Effect<A>) => Effect.runFork(effect)
    lines.on("line", (line) => {
      const text = line.trim()
      const [command = "", arg = ""] = text.split(/\s+/)
      switch (command) {
        case "connect":
          run(connect(JSON.parse(text.slice("connect".length)) as Config))
          break
        case "disconnect":
        case "stop":
          run(disconnect(command === "stop" ? "stopped" : "disconnected"))
          break
        case "subscribe":
          if (session !== undefined) run(session.subscribe)
          break
        case "unsubscribe": {
          const current = session
          if (current === undefined) break
          run(Effect.gen(function*() {
            const subscription = current.subscription()
            if (subscription !== undefined) yield* current.proxy.unsubscribe(subscription)
            // the message is on its way once the connection has it in its sent ring
            yield* current.connection.diagnose.pipe(
              Effect.repeat({ until: (d) => d.lastSent.some((s) => s.variants.some((v) => v.endsWith("::PortUnsubscribe"))) })
            )
            emit({ ev: "unsubscribed" })
          }))
          break
        }
        case "sequence":
          sequence.current = arg === "library" ? undefined : (arg as FailureSequenceName)
          emit({ ev: "sequence", name: arg })
          break
        case "release":
          release(arg)
          break
        case "die":
          die(arg)
          break
        case "exit":
          run(Deferred.succeed(done, undefined))
          break
        default:
          emit({ ev: "error", detail: `unknown command ${line}` })
      }
    })
    lines.on("close", () => run(Deferred.succeed(done, undefined)))
    yield* Deferred.await(done)
    yield* disconnect("exited")
  })

const initial = process.argv[2] === undefined ? undefined : (JSON.parse(process.argv[2]) as Config)
Effect.runPromise(main(initial)).then(
  () => process.exit(0),
  (error) => {
    emit({ ev: "fatal", detail: String(error) })
    process.exit(1)
  }
)
