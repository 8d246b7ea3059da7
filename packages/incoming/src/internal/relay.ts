/**
 * The relay: one fiber per raw byte stream between the agent and the local app, for stolen or
 * mirrored TCP connections and for HTTP connections after `101 Switching Protocols`.
 *
 * - Agent `Data` is written to the app in order; an empty `Data` half-closes the app's side.
 * - Steal: what the app writes becomes `LayerTcpSteal::Data`; the app's EOF becomes one empty
 *   `Data`. The relay then waits for the agent's `Close` (which interrupts it).
 * - Mirror: what the app writes is read and discarded. After the agent's `Close`, the relay
 *   keeps reading until the app has been silent for `mirrorLinger`.
 * - A local failure while the connection is still registered sends `ConnectionUnsubscribe`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { LocalHttpError } from "./localHttpError.js"
import type { LocalTarget } from "../LocalHttp.js"
import type { LocalStream } from "../LocalTcp.js"
import type { SubscriptionMode } from "../Subscription.js"
import type { Attachment, ConnectionState, ProxyContext, RelayHandle } from "./attachment.js"
import { connectionUnsubscribe, pruneConnection, steal } from "./attachment.js"

/** @internal */
export const makeHandle = (capacity: number): Effect.Effect<RelayHandle> =>
  Effect.all({
    inbound: Queue.bounded<Uint8Array>(Math.max(1, capacity)),
    released: Deferred.make<void>(),
    remoteClosed: Deferred.make<void>()
  }).pipe(Effect.map((parts): RelayHandle => ({ ...parts, fiber: undefined })))

/** Hands agent bytes to the relay; waits while its buffer is full, returns at once if the relay is gone. @internal */
export const offerData = (handle: RelayHandle, bytes: Uint8Array): Effect.Effect<void> =>
  Effect.asVoid(Effect.raceFirst(Queue.offer(handle.inbound, bytes), Deferred.await(handle.released)))

const writeToApp = (stream: LocalStream, bytes: Uint8Array): Effect.Effect<void, LocalHttpError> =>
  bytes.length === 0 ? stream.endWrite : stream.write(bytes)

const stealRelay = (
  ctx: ProxyContext,
  attachment: Attachment,
  connectionId: bigint,
  stream: LocalStream,
  handle: RelayHandle
): Effect.Effect<void, LocalHttpError> => {
  const agentToApp = Effect.forever(Effect.flatMap(Queue.take(handle.inbound), (bytes) => writeToApp(stream, bytes)))
  const appToAgent = Stream.runForEach(stream.read, (bytes) =>
    Effect.zipRight(
      ctx.metrics.bytesOut(bytes.length),
      attachment.send(steal({ _tag: "Data", value: { connection_id: connectionId, bytes } }))
    )).pipe(
      // EOF from the app: one empty Data, then nothing more from this side.
      Effect.zipRight(attachment.send(steal({ _tag: "Data", value: { connection_id: connectionId, bytes: new Uint8Array(0) } }))),
      Effect.zipRight(Effect.never)
    )
  return Effect.all([agentToApp, appToAgent], { concurrency: "unbounded", discard: true })
}

const mirrorRelay = (
  ctx: ProxyContext,
  stream: LocalStream,
  handle: RelayHandle
): Effect.Effect<void, LocalHttpError> =>
  Effect.scoped(Effect.gen(function*() {
    let lastActivity = yield* Clock.currentTimeMillis
    const reader = yield* Stream.runForEach(stream.read, () =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          lastActivity = now
        }))).pipe(Effect.forkScoped)
    const writer = Effect.gen(function*() {
      for (;;) {
        const next = yield* Effect.raceFirst(
          Effect.map(Queue.take(handle.inbound), (bytes) => ({ _tag: "Data" as const, bytes })),
          Effect.as(Deferred.await(handle.remoteClosed), { _tag: "Closed" as const })
        )
        if (next._tag === "Data") {
          yield* writeToApp(stream, next.bytes)
          continue
        }
        for (const bytes of yield* Queue.takeAll(handle.inbound)) yield* writeToApp(stream, bytes)
        yield* stream.endWrite
        return
      }
    })
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
  handle: RelayHandle,
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
  handle: RelayHandle,
  state: ConnectionState
): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.zipRight(
      Deferred.succeed(handle.released, undefined),
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
  handle: RelayHandle,
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
