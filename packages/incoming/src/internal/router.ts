/**
 * The router: reads the agent's messages one at a time, in order, and hands each to the
 * subscriptions, a gateway (HTTP request), or a relay (raw connection).
 *
 * Where it may wait (backpressure towards the agent reader, as the intproxy does):
 * - feeding a request body (`ChunkedRequest::Body`) when that request's buffer is full
 *   (`requestBodyBufferFrames`, default 512 frames), until the local app reads;
 * - feeding a relay (`Data`) when its buffer is full (`tcpDataBufferMessages`, default 512);
 * - sending its own messages (502 for a stale port, `ConnectionUnsubscribe`) when the agent's
 *   outbound queue is full.
 * It never waits for a local app otherwise: requests and connections run in their own fibers,
 * and a buffer wait ends as soon as that request or connection is gone.
 *
 * @internal
 */
import type { DaemonMessage } from "@mirrord-effect/protocol/Message"
import type { RequestVariant, ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { BodyFrame, ChunkedRequest, DaemonTcp, HeaderMap, HttpVersion } from "@mirrord-effect/protocol/Tcp"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import type { ResponseIds } from "../ResponseFraming.js"
import type { SubscriptionMode } from "../Subscription.js"
import type { Attachment, ProxyContext } from "./attachment.js"
import { connectionState, connectionUnsubscribe, steal } from "./attachment.js"
import { badGateway, STALE_PORT_MESSAGE } from "./badGateway.js"
import * as Gateway from "./gateway.js"
import type { IncomingProxyError } from "../IncomingError.js"
import * as Relay from "./relay.js"
import * as RequestBody from "./requestBody.js"
import type { Subscriptions } from "./subscriptions.js"

interface IncomingHttpRequest {
  readonly variant: RequestVariant
  readonly ids: ResponseIds
  readonly method: string
  readonly uri: string
  readonly version: HttpVersion
  readonly headers: HeaderMap
  readonly frames: ReadonlyArray<BodyFrame>
  readonly complete: boolean
}

/** The request of an `HttpRequest<B>` (legacy, Framed, or a chunked StartV1), its body as frames. */
const fromHttpRequest = (
  variant: RequestVariant,
  r: {
    readonly internal_request: {
      readonly method: string
      readonly uri: string
      readonly version: HttpVersion
      readonly headers: HeaderMap
    }
    readonly connection_id: bigint
    readonly request_id: number
    readonly port: number
  },
  frames: ReadonlyArray<BodyFrame>,
  complete: boolean
): IncomingHttpRequest => ({
  variant,
  ids: { port: r.port, connection_id: r.connection_id, request_id: r.request_id },
  method: r.internal_request.method,
  uri: r.internal_request.uri,
  version: r.internal_request.version,
  headers: r.internal_request.headers,
  frames,
  complete
})

/** The port of a socket address in canonical text ("127.0.0.1:80", "[::1]:80"). */
const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(":") + 1))

const dataBytes = (frames: ReadonlyArray<BodyFrame>): number =>
  frames.reduce((n, f) => (f._tag === "Data" ? n + f.value.length : n), 0)

/** @internal */
export interface Router {
  readonly handle: (message: DaemonMessage) => Effect.Effect<void, IncomingProxyError>
}

/** @internal */
export const make = (
  ctx: ProxyContext,
  attachment: Attachment,
  subscriptions: Subscriptions,
  responseMode: (variant: RequestVariant) => Effect.Effect<ResponseMode>
): Router => {
  const startRequest = (mode: SubscriptionMode, request: IncomingHttpRequest): Effect.Effect<void> =>
    Effect.gen(function*() {
      const { ids } = request
      yield* ctx.metrics.request(mode)
      yield* ctx.metrics.bytesIn(dataBytes(request.frames))
      const subscription = subscriptions.lookup(ids.port, mode)
      if (subscription === undefined) {
        // Stale: steal answers at once; a mirrored copy is dropped.
        if (mode === "steal") {
          yield* ctx.metrics.response("BadGateway")
          yield* attachment.post(
            steal(badGateway(ids, request.version, STALE_PORT_MESSAGE, ctx.options.badGatewayVersion))
          )
        }
        return
      }
      const state = connectionState(attachment, mode, ids.connection_id)
      if (state.gateways.has(ids.request_id)) {
        // The agent guarantees unique (connection, request) ids among requests in flight.
        return yield* Effect.logWarning(
          `ignoring a second request ${ids.connection_id}/${ids.request_id} while the first one is in flight`
        )
      }
      // The response mode is fixed per request, from the version known now.
      const snapshot = yield* responseMode(request.variant)
      const body = yield* RequestBody.make(request.frames, request.complete, ctx.options.requestBodyBufferFrames)
      const handle: { body: RequestBody.RequestBody; fiber: Fiber.RuntimeFiber<void> | undefined } = {
        body,
        fiber: undefined
      }
      state.gateways.set(ids.request_id, handle)
      handle.fiber = yield* FiberSet.run(
        attachment.fibers,
        Gateway.run(ctx, attachment, {
          mode,
          variant: request.variant,
          responseMode: snapshot,
          ids,
          method: request.method,
          uri: request.uri,
          version: request.version,
          headers: request.headers,
          target: subscription.target
        }, handle, state)
      )
    })

  const requestBody = (
    mode: SubscriptionMode,
    connectionId: bigint,
    requestId: number,
    frames: ReadonlyArray<BodyFrame>,
    isLast: boolean
  ): Effect.Effect<void> =>
    Effect.suspend(() => {
      const handle = attachment.connections[mode].get(connectionId)?.gateways.get(requestId)
      // Unknown or finished requests: ignored.
      if (handle === undefined) return Effect.void
      return Effect.zipRight(ctx.metrics.bytesIn(dataBytes(frames)), handle.body.offer(frames, isLast))
    })

  const requestError = (mode: SubscriptionMode, connectionId: bigint, requestId: number, detail: string) =>
    Effect.suspend(() => {
      const handle = attachment.connections[mode].get(connectionId)?.gateways.get(requestId)
      if (handle === undefined) return Effect.void
      return Effect.zipRight(
        handle.body.abort(detail),
        handle.fiber === undefined ? Effect.void : Fiber.interruptFork(handle.fiber)
      )
    })

  const newConnection = (mode: SubscriptionMode, connectionId: bigint, port: number): Effect.Effect<void> =>
    Effect.gen(function*() {
      const subscription = subscriptions.lookup(port, mode)
      if (subscription === undefined) return yield* attachment.post(connectionUnsubscribe(mode, connectionId))
      const state = connectionState(attachment, mode, connectionId)
      if (state.relay !== undefined) {
        return yield* Effect.logWarning(`ignoring a second connection with id ${connectionId} (${mode})`)
      }
      const handle = yield* Relay.makeHandle(ctx.options.tcpDataBufferMessages)
      state.relay = handle
      handle.fiber = yield* FiberSet.run(
        attachment.fibers,
        Relay.rawConnection(ctx, attachment, mode, connectionId, subscription.target, handle, state)
      )
    })

  const data = (mode: SubscriptionMode, connectionId: bigint, bytes: Uint8Array): Effect.Effect<void> =>
    Effect.suspend(() => {
      const relay = attachment.connections[mode].get(connectionId)?.relay
      if (relay === undefined) return Effect.void
      return Effect.zipRight(ctx.metrics.bytesIn(bytes.length), Relay.offerData(relay, bytes))
    })

  const close = (mode: SubscriptionMode, connectionId: bigint): Effect.Effect<void> =>
    Effect.suspend(() => {
      const map = attachment.connections[mode]
      const state = map.get(connectionId)
      if (state === undefined) return Effect.void
      map.delete(connectionId)
      const work: Array<Effect.Effect<void>> = []
      if (mode === "steal") {
        // Everything of the connection stops, silently.
        for (const gateway of state.gateways.values()) {
          work.push(gateway.body.release)
          if (gateway.fiber !== undefined) work.push(Fiber.interruptFork(gateway.fiber))
        }
        if (state.relay?.fiber !== undefined) work.push(Fiber.interruptFork(state.relay.fiber))
      } else {
        // Mirrored requests run to completion when their body is complete; an incomplete body
        // can never be completed, so that request is aborted. Relays linger.
        for (const gateway of state.gateways.values()) {
          if (gateway.body.isOpen()) work.push(gateway.body.abort("the agent closed the connection mid-body"))
        }
        if (state.relay !== undefined) work.push(Deferred.succeed(state.relay.remoteClosed, undefined))
      }
      return Effect.all(work, { discard: true })
    })

  const chunkedRequest = (mode: SubscriptionMode, chunked: ChunkedRequest): Effect.Effect<void> => {
    switch (chunked._tag) {
      case "StartV1":
        return startRequest(mode, fromHttpRequest("HttpRequestChunked", chunked.value, chunked.value.internal_request.body, false))
      case "StartV2": {
        const r = chunked.value
        return startRequest(mode, {
          variant: "HttpRequestChunked",
          ids: { port: portOf(r.metadata.destination), connection_id: r.connection_id, request_id: r.request_id },
          method: r.request.method,
          uri: r.request.uri,
          version: r.request.version,
          headers: r.request.headers,
          frames: r.request.body.frames,
          complete: r.request.body.is_last
        })
      }
      case "Body":
        return requestBody(
          mode,
          chunked.value.connection_id,
          chunked.value.request_id,
          chunked.value.frames,
          chunked.value.is_last
        )
      case "ErrorV1":
        return requestError(mode, chunked.value.connection_id, chunked.value.request_id, "the agent aborted the request body")
      case "ErrorV2":
        return requestError(
          mode,
          chunked.value.connection_id,
          chunked.value.request_id,
          `the agent aborted the request body: ${chunked.value.error_message}`
        )
    }
  }

  const daemonTcp = (mode: SubscriptionMode, message: DaemonTcp): Effect.Effect<void, IncomingProxyError> => {
    switch (message._tag) {
      case "SubscribeResult":
        return subscriptions.agentResponded(message.value, mode)
      case "HttpRequest":
        return startRequest(
          mode,
          fromHttpRequest("HttpRequest", message.value, [{ _tag: "Data", value: message.value.internal_request.body }], true)
        )
      case "HttpRequestFramed":
        return startRequest(mode, fromHttpRequest("HttpRequestFramed", message.value, message.value.internal_request.body, true))
      case "HttpRequestChunked":
        return chunkedRequest(mode, message.value)
      case "NewConnectionV1":
        return newConnection(mode, message.value.connection_id, message.value.destination_port)
      case "NewConnectionV2":
        return newConnection(mode, message.value.connection.connection_id, message.value.connection.destination_port)
      case "Data":
        return data(mode, message.value.connection_id, message.value.bytes)
      case "Close":
        return close(mode, message.value.connection_id)
    }
  }

  return {
    handle: (message) => {
      switch (message._tag) {
        case "TcpSteal":
          return daemonTcp("steal", message.value)
        case "Tcp":
          return daemonTcp("mirror", message.value)
        default:
          return Effect.void
      }
    }
  }
}

