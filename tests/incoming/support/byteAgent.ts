/**
 * A scripted agent that speaks mirrord-protocol BYTES over real TCP (127.0.0.1, port 0).
 *
 * The test encodes `DaemonMessage`s with `Codec.encode` and reads the proxy's `ClientMessage`s
 * through `Codec.decoderFor(agentVersion, "ClientMessage")`: a message an agent of that version
 * could not decode fails the test (`next` dies with the decoder's reason).
 *
 * The handshake is answered automatically: `SwitchProtocolVersion(v)` gets
 * `min(v, agentVersion)`, or `v` itself for an `echo` agent (agents before mirrord b5e50405a).
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import * as semver from "semver"

export interface AgentSession {
  readonly agentVersion: string
  /** Every message received so far (after the handshake). */
  readonly received: Array<ClientMessage>
  readonly send: (message: DaemonMessage) => Effect.Effect<void>
  /**
   * The next message; dies after `timeout` or on bytes the agent cannot decode. The default (45 s)
   * is generous, so a busy machine does not fail a test by it, and below the 60 s test timeout, so
   * a proxy that never sends (e.g. one that buffers a body the app holds back) fails by name.
   */
  readonly next: (timeout?: Duration.DurationInput) => Effect.Effect<ClientMessage>
  /** Dies if a message arrives within `duration`. */
  readonly quiet: (duration: Duration.DurationInput) => Effect.Effect<void>
  /** Stops/resumes reading from the socket (a slow agent). */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /** Drops the connection (agent loss). */
  readonly drop: Effect.Effect<void>
}

export interface ByteAgent {
  readonly port: number
  /** The next connection from a proxy, handshake done. */
  readonly accept: Effect.Effect<AgentSession>
}

type Received = Either.Either<ClientMessage, string>

const session = (socket: net.Socket, agentVersion: string, echo: boolean): Effect.Effect<AgentSession> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Received>()
    const versioned = Codec.decoderFor(agentVersion, "ClientMessage")
    // Agents before 1.3.0 cannot decode SwitchProtocolVersion; the handshake message is read
    // with the newest decoder (as if the version were learnt out of band), everything else with
    // the agent's own.
    const newest = Codec.decoder("ClientMessage")
    const received: Array<ClientMessage> = []
    let pending: Buffer = Buffer.alloc(0)
    let handshakeDone = false
    const write = (message: DaemonMessage) => socket.write(Codec.encode("DaemonMessage", message))
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      for (;;) {
        if (pending.length === 0) return
        // a plain Uint8Array view, so decoded byte fields are Uint8Arrays (not Buffers)
        const decoder = handshakeDone ? versioned : newest
        const r = decoder.decode(new Uint8Array(pending.buffer, pending.byteOffset, pending.length))
        if (r._tag === "Incomplete") return
        if (r._tag === "Invalid") {
          Queue.unsafeOffer(queue, Either.left(`agent ${agentVersion} cannot decode: ${r.reason} ${r.detail} at ${r.path.join(".")}`))
          pending = Buffer.alloc(0)
          return
        }
        pending = pending.subarray(r.bytesConsumed)
        const message = r.message
        if (!handshakeDone && message._tag === "SwitchProtocolVersion") {
          handshakeDone = true
          const answer = echo ? message.value : semver.lt(message.value, agentVersion) ? message.value : agentVersion
          write({ _tag: "SwitchProtocolVersionResponse", value: answer })
          continue
        }
        if (message._tag === "Ping") {
          write({ _tag: "Pong" })
          continue
        }
        received.push(message)
        Queue.unsafeOffer(queue, Either.right(message))
      }
    })
    socket.on("error", () => {})
    return {
      agentVersion,
      received,
      send: (message) => Effect.sync(() => void write(message)),
      next: (timeout = Duration.seconds(45)) =>
        Queue.take(queue).pipe(
          Effect.timeoutFail({ duration: timeout, onTimeout: () => "no message from the proxy in time" }),
          Effect.flatMap((r) => (Either.isLeft(r) ? Effect.fail(r.left) : Effect.succeed(r.right))),
          Effect.orDieWith((e) => new Error(e))
        ),
      quiet: (duration) =>
        Queue.take(queue).pipe(
          Effect.timeout(duration),
          Effect.flatMap((r) => Effect.dieMessage(`unexpected message: ${JSON.stringify(r, replacer)}`)),
          Effect.catchTag("TimeoutException", () => Effect.void)
        ),
      pause: Effect.sync(() => void socket.pause()),
      resume: Effect.sync(() => void socket.resume()),
      drop: Effect.sync(() => void socket.destroy())
    } satisfies AgentSession
  })

/** JSON.stringify replacer for messages (bigints, byte arrays). */
export const replacer = (_key: string, value: unknown) =>
  typeof value === "bigint"
    ? `${value}n`
    : value instanceof Uint8Array
    ? Buffer.from(value).toString("latin1")
    : value

export const byteAgent = (
  agentVersion: string,
  options: { readonly echo?: boolean } = {}
): Effect.Effect<ByteAgent, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = yield* Queue.unbounded<net.Socket>()
    const open = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      open.add(socket)
      socket.on("close", () => open.delete(socket))
      Queue.unsafeOffer(sockets, socket)
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const s of open) s.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      port,
      accept: Effect.flatMap(Queue.take(sockets), (socket) => session(socket, agentVersion, options.echo ?? false))
    }
  })
