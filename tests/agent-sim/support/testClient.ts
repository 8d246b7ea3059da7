/**
 * A minimal mirrord client for the simulator tests: real TCP (NodeSocket.makeNet), the protocol
 * package's duplex codec, messages queued in arrival order.
 */
import * as Socket from "@effect/platform/Socket"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"

export interface TestClient {
  readonly send: (message: ClientMessage) => Effect.Effect<void>
  /** the next message from the agent; fails after `timeout` ms (default 30 s: generous, below the 60 s test timeout) */
  readonly next: (timeout?: number) => Effect.Effect<DaemonMessage, string>
  /** nothing arrives within `ms` */
  readonly nothingWithin: (ms: number) => Effect.Effect<boolean>
  /** completes when the connection has ended, with every message received after the last `next` */
  readonly ended: (timeout?: number) => Effect.Effect<ReadonlyArray<DaemonMessage>, string>
}

/** Decoded byte fields are Buffers: make them plain Uint8Arrays so they compare equal to test data. */
const plain = <A>(value: A): A => {
  if (value instanceof Uint8Array) return new Uint8Array(value) as A
  if (Array.isArray(value)) return value.map(plain) as A
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as A
  }
  return value
}

export const connectClient = (address: { readonly host: string; readonly port: number }): Effect.Effect<TestClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const socket = yield* Effect.orDie(NodeSocket.makeNet({ host: address.host, port: address.port }))
    const outbound = yield* Queue.unbounded<ClientMessage>()
    const inbound = yield* Queue.unbounded<DaemonMessage>()
    const done = yield* Deferred.make<void>()
    yield* Stream.fromQueue(outbound).pipe(
      Stream.pipeThroughChannelOrFail(MessageChannel.duplexClient(Socket.toChannel(socket))),
      Stream.runForEach((m) => Queue.offer(inbound, plain(m))),
      Effect.exit,
      Effect.zipRight(Deferred.succeed(done, undefined)),
      Effect.forkScoped
    )
    const next = (timeout = 30_000) =>
      Queue.take(inbound).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => `no message within ${timeout} ms` })
      )
    return {
      send: (message) => Queue.offer(outbound, message).pipe(Effect.asVoid),
      next,
      nothingWithin: (ms) =>
        Queue.take(inbound).pipe(Effect.timeout(ms), Effect.option, Effect.map(Option.isNone)),
      ended: (timeout = 30_000) =>
        Deferred.await(done).pipe(
          Effect.timeoutFail({ duration: timeout, onTimeout: () => `connection still open after ${timeout} ms` }),
          Effect.zipRight(Queue.takeAll(inbound)),
          Effect.map((chunk) => Array.from(chunk))
        )
    }
  })

// ---------------------------------------------------------------------------------------------
// message helpers

export const enc = (s: string) => new TextEncoder().encode(s)
export const dec = (b: Uint8Array) => new TextDecoder().decode(b)
export const headers = (...pairs: ReadonlyArray<readonly [string, string]>): Tcp.HeaderMap =>
  pairs.map(([n, v]) => [n, [enc(v)]] as const)

export const switchVersion = (version: string): ClientMessage => ({ _tag: "SwitchProtocolVersion", value: version })

export const stealFiltered = (port: number, filter: Tcp.HttpFilter): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "PortSubscribe", value: { _tag: "FilteredHttpEx", values: [port, filter] } }
})
export const stealAll = (port: number): ClientMessage => ({
  _tag: "TcpSteal",
  value: { _tag: "PortSubscribe", value: { _tag: "All", value: port } }
})
export const steal = (value: Tcp.LayerTcpSteal): ClientMessage => ({ _tag: "TcpSteal", value })

/** The DaemonTcp inside a TcpSteal/Tcp message, or a failure naming what came instead. */
export const tcpOf = (m: DaemonMessage, channel: "TcpSteal" | "Tcp" = "TcpSteal"): Effect.Effect<Tcp.DaemonTcp, string> =>
  m._tag === channel ? Effect.succeed(m.value) : Effect.fail(`expected ${channel}, got ${m._tag}`)

/** Negotiates (optionally) and subscribes; returns the SubscribeResult. */
export const negotiate = (client: TestClient, version: string) =>
  Effect.gen(function*() {
    yield* client.send(switchVersion(version))
    const answer = yield* client.next()
    if (answer._tag !== "SwitchProtocolVersionResponse") return yield* Effect.fail(`expected a version answer, got ${answer._tag}`)
    return answer.value
  })

export const subscribe = (client: TestClient, message: ClientMessage) =>
  Effect.gen(function*() {
    yield* client.send(message)
    const reply = yield* client.next()
    const tcp = yield* tcpOf(reply, message._tag === "Tcp" ? "Tcp" : "TcpSteal")
    if (tcp._tag !== "SubscribeResult") return yield* Effect.fail(`expected SubscribeResult, got ${tcp._tag}`)
    return tcp.value
  })

