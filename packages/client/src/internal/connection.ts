/**
 * The live agent connection over a `ByteDuplex`.
 *
 * Data plane (no queue, no pump, no writer fiber):
 * - out: `send` encodes in the caller's fiber and writes through `SocketWriter` (corked per tick,
 *   one `writev`); it waits only while the handshake gate is closed or the socket asks for
 *   `'drain'`, so memory is bounded by the socket's buffer plus one message per waiting sender;
 * - in: the socket's `'data'` handler decodes (`FrameReader`) straight into the inbound mailbox;
 *   when the mailbox holds `inboundCapacity` messages the socket is paused, and taking from
 *   `messages` resumes it, so a slow consumer pushes back on the OS socket.
 * Control plane (fibers in the connection's scope): the handshake, then the keepalive.
 * The first failure wins (`terminate`): it ends `messages` (after what is already in the mailbox),
 * every later `send`, and destroys the socket. Closing the connection's scope is no failure of
 * the socket: everything `send` accepted is flushed first (`closeGracefully`, bounded by
 * `closeTimeout`), then the socket is destroyed.
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AgentAddress, LiveAgentConnection, Options } from "../AgentConnection.js"
import { AgentConnectionError } from "../AgentConnection.js"
import type { ByteDuplex } from "../ByteDuplex.js"
import { isByteDuplex } from "../ByteDuplex.js"
import * as Diagnosis from "../Diagnosis.js"
import * as Handshake from "../Handshake.js"
import { FrameReader } from "./frameReader.js"
import { toByteDuplex } from "./platformSocket.js"
import * as SentRing from "./sentRing.js"
import { SocketWriter } from "./socketWriter.js"

interface Config {
  readonly address: string
  readonly holdCapacity: number
  readonly inboundCapacity: number
  readonly pingInterval: Option.Option<Duration.Duration>
  readonly pongTimeout: Duration.Duration
  readonly negotiationTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly closeTimeout: Duration.Duration
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
      holdCapacity: capacity(options.outboundCapacity, 256),
      inboundCapacity: capacity(options.inboundCapacity, 256),
      pingInterval: Duration.toMillis(pingInterval) > 0 ? Option.some(pingInterval) : Option.none(),
      pongTimeout: Duration.decode(options.pongTimeout ?? Duration.seconds(30)),
      negotiationTimeout: Duration.decode(options.negotiationTimeout ?? Handshake.DEFAULT_NEGOTIATION_TIMEOUT),
      connectTimeout: Duration.decode(options.connectTimeout ?? Duration.seconds(10)),
      closeTimeout: Duration.decode(options.closeTimeout ?? Duration.seconds(2)),
      assumeVersion,
      offerVersion,
      sentRingSize: capacity(options.sentRingSize, 16),
      versionRef: options.versionRef
    }
  })

const encodeFailure = (message: ClientMessage, cause: unknown) =>
  new AgentConnectionError({
    reason: "Write",
    detail: `cannot encode ${String((message as { _tag?: unknown })._tag)}: ${String(cause)}`,
    cause
  })

const encode = (message: ClientMessage): Either.Either<ReadonlyArray<Uint8Array>, AgentConnectionError> =>
  Either.try({ try: () => Codec.encodeToSegments("ClientMessage", [message]), catch: (cause) => encodeFailure(message, cause) })

/** "12 s", "1.5 s", "300 ms" */
const seconds = (d: Duration.Duration): string => {
  const ms = Duration.toMillis(d)
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`
}

const HTTP_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f] // "HTTP/"
/** How many of the peer's first bytes are kept to recognise what it is. */
const HEAD_BYTES = 96

/** The status line if `head` is the start of an HTTP response. */
const httpStatusLine = (head: Uint8Array): string | undefined => {
  if (head.length < HTTP_PREFIX.length) return undefined
  for (let i = 0; i < HTTP_PREFIX.length; i++) if (head[i] !== HTTP_PREFIX[i]) return undefined
  let end = head.indexOf(0x0d)
  if (end < 0) end = head.length
  return String.fromCharCode(...head.subarray(0, end)).replace(/[^\x20-\x7e]/g, "?")
}

const logAgentMessage = (log: Extract<DaemonMessage, { _tag: "LogMessage" }>["value"]): Effect.Effect<void> => {
  const write = log.level._tag === "Error"
    ? Effect.logError(log.message)
    : log.level._tag === "Warn"
    ? Effect.logWarning(log.message)
    : Effect.logInfo(log.message)
  return Effect.annotateLogs(write, "source", "agent")
}

/** Runs the connection over a connected `ByteDuplex`. @internal */
export const fromDuplex = (
  duplex: ByteDuplex,
  options: Options,
  address = "agent"
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  inChildScope(build(duplex, options, address))

/** Runs the connection over an `@effect/platform` `Socket` that has not been run yet. @internal */
export const fromSocket = (
  socket: Socket.Socket,
  options: Options,
  address = "agent"
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  inChildScope(
    Effect.flatMap(openPlatformSocket(socket, options, address), (duplex) => build(duplex, options, address))
  )

/** Everything of one connection in a scope of its own, closed at once when building fails. */
const inChildScope = <A>(
  effect: Effect.Effect<A, AgentConnectionError, Scope.Scope>
): Effect.Effect<A, AgentConnectionError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer, ExecutionStrategy.sequential), (scope) =>
      effect.pipe(
        Scope.extend(scope),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
      )))

const connectTimeoutOf = (options: Options) => Duration.decode(options.connectTimeout ?? Duration.seconds(10))

const unreachable = (address: string, cause: { readonly message: string }) =>
  new AgentConnectionError({ reason: "Unreachable", detail: `cannot connect to ${address}: ${cause.message}`, cause })

const withConnectTimeout = <A, R>(
  effect: Effect.Effect<A, AgentConnectionError, R>,
  options: Options,
  address: string
): Effect.Effect<A, AgentConnectionError, R> => {
  const timeout = connectTimeoutOf(options)
  return Effect.timeoutFail(effect, {
    duration: timeout,
    onTimeout: () =>
      new AgentConnectionError({
        reason: "Unreachable",
        detail: `cannot connect to ${address} within ${Duration.format(timeout)}`
      })
  })
}

const openPlatformSocket = (socket: Socket.Socket, options: Options, address: string) =>
  withConnectTimeout(Effect.mapError(toByteDuplex(socket), (e) => unreachable(address, e)), options, address)

/** Connects with `connect` and runs the connection. @internal */
export const connectWith = (
  connect: (address: AgentAddress) => Effect.Effect<Socket.Socket | ByteDuplex, Socket.SocketError>,
  options: Options
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> => {
  const address = `${options.address.host}:${options.address.port}`
  return inChildScope(Effect.gen(function*() {
    const opened = yield* withConnectTimeout(
      Effect.mapError(connect(options.address), (e) => unreachable(address, e)),
      options,
      address
    )
    if (isByteDuplex(opened)) {
      yield* Effect.addFinalizer(() => Effect.sync(() => opened.destroy()))
      return yield* build(opened, options, address)
    }
    if (Socket.isSocket(opened)) return yield* build(yield* openPlatformSocket(opened, options, address), options, address)
    return yield* new AgentConnectionError({ reason: "Unreachable", detail: `the connector for ${address} gave no socket` })
  }))
}

const build = (
  duplex: ByteDuplex,
  options: Options,
  address: string
): Effect.Effect<LiveAgentConnection, AgentConnectionError, Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(options, address)
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)

    const versionRef = config.versionRef ?? (yield* SubscriptionRef.make(Option.none<Version.SemVer>()))
    const closed = yield* Deferred.make<never, AgentConnectionError>()
    const firstNegotiation = yield* Deferred.make<Version.SemVer, AgentConnectionError>()
    const inbound = yield* Mailbox.make<DaemonMessage, AgentConnectionError>()
    const answers = yield* Queue.unbounded<string>()
    const gateLatch = yield* Effect.makeLatch(false)
    const handshakeLock = yield* Effect.makeSemaphore(1)
    const sent = SentRing.make(config.sentRingSize)
    const writer = new SocketWriter(duplex)
    const reader = new FrameReader(Codec.decoder("DaemonMessage"))

    // plain mutable state, read and written synchronously by `send` and the socket's events
    let failure: AgentConnectionError | undefined = undefined
    let gateOpen = false
    let known: Option.Option<Version.SemVer> = Option.none()
    let knownMayBeEcho = false
    let everNegotiated = false
    let negotiating = false
    let paused = false
    /** messages in the inbound mailbox (offered, not yet taken by `messages`) */
    let queued = 0
    /** messages sent while the handshake is pending, written in order when it completes */
    let held: Array<{ readonly message: ClientMessage; readonly segments: ReadonlyArray<Uint8Array> }> = []
    /** messages received (any kind): the keepalive counts them as signs of life */
    let received = 0
    let pongs = 0
    let onPong: (() => void) | undefined = undefined
    let bytesReceived = 0
    const head = new Uint8Array(HEAD_BYTES)

    const diagnose = (): Diagnosis.Diagnosis => Diagnosis.diagnose(sent.toArray(), known, knownMayBeEcho)

    /**
     * Ends the connection with `error` unless it has ended already; synchronous, for event
     * handlers. The socket is destroyed unless the caller flushes it first (`destroy` false).
     * Returns false when the connection had ended already.
     */
    const terminate = (error: AgentConnectionError, destroy = true): boolean => {
      if (failure !== undefined) return false
      failure = error
      Deferred.unsafeDone(closed, Exit.fail(error))
      Deferred.unsafeDone(firstNegotiation, Exit.fail(error))
      inbound.unsafeDone(Exit.fail(error))
      writer.close()
      onPong?.()
      // held back for a version that never came: they cannot be written without one
      held = []
      if (destroy) duplex.destroy()
      return true
    }

    const peerHead = () => head.subarray(0, Math.min(bytesReceived, HEAD_BYTES))

    /** What the peer is, when its first bytes say it is no agent. */
    const notAnAgent = (cause: unknown): AgentConnectionError | undefined => {
      if (reader.decoded > 0) return undefined
      const status = httpStatusLine(peerHead())
      if (status === undefined) return undefined
      return new AgentConnectionError({
        reason: "NegotiationFailed",
        detail: `this looks like an HTTP server, not a mirrord agent: ${config.address} answered "${status}"`,
        cause
      })
    }

    /** The connection ended without `Close`. */
    const lost = (cause: unknown): AgentConnectionError => {
      const other = notAnAgent(cause)
      if (other !== undefined) return other
      const diagnosis = diagnose()
      if (negotiating && !everNegotiated && Option.isNone(config.assumeVersion)) {
        // an agent older than 1.3.0 cannot decode SwitchProtocolVersion and closes without a byte
        return bytesReceived === 0
          ? new AgentConnectionError({
            reason: "NegotiationFailed",
            detail: Handshake.OLDER_THAN_1_3_0_HINT,
            suggestAssumeVersion: true,
            diagnosis,
            ...(cause === undefined ? {} : { cause })
          })
          : new AgentConnectionError({
            reason: "NegotiationFailed",
            detail: `${config.address} closed the connection during negotiation after sending ${bytesReceived} bytes that are no SwitchProtocolVersionResponse`,
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

    const decodeFailed = (error: DecodeError): AgentConnectionError =>
      notAnAgent(error) ?? new AgentConnectionError({ reason: "Decode", detail: error.message, cause: error })

    // ---- in: decoded in the socket's data handler, straight into the mailbox --------------------
    const handleInbound = (message: DaemonMessage): void => {
      received++
      switch (message._tag) {
        case "Pong":
          pongs++
          onPong?.()
          return
        case "SwitchProtocolVersionResponse":
          Queue.unsafeOffer(answers, message.value)
          return
        case "Close":
          terminate(new AgentConnectionError({ reason: "ClosedByAgent", detail: message.value }))
          return
        case "LogMessage":
          runFork(logAgentMessage(message.value))
          break
      }
      if (failure !== undefined) return
      inbound.unsafeOffer(message)
      if (++queued >= config.inboundCapacity && !paused) {
        paused = true
        duplex.pause()
      }
    }

    const onData = (data: Uint8Array): void => {
      if (failure !== undefined) return
      // payloads are views of the chunk: hand them on as plain Uint8Arrays, not Node Buffers
      const chunk = data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      if (bytesReceived < HEAD_BYTES) head.set(chunk.subarray(0, HEAD_BYTES - bytesReceived), bytesReceived)
      bytesReceived += chunk.length
      const error = reader.feed(chunk, handleInbound)
      if (error !== undefined) terminate(decodeFailed(error))
    }
    const onEnd = (): void => {
      const truncated = reader.finish()
      terminate(lost(truncated))
    }
    const onError = (error: Error): void => {
      terminate(lost(error))
    }
    const onClose = (): void => {
      terminate(lost(undefined))
    }

    /**
     * Flushes what is corked, ends the write side and waits for `'finish'` (everything accepted
     * by `send` is in the OS socket), a `'close'` or an `'error'` — at most `closeTimeout`, so
     * a peer that stopped reading cannot hold the close forever.
     */
    const closeGracefully = Effect.async<void>((resume) => {
      if (duplex.destroyed) return resume(Effect.void)
      const done = () => {
        stopWaiting()
        resume(Effect.void)
      }
      const stopWaiting = () => {
        duplex.removeListener("finish", done)
        duplex.removeListener("close", done)
        duplex.removeListener("error", done)
      }
      duplex.on("finish", done)
      duplex.on("close", done)
      duplex.on("error", done)
      writer.flush()
      duplex.end()
      return Effect.sync(stopWaiting)
    }).pipe(
      // finalizers run uninterruptibly: without this the timeout could not stop the wait
      Effect.interruptible,
      Effect.timeoutOption(config.closeTimeout),
      Effect.flatMap(Option.match({
        onNone: () =>
          Effect.logDebug(
            `${config.address} did not take the last bytes within ${seconds(config.closeTimeout)}; closing anyway`
          ),
        onSome: () => Effect.void
      }))
    )

    duplex.on("data", onData)
    duplex.on("end", onEnd)
    duplex.on("error", onError)
    duplex.on("close", onClose)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const open = terminate(
          new AgentConnectionError({ reason: "Shutdown", detail: "the connection's scope closed" }),
          false
        )
        duplex.removeListener("data", onData)
        duplex.removeListener("end", onEnd)
        duplex.removeListener("close", onClose)
        return open ? closeGracefully : Effect.void
      }).pipe(Effect.ensuring(Effect.sync(() => duplex.destroy())))
    )
    if (duplex.destroyed) terminate(lost(undefined))

    /** Taking from `messages` resumes a socket paused by a full mailbox. */
    const messages = Mailbox.toStream(inbound).pipe(
      Stream.mapChunks((chunk) => {
        queued -= chunk.length
        if (paused && failure === undefined) {
          paused = false
          duplex.resume()
        }
        return chunk
      })
    )

    // ---- out ----------------------------------------------------------------------------------
    /** Writes now, whatever the gate and the socket's buffer say (handshake and keepalive messages). */
    const writeNow = (message: ClientMessage, onWritten?: (error?: Error | null) => void): Effect.Effect<void, AgentConnectionError> =>
      Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        const segments = encode(message)
        if (Either.isLeft(segments)) return Effect.fail(segments.left)
        sent.push(message)
        writer.write(segments.right, onWritten)
        return Effect.void
      })

    const awaitDrain = Effect.async<void>((resume) => {
      const cancel = writer.onDrain(() => resume(Effect.void))
      return Effect.sync(cancel)
    })

    const untilClosed = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | AgentConnectionError> =>
      Effect.raceFirst(effect, Deferred.await(closed))

    /** Waits until the gate is open and the socket takes more, then writes (the slow path of `send`). */
    const sendWhenReady = (
      message: ClientMessage,
      segments: ReadonlyArray<Uint8Array>
    ): Effect.Effect<void, AgentConnectionError> =>
      Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        // held back until the version is known (up to `holdCapacity` messages, then the sender
        // waits); re-checked after every wait, so a message cannot slip in after a
        // renegotiation's SwitchProtocolVersion
        if (!gateOpen) {
          if (held.length < config.holdCapacity) {
            held.push({ message, segments })
            return Effect.void
          }
          return Effect.zipRight(untilClosed(gateLatch.await), sendWhenReady(message, segments))
        }
        if (writer.needsDrain) return Effect.zipRight(awaitDrain, sendWhenReady(message, segments))
        sent.push(message)
        writer.write(segments)
        return Effect.void
      })

    const send = (message: ClientMessage): Effect.Effect<void, AgentConnectionError> =>
      Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        let segments: ReadonlyArray<Uint8Array>
        try {
          segments = Codec.encodeToSegments("ClientMessage", [message])
        } catch (cause) {
          return Effect.fail(encodeFailure(message, cause))
        }
        // the hot path: negotiated and the socket takes more — written in this fiber run
        if (gateOpen && !writer.needsDrain) {
          sent.push(message)
          writer.write(segments)
          return Effect.void
        }
        return sendWhenReady(message, segments)
      })

    // ---- handshake ----------------------------------------------------------------------------
    const setGate = (open: boolean) =>
      Effect.suspend(() => {
        if (open && failure === undefined) {
          // the held messages go first, in the same synchronous step that opens the gate
          const release = held
          held = []
          for (const { message, segments } of release) {
            sent.push(message)
            writer.write(segments)
          }
        }
        gateOpen = open
        return open ? gateLatch.open : gateLatch.close
      })

    const publish = (version: Option.Option<Version.SemVer>, mayBeEcho: boolean) =>
      Effect.suspend(() => {
        known = version
        knownMayBeEcho = mayBeEcho
        return SubscriptionRef.set(versionRef, version)
      })

    const negotiate = (offer: Version.SemVer): Effect.Effect<Version.SemVer, AgentConnectionError> =>
      handshakeLock.withPermits(1)(Effect.gen(function*() {
        yield* setGate(false)
        yield* publish(Option.none(), false)
        yield* Queue.takeAll(answers)
        negotiating = true
        yield* writeNow({ _tag: "SwitchProtocolVersion", value: Version.format(offer) })
        const answerText = yield* untilClosed(Queue.take(answers)).pipe(
          Effect.timeoutFail({
            duration: config.negotiationTimeout,
            onTimeout: () =>
              new AgentConnectionError({
                reason: "NegotiationFailed",
                detail: `no answer to SwitchProtocolVersion within ${seconds(config.negotiationTimeout)}: ${
                  bytesReceived === 0
                    ? `${config.address} accepted the connection but sent nothing (is it a mirrord agent?)`
                    : `${config.address} sent ${bytesReceived} bytes, none of them an answer`
                }`,
                diagnosis: diagnose()
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
      })).pipe(Effect.tapError((error) => Effect.sync(() => terminate(error))))

    /** After the version is known: opt in to logs, then release held messages. */
    const start = (version: Version.SemVer) =>
      Effect.gen(function*() {
        if (Version.CLIENT_READY_FOR_LOGS.matches(version)) yield* writeNow({ _tag: "ReadyForLogs" })
        yield* setGate(true)
      })

    // ---- keepalive ----------------------------------------------------------------------------
    /** Writes a Ping and resumes once the socket has written it (not merely buffered it). */
    const ping: ClientMessage = { _tag: "Ping" }
    const pingSegments = Codec.encodeToSegments("ClientMessage", [ping])
    const writePing = Effect.async<void, AgentConnectionError>((resume) => {
      if (failure !== undefined) return resume(Effect.fail(failure))
      sent.push(ping)
      writer.write(pingSegments, () => resume(Effect.void))
    })

    const awaitPong = (before: number) =>
      Effect.async<void>((resume) => {
        if (pongs > before || failure !== undefined) return resume(Effect.void)
        onPong = () => {
          onPong = undefined
          resume(Effect.void)
        }
        return Effect.sync(() => {
          onPong = undefined
        })
      })

    const keepalive = (interval: Duration.Duration): Effect.Effect<void, AgentConnectionError> =>
      Effect.gen(function*() {
        for (;;) {
          yield* Effect.sleep(interval)
          const before = pongs
          // the deadline starts once the Ping is on the wire: our own queued bytes (a large
          // Framed response ahead of it) are not the agent's delay
          yield* untilClosed(writePing)
          for (;;) {
            const mark = received
            const answered = yield* awaitPong(before).pipe(Effect.timeoutOption(config.pongTimeout))
            if (failure !== undefined) return yield* Effect.fail(failure)
            if (Option.isSome(answered)) break
            // any message from the agent in that time counts as alive: wait another period
            if (received === mark) {
              return yield* new AgentConnectionError({
                reason: "PongTimeout",
                detail: `no Pong (and no other message) within ${seconds(config.pongTimeout)} of a Ping written to the socket`,
                diagnosis: diagnose()
              })
            }
          }
        }
      })

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
      Effect.catchAll((error) => Effect.sync(() => terminate(error))),
      Effect.forkIn(scope)
    )

    return {
      send,
      messages,
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
