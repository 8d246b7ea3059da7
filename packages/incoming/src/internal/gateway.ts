/**
 * The gateway: one fiber per HTTP request from the agent. It sends the request to the local
 * app (retrying only while the request cannot have reached it), frames the response for the
 * agent (steal) or reads and discards it (mirror), and after a `101` relays the upgraded
 * connection from the same fiber, so the 101 message always precedes the first `Data`.
 *
 * @internal
 */
import type { RequestVariant, ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { BodyFrame, HeaderMap, HttpVersion, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { LocalTarget, UpgradedConnection } from "../LocalHttp.js"
import type { BodySource, ResponseHead, ResponseIds } from "../ResponseFraming.js"
import { respond } from "../ResponseFraming.js"
import type { SubscriptionMode } from "../Subscription.js"
import type { Attachment, ConnectionState, GatewayHandle, ProxyContext } from "./attachment.js"
import { pruneConnection, steal } from "./attachment.js"
import { badGateway } from "./badGateway.js"
import type { LocalHttpError } from "./localHttpError.js"
import * as Relay from "./relay.js"
import type { RequestBodyAborted } from "./requestBody.js"

/** One request as the router hands it over. @internal */
export interface GatewayRequest {
  readonly mode: SubscriptionMode
  readonly variant: RequestVariant
  /** Steal only: the response mode snapshotted when the request arrived. */
  readonly responseMode: ResponseMode
  readonly ids: ResponseIds
  readonly method: string
  readonly uri: string
  readonly version: HttpVersion
  readonly headers: HeaderMap
  readonly target: LocalTarget
}

const responseKind = (message: LayerTcpSteal): string | undefined => {
  switch (message._tag) {
    case "HttpResponse":
      return "Basic"
    case "HttpResponseFramed":
      return "Framed"
    case "HttpResponseChunked":
      return message.value._tag === "Start" ? "Chunked" : message.value._tag === "Error" ? "ChunkedError" : undefined
    default:
      return undefined
  }
}

const responseBytes = (message: LayerTcpSteal): number => {
  const frames = (list: ReadonlyArray<{ readonly _tag: string; readonly value: unknown }>) =>
    list.reduce((n, f) => (f._tag === "Data" ? n + (f.value as Uint8Array).length : n), 0)
  switch (message._tag) {
    case "HttpResponse":
      return message.value.internal_response.body.length
    case "HttpResponseFramed":
      return frames(message.value.internal_response.body)
    case "HttpResponseChunked":
      return message.value._tag === "Start"
        ? frames(message.value.value.internal_response.body)
        : message.value._tag === "Body"
        ? frames(message.value.value.frames)
        : 0
    default:
      return 0
  }
}

/** Sends one response message, counted in the metrics. @internal */
export const sendResponse = (ctx: ProxyContext, attachment: Attachment, message: LayerTcpSteal): Effect.Effect<void> => {
  const kind = responseKind(message)
  const sent = Effect.zipRight(ctx.metrics.bytesOut(responseBytes(message)), attachment.send(steal(message)))
  return kind === undefined ? sent : Effect.zipRight(ctx.metrics.response(kind), sent)
}

/** The body of a response that has none (after a `101`). */
const noBody: BodySource<never> = { drain: () => ({ _tag: "End" }), ready: Effect.void }

/** Reads a body to its end and drops it (mirror mode), a batch per fiber run. */
const discard = <E>(body: BodySource<E>): Effect.Effect<void, E> => {
  const frames: Array<BodyFrame> = []
  const loop: Effect.Effect<void, E> = Effect.suspend(() => {
    const state = body.drain(frames, Number.MAX_SAFE_INTEGER)
    frames.length = 0
    switch (state._tag) {
      case "Open":
        return Effect.zipRight(body.ready, loop)
      case "End":
        return Effect.void
      case "Fail":
        return Effect.fail(state.error)
    }
  })
  return loop
}

/**
 * The tracer Effect installs by default. It records nothing anyone reads, and a span costs tens
 * of µs per request, so a request gets its span only when another tracer (an exporter) is set.
 */
const defaultTracer = Effect.runSync(Effect.tracer)

/** The request's span `IncomingProxy.request` (without stack capture) when spans are recorded. */
const requestSpan = <A, E, R>(effect: Effect.Effect<A, E, R>, request: GatewayRequest): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) =>
    tracer === defaultTracer ? effect : Effect.withSpan(effect, "IncomingProxy.request", {
      captureStackTrace: false,
      attributes: {
        "mirrord.mode": request.mode,
        "mirrord.connection_id": String(request.ids.connection_id),
        "mirrord.request_id": request.ids.request_id,
        "mirrord.port": request.ids.port,
        "mirrord.request_variant": request.variant,
        "mirrord.response_mode": request.mode === "steal" ? request.responseMode : "none",
        "http.method": request.method,
        "http.version": request.version
      }
    })
  )

/** The 502 body of a request the proxy stopped serving before any of its response went out. */
const INTERRUPTED_MESSAGE = "the proxy stopped before the local app answered"

/** How long the cut of an interrupted response may wait for the agent connection. */
const CUT_ON_INTERRUPT_BOUND = Duration.seconds(1)

const upgrade = (
  ctx: ProxyContext,
  attachment: Attachment,
  request: GatewayRequest,
  head: ResponseHead,
  connection: UpgradedConnection,
  state: ConnectionState
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const handle = yield* Relay.makeHandle(ctx.options.tcpDataBufferMessages)
    // Registered before the 101 goes out: the agent may send Data as soon as it has the 101.
    state.relay = handle
    const connectionId = request.ids.connection_id
    const relay = Effect.gen(function*() {
      if (request.mode === "steal") {
        yield* respond(request.responseMode, request.ids, head, noBody, (message) => sendResponse(ctx, attachment, message))
      }
      yield* Relay.relayStream(ctx, attachment, request.mode, connectionId, connection, handle, state)
    })
    yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        ctx.counters.relays++
      }),
      () => ctx.metrics.trackConnection(relay),
      () =>
        Effect.zipRight(
          Effect.sync(() => {
            ctx.counters.relays--
          }),
          Relay.unregister(attachment, request.mode, connectionId, handle, state)
        )
    )
  })

/**
 * Runs one request to completion. Cancellation (the agent's `Close`, `ErrorV1/V2`, agent loss)
 * interrupts this fiber, and nothing more is sent for the request.
 *
 * @internal
 */
export const run = (
  ctx: ProxyContext,
  attachment: Attachment,
  request: GatewayRequest,
  handle: GatewayHandle,
  state: ConnectionState
): Effect.Effect<void> => {
  const { ids, mode } = request
  // Whether anything of the response reached the send path: decides what an interruption owes.
  let responding = false
  const send = (message: LayerTcpSteal) => {
    responding = true
    return sendResponse(ctx, attachment, message)
  }
  /** The agent can still be told about this request: it did not cancel it and the connection is the same. */
  const agentWaits = () => !handle.cancelled && attachment.connections[mode].get(ids.connection_id) === state
  const postBounded = (messages: ReadonlyArray<LayerTcpSteal>) =>
    Effect.forEach(messages, (message) => attachment.post(steal(message)), { discard: true }).pipe(
      Effect.timeout(CUT_ON_INTERRUPT_BOUND),
      Effect.ignore
    )
  const respondOptions = {
    readyFrames: ctx.options.responseReadyFrames,
    // The proxy is stopping (or detaching) with this response in flight: cut it, unless the agent
    // cancelled the request itself or the connection is gone.
    onInterruptAfterStart: (cut: ReadonlyArray<LayerTcpSteal>) =>
      Effect.suspend(() => (agentWaits() ? postBounded(cut) : Effect.void))
  }
  // The proxy is stopping (or detaching) before anything of the response went out (e.g. a Framed
  // response still collecting its body): answer the 502 every agent decodes, so the client is not
  // left waiting on a connection nobody will answer.
  const answerInterrupted = Effect.suspend(() =>
    mode === "steal" && !responding && agentWaits()
      ? postBounded([badGateway(ids, request.version, INTERRUPTED_MESSAGE, ctx.options.badGatewayVersion)])
      : Effect.void
  )
  const attempt: Effect.Effect<void, LocalHttpError | RequestBodyAborted> = Effect.scoped(Effect.gen(function*() {
    const response = yield* ctx.localHttp.send(request.target, {
      method: request.method,
      uri: request.uri,
      version: request.version,
      headers: request.headers,
      body: handle.body.complete ?? handle.body.replay,
      bodyOpen: handle.body.isOpen()
    })
    // No retry after the head: the request has reached the app.
    yield* handle.body.stopCaching
    const head: ResponseHead = { status: response.status, version: response.version, headers: response.headers }
    if (Option.isSome(response.upgraded)) {
      responding = true // the 101 goes out at once; a 502 after it would be wrong
      return yield* upgrade(ctx, attachment, request, head, response.upgraded.value, state)
    }
    if (mode === "mirror") return yield* discard(response.bodySource)
    const outcome = yield* respond(request.responseMode, ids, head, response.bodySource, send, respondOptions)
    if (outcome._tag === "Cut") {
      // The response was cut after its head: counted, never retried (the agent has a Start).
      yield* ctx.metrics.error(outcome.error.reason)
      yield* Effect.logDebug(`response ${ids.connection_id}/${ids.request_id} cut: ${outcome.error.message}`)
    }
  }))

  const backoff = ctx.options.retryBackoff
  const loop = (failures: number): Effect.Effect<void> =>
    Effect.catchAll(attempt, (error) =>
      Effect.gen(function*() {
        if (error._tag === "RequestBodyAborted") {
          // The agent gave up on the request: nothing to answer.
          return yield* Effect.logDebug(`request ${ids.connection_id}/${ids.request_id}: ${error.detail}`)
        }
        yield* ctx.metrics.error(error.reason)
        const delay = backoff[failures]
        if (error.retryable && delay !== undefined) {
          // A pooled connection that died before the request was written is replaced at once.
          yield* Effect.sleep(error.reason === "ClosedBeforeWrite" ? Duration.zero : delay)
          return yield* loop(failures + 1)
        }
        yield* Effect.logDebug(`request ${ids.connection_id}/${ids.request_id} failed: ${error.message}`)
        if (mode === "steal") {
          yield* ctx.metrics.response("BadGateway")
          responding = true
          yield* attachment.send(
            steal(badGateway(ids, request.version, error.message, ctx.options.badGatewayVersion))
          )
        }
      }))

  return Effect.acquireUseRelease(
    Effect.zipRight(
      Effect.sync(() => {
        ctx.counters.gateways++
      }),
      ctx.metrics.requestStarted
    ),
    () => requestSpan(Effect.onInterrupt(loop(0), () => answerInterrupted), request),
    () =>
      Effect.zipRight(
        ctx.metrics.requestEnded,
        Effect.suspend(() => {
          ctx.counters.gateways--
          if (state.gateways.get(ids.request_id) === handle) state.gateways.delete(ids.request_id)
          return Effect.zipRight(handle.body.release, pruneConnection(attachment, mode, ids.connection_id, state))
        })
      )
  )
}
