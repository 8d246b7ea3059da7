/**
 * The relay: one fiber per raw byte stream between the agent and the local app, for stolen or
 * mirrored TCP connections and for HTTP connections after `101 Switching Protocols`.
 *
 * - Agent `Data` is written to the app in order, by the router's fiber straight onto the app's
 *   socket (buffered only until the app's connection is up); an empty `Data` half-closes the
 *   app's side. The router waits while the socket drains: backpressure towards the agent.
 * - What the app writes is drained in batches by the relay fiber (one run per batch).
 * - Steal: what the app writes becomes `LayerTcpSteal::Data`; the app's EOF becomes one empty
 *   `Data`. The relay then waits for the agent's `Close` (which interrupts it).
 * - Mirror: what the app writes is read and discarded. After the agent's `Close`, the relay
 *   keeps reading until the app has been silent for `mirrorLinger`.
 * - A local failure while the connection is still registered sends `ConnectionUnsubscribe`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type { LocalHttpError } from "./localHttpError.js"
import type { LocalTarget } from "../LocalHttp.js"
import type { LocalStream } from "../LocalTcp.js"
import type { SubscriptionMode } from "../Subscription.js"
import type { Attachment, ConnectionState, ProxyContext, RelayHandle } from "./attachment.js"
import { connectionUnsubscribe, pruneConnection, steal } from "./attachment.js"

const writeToApp = (stream: LocalStream, bytes: Uint8Array): Effect.Effect<void, LocalHttpError> =>
  bytes.length === 0 ? stream.endWrite : stream.write(bytes)

/**
 * The agent-to-app side of one relay. Agent `Data` is written to the app's socket by the
 * router's own fiber (no queue, no fiber in between); only before the app's connection is up
 * is it buffered, bounded by `capacity` messages.
 *
 * @internal
 */
export class Relay implements RelayHandle {
  fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  private pending: Array<Uint8Array> = []
  private stream: LocalStream | undefined
  private released = false
  private remoteClosed = false
  private waiters: Array<() => void> = []

  constructor(private readonly capacity: number) {}

  private notify(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Waits for the next change (connected, released, remote closed). */
  private readonly changed: Effect.Effect<void> = Effect.async<void>((resume) => {
    const wake = () => resume(Effect.void)
    this.waiters.push(wake)
    return Effect.sync(() => {
      this.waiters = this.waiters.filter((w) => w !== wake)
    })
  })

  readonly offer = (bytes: Uint8Array): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (this.released) return Effect.void
      // a failed write is reported by the relay's reading side (the socket is gone)
      if (this.stream !== undefined) return Effect.ignore(writeToApp(this.stream, bytes))
      this.pending.push(bytes)
      return this.roomInPending
    })

  private readonly roomInPending: Effect.Effect<void> = Effect.suspend(() =>
    this.released || this.stream !== undefined || this.pending.length < this.capacity
      ? Effect.void
      : Effect.zipRight(this.changed, this.roomInPending)
  )

  readonly closeRemote: Effect.Effect<void> = Effect.sync(() => {
    this.remoteClosed = true
    this.notify()
  })

  /** The app's connection is up: what the agent sent meanwhile goes first, in order. */
  readonly attach = (stream: LocalStream): Effect.Effect<void, LocalHttpError> =>
    Effect.suspend(() => {
      const batch = this.pending
      this.pending = []
      if (batch.length === 0) {
        this.stream = stream
        this.notify()
        return Effect.void
      }
      return Effect.zipRight(Effect.forEach(batch, (bytes) => writeToApp(stream, bytes), { discard: true }), this.attach(stream))
    })

  /** Mirror: waits until the agent has closed the connection. */
  readonly awaitRemoteClosed: Effect.Effect<void> = Effect.suspend(() =>
    this.remoteClosed ? Effect.void : Effect.zipRight(this.changed, this.awaitRemoteClosed)
  )

  /** The relay is gone: later and waiting offers return at once. */
  readonly release: Effect.Effect<void> = Effect.sync(() => {
    this.released = true
    this.pending = []
    this.stream = undefined
    this.notify()
  })
}

/** @internal */
export const makeHandle = (capacity: number): Effect.Effect<Relay> => Effect.sync(() => new Relay(Math.max(1, capacity)))

/** What the app writes, drained in batches: one fiber run per batch that has arrived. */
const appToAgent = (
  ctx: ProxyContext,
  attachment: Attachment,
  connectionId: bigint,
  stream: LocalStream
): Effect.Effect<void, LocalHttpError> => {
  const source = stream.readSource
  const chunks: Array<Uint8Array> = []
  const sendChunk = (bytes: Uint8Array) =>
    Effect.zipRight(
      ctx.metrics.bytesOut(bytes.length),
      attachment.send(steal({ _tag: "Data", value: { connection_id: connectionId, bytes } }))
    )
  const loop: Effect.Effect<void, LocalHttpError> = Effect.suspend(() => {
    const state = source.drain(chunks, Number.MAX_SAFE_INTEGER)
    const batch = chunks.splice(0)
    const sent = batch.length === 0 ? Effect.void : Effect.forEach(batch, sendChunk, { discard: true })
    switch (state._tag) {
      case "Open":
        return Effect.zipRight(sent, Effect.zipRight(source.ready, loop))
      case "End":
        // EOF from the app: one empty Data, then nothing more from this side
        return Effect.zipRight(sent, sendChunk(new Uint8Array(0)))
      case "Fail":
        return Effect.zipRight(sent, Effect.fail(state.error))
    }
  })
  return loop
}

/** Reads what the app writes and discards it, noting when it last wrote. */
const discardFromApp = (stream: LocalStream, onActivity: (now: number) => void): Effect.Effect<void, LocalHttpError> => {
  const source = stream.readSource
  const chunks: Array<Uint8Array> = []
  const loop: Effect.Effect<void, LocalHttpError> = Effect.suspend(() => {
    const state = source.drain(chunks, Number.MAX_SAFE_INTEGER)
    const active = chunks.length > 0
    chunks.length = 0
    const noted = active ? Effect.map(Clock.currentTimeMillis, onActivity) : Effect.void
    switch (state._tag) {
      case "Open":
        return Effect.zipRight(noted, Effect.zipRight(source.ready, loop))
      case "End":
        return noted
      case "Fail":
        return Effect.zipRight(noted, Effect.fail(state.error))
    }
  })
  return loop
}

const stealRelay = (
  ctx: ProxyContext,
  attachment: Attachment,
  connectionId: bigint,
  stream: LocalStream,
  handle: Relay
): Effect.Effect<void, LocalHttpError> =>
  Effect.zipRight(
    handle.attach(stream),
    // after the app's EOF, wait for the agent's Close (which interrupts this fiber)
    Effect.zipRight(appToAgent(ctx, attachment, connectionId, stream), Effect.never)
  )

const mirrorRelay = (
  ctx: ProxyContext,
  stream: LocalStream,
  handle: Relay
): Effect.Effect<void, LocalHttpError> =>
  Effect.scoped(Effect.gen(function*() {
    let lastActivity = yield* Clock.currentTimeMillis
    const reader = yield* discardFromApp(stream, (now) => {
      lastActivity = now
    }).pipe(Effect.forkScoped)
    // agent Data is written by the router; after the agent's Close, half-close the app's side
    const writer = Effect.zipRight(handle.attach(stream), Effect.zipRight(handle.awaitRemoteClosed, stream.endWrite))
    // The writer ends with the agent's Close; the app's failure ends the relay at any time.
    yield* Effect.raceFirst(writer, Effect.zipRight(Fiber.join(reader), Effect.never))
    const linger = Duration.toMillis(ctx.options.mirrorLinger)
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const remaining = lastActivity + linger - now
      if (remaining <= 0) return
      const readerDone = yield* Effect.raceFirst(
        Effect.as(Fiber.join(reader), true),
        Effect.as(Effect.sleep(Duration.millis(remaining)), false)
      )
      if (readerDone) return
    }
  }))

/**
 * Relays `stream` until the agent closes the connection (interrupting this fiber) or the local
 * side fails; a local failure sends `ConnectionUnsubscribe` while the connection is registered.
 *
 * @internal
 */
export const relayStream = (
  ctx: ProxyContext,
  attachment: Attachment,
  mode: SubscriptionMode,
  connectionId: bigint,
  stream: LocalStream,
  handle: Relay,
  state: ConnectionState
): Effect.Effect<void> =>
  (mode === "steal" ? stealRelay(ctx, attachment, connectionId, stream, handle) : mirrorRelay(ctx, stream, handle)).pipe(
    Effect.catchAll((error) => unsubscribeAfterFailure(ctx, attachment, mode, connectionId, handle, state, error))
  )

const unsubscribeAfterFailure = (
  ctx: ProxyContext,
  attachment: Attachment,
  mode: SubscriptionMode,
  connectionId: bigint,
  handle: RelayHandle,
  state: ConnectionState,
  error: LocalHttpError
): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* ctx.metrics.error(`tcp.${error.reason}`)
    yield* Effect.logDebug(`local connection ${connectionId} (${mode}) failed: ${error.message}`)
    const registered = attachment.connections[mode].get(connectionId) === state && state.relay === handle
    if (registered) yield* attachment.send(connectionUnsubscribe(mode, connectionId))
  })

/**
 * A relay registered on `state`: it runs in its own fiber and unregisters itself at the end.
 *
 * @internal
 */
export const unregister = (
  attachment: Attachment,
  mode: SubscriptionMode,
  connectionId: bigint,
  handle: Relay,
  state: ConnectionState
): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.zipRight(
      handle.release,
      Effect.sync(() => {
        if (state.relay === handle) state.relay = undefined
      })
    ),
    pruneConnection(attachment, mode, connectionId, state)
  )

/**
 * A raw TCP connection from the agent: connect to the subscription's target and relay.
 *
 * @internal
 */
export const rawConnection = (
  ctx: ProxyContext,
  attachment: Attachment,
  mode: SubscriptionMode,
  connectionId: bigint,
  target: LocalTarget,
  handle: Relay,
  state: ConnectionState
): Effect.Effect<void> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      ctx.counters.relays++
    }),
    () =>
      Effect.scoped(
        Effect.matchEffect(ctx.localTcp.connect(target), {
          onFailure: (error) => unsubscribeAfterFailure(ctx, attachment, mode, connectionId, handle, state, error),
          onSuccess: (stream) => relayStream(ctx, attachment, mode, connectionId, stream, handle, state)
        })
      ).pipe(ctx.metrics.trackConnection),
    () =>
      Effect.zipRight(
        Effect.sync(() => {
          ctx.counters.relays--
        }),
        unregister(attachment, mode, connectionId, handle, state)
      )
  )
