/**
 * The live agent connection: socket reader and writer, gated outbound pump, handshake,
 * keepalive and termination.
 *
 * Fibers (all in the connection's scope):
 * - reader: `socket.run` puts raw chunks into an unbounded mailbox (the runtime-neutral Socket
 *   cannot pause the OS socket), the decoder pulls from it and offers `DaemonMessage`s to the
 *   bounded inbound mailbox, so a slow consumer stops the decoding;
 * - pump: moves user messages from the bounded outbound queue to the wire queue while the
 *   handshake gate is open;
 * - writer: writes wire-queue batches, recording each message in the sent ring;
 * - handshake, then keepalive.
 * The first failure wins (`terminate`): it ends `messages` (after what is already queued) and
 * every later `send`.
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import { DecodeError } from "@mirrord-effect/protocol/ProtocolError"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AgentAddress, LiveAgentConnection, Options } from "../AgentConnection.js"
import { AgentConnectionError } from "../AgentConnection.js"
import * as Diagnosis from "../Diagnosis.js"
import * as Handshake from "../Handshake.js"
import * as SentRing from "./sentRing.js"

/** Segments at least this large are written to the socket without being joined (copied). */
const LARGE_SEGMENT = 8 * 1024

/** Messages written per socket write at most. */
const WRITE_BATCH = 64
/** The wire queue sits between the gate and the socket; small, so `outboundCapacity` is what bounds `send`. */
const WIRE_CAPACITY = 16

interface Config {
  readonly address: string
  readonly outboundCapacity: number
  readonly inboundCapacity: number
  readonly pingInterval: Option.Option<Duration.Duration>
  readonly pongTimeout: Duration.Duration
  readonly negotiationTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly assumeVersion: Option.Option<Version.SemVer>
  readonly offerVersion: Version.SemVer
  readonly sentRingSize: number
  readonly versionRef: SubscriptionRef.SubscriptionRef<Option.Option<Version.SemVer>> | undefined
}

const capacity = (value: number | undefined, fallback: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(1, Math.floor(value))

const parseOptionalVersion = (
  name: string,
  value: Version.SemVer | string | undefined
): Either.Either<Option.Option<Version.SemVer>, AgentConnectionError> => {
  if (value === undefined) return Either.right(Option.none())
  if (typeof value !== "string") return Either.right(Option.some(value))
  return Either.match(Version.parseVersion(value), {
    onLeft: (e) => Either.left(new AgentConnectionError({ reason: "NegotiationFailed", detail: `${name}: ${e.message}` })),
    onRight: (v) => Either.right(Option.some(v))
  })
}

const resolveConfig = (options: Options, address: string): Either.Either<Config, AgentConnectionError> =>
  Either.gen(function*() {
    const assumeVersion = yield* parseOptionalVersion("assumeVersion", options.assumeVersion)
    const offerVersion = Option.getOrElse(
      yield* parseOptionalVersion("offerVersion", options.offerVersion),
      () => Version.VERSION
    )
    const pingInterval = Duration.decode(options.pingInterval ?? Duration.seconds(10))
    return {
      address,
      outboundCapacity: capacity(options.outboundCapacity, 256),
      inboundCapacity: capacity(options.inboundCapacity, 256),
      pingInterval: Duration.toMillis(pingInterval) > 0 ? Option.some(pingInterval) : Option.none(),
      pongTimeout: Duration.decode(options.pongTimeout ?? Duration.seconds(30)),
      negotiationTimeout: Duration.decode(options.negotiationTimeout ?? Handshake.DEFAULT_NEGOTIATION_TIMEOUT),
      connectTimeout: Duration.decode(options.connectTimeout ?? Duration.seconds(10)),
      assumeVersion,
      offerVersion,
      sentRingSize: capacity(options.sentRingSize, 16),
      versionRef: options.versionRef
    }
  })

/** A message ready for the wire: encoded at `send` time so a bad message fails its sender only. */
interface Outgoing {
  readonly message: ClientMessage
  /** the encoding, with large payloads referenced rather than copied (`Codec.encodeToSegments`) */
  readonly segments: ReadonlyArray<Uint8Array>
}

const encodeOutgoing = (message: ClientMessage): Either.Either<Outgoing, AgentConnectionError> =>
  Either.try({
    try: () => ({ message, segments: Codec.encodeToSegments("ClientMessage", [message]) }),
    catch: (cause) =>
      new AgentConnectionError({
        reason: "Write",
        detail: `cannot encode ${String((message as { _tag?: unknown })._tag)}: ${String(cause)}`,
        cause
      })
  })

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Write errors that mean the peer went away rather than the socket refusing us. */
const PEER_GONE = new Set(["EPIPE", "ECONNRESET", "ECONNABORTED", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END"])

const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

const logAgentMessage = (log: Extract<DaemonMessage, { _tag: "LogMessage" }>["value"]): Effect.Effect<void> => {
  const write = log.level._tag === "Error"
    ? Effect.logError(log.message)
    : log.level._tag === "Warn"
    ? Effect.logWarning(log.message)
    : Effect.logInfo(log.message)
  return Effect.annotateLogs(write, "source", "agent")
}

/** Runs the connection over a socket that has not been run yet. @internal */
export const fromSocket = (
  socket: Socket.Socket,
  options: Options,
  address = "agent"
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer, ExecutionStrategy.sequential), (scope) =>
      build(socket, options, address).pipe(
        Scope.extend(scope),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
      )))

/** Connects with `connect` and runs the connection. @internal */
export const connectWith = (
  connect: (address: AgentAddress) => Effect.Effect<Socket.Socket, Socket.SocketError>,
  options: Options
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> => {
  const address = `${options.address.host}:${options.address.port}`
  return connect(options.address).pipe(
    Effect.mapError((cause) =>
      new AgentConnectionError({ reason: "Unreachable", detail: `cannot connect to ${address}: ${cause.message}`, cause })
    ),
    Effect.flatMap((socket) => fromSocket(socket, options, address))
  )
}

const build = (
  socket: Socket.Socket,
  options: Options,
  address: string
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(options, address)
    const scope = yield* Effect.scope

    const versionRef = config.versionRef ?? (yield* SubscriptionRef.make(Option.none<Version.SemVer>()))
    const closed = yield* Deferred.make<never, AgentConnectionError>()
    const firstNegotiation = yield* Deferred.make<Version.SemVer, AgentConnectionError>()
    const opened = yield* Deferred.make<void>()
    const raw = yield* Mailbox.make<Uint8Array, Socket.SocketError>()
    const inbound = yield* Mailbox.make<DaemonMessage, AgentConnectionError>({ capacity: config.inboundCapacity })
    const outbound = yield* Queue.bounded<Outgoing>(config.outboundCapacity)
    const wire = yield* Queue.bounded<Outgoing>(WIRE_CAPACITY)
    const answers = yield* Queue.unbounded<string>()
    const pongs = yield* Queue.unbounded<void>()
    const gateLatch = yield* Effect.makeLatch(false)
    // held while the gate changes state or a released batch enters the wire queue, so a
    // renegotiation cannot let a user message slip in after its SwitchProtocolVersion
    const gateLock = yield* Effect.makeSemaphore(1)
    const handshakeLock = yield* Effect.makeSemaphore(1)
    const sent = SentRing.make(config.sentRingSize)

    // plain mutable state: read synchronously by `send` and by the termination diagnosis
    let failure: AgentConnectionError | undefined = undefined
    let gateOpen = false
    let isOpen = false
    let known: Option.Option<Version.SemVer> = Option.none()
    let knownMayBeEcho = false
    let everNegotiated = false
    let negotiating = false

    const diagnose = (): Diagnosis.Diagnosis => Diagnosis.diagnose(sent.toArray(), known, knownMayBeEcho)

    const terminate = (error: AgentConnectionError): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (failure !== undefined) return Effect.void
        failure = error
        return Effect.all([
          Deferred.fail(closed, error),
          Deferred.fail(firstNegotiation, error),
          inbound.fail(error)
        ], { discard: true })
      })

    /** The connection ended without `Close`: during the first handshake that is the <1.3.0 signature. */
    const lost = (cause: unknown): AgentConnectionError => {
      const diagnosis = diagnose()
      if (negotiating && !everNegotiated && Option.isNone(config.assumeVersion)) {
        return new AgentConnectionError({
          reason: "NegotiationFailed",
          detail: Handshake.OLDER_THAN_1_3_0_HINT,
          diagnosis,
          ...(cause === undefined ? {} : { cause })
        })
      }
      return new AgentConnectionError({
        reason: "Lost",
        detail: Diagnosis.describe(diagnosis),
        diagnosis,
        ...(cause === undefined ? {} : { cause })
      })
    }

    const fromSocketError = (error: Socket.SocketError): AgentConnectionError => {
      if (error.reason === "Open" || error.reason === "OpenTimeout" || !isOpen) {
        return new AgentConnectionError({
          reason: "Unreachable",
          detail: `cannot connect to ${config.address}: ${error.message}`,
          cause: error
        })
      }
      if (error.reason === "Write" && !PEER_GONE.has(errorCode(error.cause) ?? "")) {
        return new AgentConnectionError({ reason: "Write", detail: error.message, cause: error, diagnosis: diagnose() })
      }
      return lost(error)
    }

    const failWith = (cause: Cause.Cause<AgentConnectionError | DecodeError | Socket.SocketError>) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      const error = Cause.failureOption(cause)
      if (Option.isNone(error)) {
        return terminate(new AgentConnectionError({ reason: "Lost", detail: Cause.pretty(cause), cause }))
      }
      const e = error.value
      if (e instanceof AgentConnectionError) return terminate(e)
      if (e instanceof DecodeError) {
        // the socket ended inside a message: a loss, not bad bytes
        return terminate(
          e.reason === "Truncated"
            ? lost(e)
            : new AgentConnectionError({ reason: "Decode", detail: e.message, cause: e })
        )
      }
      return terminate(fromSocketError(e))
    }

    const offerWire = (message: ClientMessage): Effect.Effect<void, AgentConnectionError> =>
      Effect.flatMap(encodeOutgoing(message), (out) => Queue.offer(wire, out))

    const setGate = (open: boolean) =>
      Effect.suspend(() => {
        gateOpen = open
        return open ? gateLatch.open : gateLatch.close
      })

    const publish = (version: Option.Option<Version.SemVer>, mayBeEcho: boolean) =>
      Effect.suspend(() => {
        known = version
        knownMayBeEcho = mayBeEcho
        return SubscriptionRef.set(versionRef, version)
      })

    const untilClosed = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | AgentConnectionError> =>
      Effect.raceFirst(effect, Deferred.await(closed))

    // ---- reader -------------------------------------------------------------------------------
    const handleInbound = (message: DaemonMessage): Effect.Effect<void, AgentConnectionError> => {
      switch (message._tag) {
        case "Pong":
          return Queue.offer(pongs, undefined)
        case "SwitchProtocolVersionResponse":
          return Queue.offer(answers, message.value)
        case "Close":
          return Effect.fail(new AgentConnectionError({ reason: "ClosedByAgent", detail: message.value }))
        case "LogMessage":
          return Effect.zipRight(logAgentMessage(message.value), inbound.offer(message))
        default:
          return inbound.offer(message)
      }
    }

    yield* socket.run((chunk: Uint8Array) => {
      raw.unsafeOffer(chunk)
    }, {
      onOpen: Effect.suspend(() => {
        isOpen = true
        return Deferred.succeed(opened, undefined)
      })
    }).pipe(Mailbox.into(raw), Effect.forkIn(scope))

    yield* MessageChannel.decodeStream(Mailbox.toStream(raw), Codec.decoder("DaemonMessage")).pipe(
      Stream.runForEach(handleInbound),
      Effect.matchCauseEffect({
        onSuccess: () => terminate(lost(undefined)),
        onFailure: failWith
      }),
      Effect.forkIn(scope)
    )

    // ---- writer and pump ----------------------------------------------------------------------
    const write = yield* socket.writer
    yield* Stream.fromQueue(wire, { maxChunkSize: WRITE_BATCH }).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.suspend(() => {
          // small segments of a batch are joined into one write; large payloads are written as
          // they are, so a body frame is never copied on its way to the socket
          const writes: Array<Uint8Array> = []
          let small: Array<Uint8Array> = []
          for (const out of chunk) {
            sent.push(out.message)
            for (const segment of out.segments) {
              if (segment.length < LARGE_SEGMENT) small.push(segment)
              else {
                if (small.length > 0) writes.push(concat(small))
                small = []
                writes.push(segment)
              }
            }
          }
          if (small.length > 0) writes.push(concat(small))
          return writes.length === 1 ? write(writes[0]!) : Effect.forEach(writes, write, { discard: true })
        })
      ),
      Effect.catchAllCause(failWith),
      Effect.forkIn(scope)
    )

    const releaseBatch = (batch: Iterable<Outgoing>): Effect.Effect<void> =>
      Effect.gen(function*() {
        for (;;) {
          yield* gateLatch.await
          const released = yield* gateLock.withPermits(1)(
            Effect.suspend(() => gateOpen ? Effect.as(Queue.offerAll(wire, batch), true) : Effect.succeed(false))
          )
          if (released) return
        }
      })
    yield* Queue.takeBetween(outbound, 1, WRITE_BATCH).pipe(
      Effect.flatMap(releaseBatch),
      Effect.forever,
      Effect.forkIn(scope)
    )

    // ---- handshake ----------------------------------------------------------------------------
    const negotiate = (offer: Version.SemVer): Effect.Effect<Version.SemVer, AgentConnectionError> =>
      handshakeLock.withPermits(1)(Effect.gen(function*() {
        yield* gateLock.withPermits(1)(Effect.gen(function*() {
          yield* setGate(false)
          yield* publish(Option.none(), false)
          yield* Queue.takeAll(answers)
          negotiating = true
          yield* offerWire({ _tag: "SwitchProtocolVersion", value: Version.format(offer) })
        }))
        const answerText = yield* untilClosed(Queue.take(answers)).pipe(
          Effect.timeoutFail({
            duration: config.negotiationTimeout,
            onTimeout: () =>
              new AgentConnectionError({
                reason: "NegotiationFailed",
                detail: `no SwitchProtocolVersionResponse within ${Duration.format(config.negotiationTimeout)}`
              })
          })
        )
        const answer = yield* Either.mapLeft(Version.parseVersion(answerText), (e) =>
          new AgentConnectionError({ reason: "NegotiationFailed", detail: e.message, cause: e }))
        const kind = yield* Either.mapLeft(Handshake.interpretAnswer(offer, answer), (detail) =>
          new AgentConnectionError({ reason: "NegotiationFailed", detail }))
        negotiating = false
        everNegotiated = true
        yield* publish(Option.some(answer), kind === "AtLeastOffer")
        yield* Effect.logDebug(`negotiated protocol ${Version.format(answer)} with ${config.address}`).pipe(
          Effect.annotateLogs({ offered: Version.format(offer), answer: kind })
        )
        yield* start(answer)
        return answer
      })).pipe(Effect.tapError(terminate))

    /** After the version is known: opt in to logs, then release held messages. */
    const start = (version: Version.SemVer) =>
      gateLock.withPermits(1)(Effect.gen(function*() {
        if (Version.CLIENT_READY_FOR_LOGS.matches(version)) yield* offerWire({ _tag: "ReadyForLogs" })
        yield* setGate(true)
      }))

    // ---- keepalive ----------------------------------------------------------------------------
    const keepalive = (interval: Duration.Duration): Effect.Effect<void, AgentConnectionError> =>
      Effect.gen(function*() {
        for (;;) {
          yield* Effect.sleep(interval)
          yield* Queue.takeAll(pongs)
          // the deadline covers queueing the Ping too: a stalled socket is a dead connection
          const answered = yield* offerWire({ _tag: "Ping" }).pipe(
            Effect.zipRight(Queue.take(pongs)),
            Effect.timeoutOption(config.pongTimeout)
          )
          if (Option.isNone(answered)) {
            return yield* new AgentConnectionError({
              reason: "PongTimeout",
              detail: `no Pong within ${Duration.format(config.pongTimeout)} of a Ping`,
              diagnosis: diagnose()
            })
          }
        }
      })

    // ---- open ---------------------------------------------------------------------------------
    yield* untilClosed(Deferred.await(opened)).pipe(
      Effect.timeoutFail({
        duration: config.connectTimeout,
        onTimeout: () =>
          new AgentConnectionError({
            reason: "Unreachable",
            detail: `cannot connect to ${config.address} within ${Duration.format(config.connectTimeout)}`
          })
      })
    )
    // a finalizer added after the fibers runs before they are interrupted: consumers see Shutdown
    yield* Effect.addFinalizer(() =>
      terminate(new AgentConnectionError({ reason: "Shutdown", detail: "the connection's scope closed" }))
    )

    const handshake: Effect.Effect<Version.SemVer, AgentConnectionError> = Option.match(config.assumeVersion, {
      onNone: () => negotiate(config.offerVersion),
      onSome: (version) =>
        Effect.gen(function*() {
          everNegotiated = true
          yield* publish(Option.some(version), false)
          yield* start(version)
          return version
        })
    })
    yield* handshake.pipe(
      Effect.tap((version) => Deferred.succeed(firstNegotiation, version)),
      Effect.zipRight(Option.match(config.pingInterval, { onNone: () => Effect.void, onSome: keepalive })),
      Effect.catchAll(terminate),
      Effect.forkIn(scope)
    )

    const send = (message: ClientMessage): Effect.Effect<void, AgentConnectionError> =>
      Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        const encoded = encodeOutgoing(message)
        if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
        // fast path without a race when the queue has room
        if (Queue.unsafeOffer(outbound, encoded.right)) return Effect.void
        return Effect.asVoid(untilClosed(Queue.offer(outbound, encoded.right)))
      })

    return {
      send,
      messages: Mailbox.toStream(inbound),
      version: versionRef,
      negotiated: Deferred.await(firstNegotiation),
      renegotiate: (offer?: Version.SemVer | string) =>
        Effect.flatMap(
          Either.map(parseOptionalVersion("offerVersion", offer), Option.getOrElse(() => config.offerVersion)),
          (v) => (failure !== undefined ? Effect.fail(failure) : negotiate(v))
        ),
      diagnose: Effect.sync(diagnose),
      closed: Deferred.await(closed)
    } satisfies LiveAgentConnection
  })
