/**
 * The framing stage: which `LayerTcpSteal` messages carry a local response (head plus body
 * frames) to the agent, in each of the three response modes.
 *
 * - `Basic`: one `HttpResponse` after the whole body; Data frames concatenated, trailers dropped.
 * - `Framed`: one `HttpResponseFramed` after the whole body; frames kept (trailers included).
 * - `Chunked`: if the body is already complete when the head arrives, one `HttpResponseFramed`
 *   (so the agent can finish the response at once, e.g. gRPC trailers-only answers); otherwise
 *   `ChunkedResponse::Start` with the frames ready so far, then `Body` batches of whatever is
 *   ready, the last one with `is_last: true`. A body failure after Start *cuts* the response:
 *   the messages of {@link cutMessages} (`ChunkedResponse::Error`: what every agent era reads as
 *   "this response failed"; see internal/cutResponse.ts for what real agents do with it). Frames
 *   that were ready together with the failure are dropped.
 *
 * A failure before any message went out is the caller's (it can still answer with a 502 or
 * retry); once a message is out, a failure ends the response with the cut and nothing more.
 *
 * The module has three views of one rule:
 * - {@link describe}: the pure description, from the *looks* at the body (what was ready each
 *   time the framer looked) to the messages;
 * - {@link respond}: the data plane's fused loop, run by the gateway fiber on a batch source
 *   ({@link BodySource}), sending each message as soon as it is formed;
 * - {@link frame}: the same as an Effect `Stream` transform, for callers that hold a `Stream`.
 *
 * @since 0.1.0
 */
import type { ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { BodyFrame, HeaderMap, HttpVersion, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Cut from "./internal/cutResponse.js"
import { Inbound } from "./internal/localHttpInbound.js"
import type { ReadySource, ReadyState } from "./LocalHttp.js"

/**
 * Which request a response answers. `port` is the request's remote port.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseIds {
  readonly port: number
  readonly connection_id: bigint
  readonly request_id: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResponseHead {
  readonly status: number
  readonly version: HttpVersion
  readonly headers: HeaderMap
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FramingOptions {
  /**
   * The most body frames one message carries (Chunked mode): a look that finds more ready is
   * sent as several messages. Default 16.
   */
  readonly readyFrames?: number
}

/**
 * A response body read in batches (see `LocalHttp.ReadySource`).
 *
 * @since 0.1.0
 * @category models
 */
export type BodySource<E> = ReadySource<BodyFrame, E>

/**
 * One look at the body: the frames that were ready, and the body's state after them.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyLook<E = unknown> {
  readonly frames: ReadonlyArray<BodyFrame>
  readonly state: ReadyState<E>
}

/**
 * What a response became: the messages sent and how it ended (`Complete`, `Cut` after a
 * failure once something was sent, or still `Open` when the looks stop before the body ends),
 * or a failure before anything was sent.
 *
 * @since 0.1.0
 * @category models
 */
export type Described<E> =
  | {
    readonly _tag: "Sent"
    readonly messages: ReadonlyArray<LayerTcpSteal>
    readonly outcome: "Complete" | "Cut" | "Open"
  }
  | { readonly _tag: "FailedBeforeSending"; readonly error: E }

/**
 * How {@link respond} ended once something was sent.
 *
 * @since 0.1.0
 * @category models
 */
export type RespondOutcome<E> =
  | { readonly _tag: "Complete" }
  | { readonly _tag: "Cut"; readonly error: E }

const concatData = (frames: ReadonlyArray<BodyFrame>): Uint8Array => {
  let length = 0
  for (const f of frames) if (f._tag === "Data") length += f.value.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const f of frames) {
    if (f._tag === "Data") {
      out.set(f.value, offset)
      offset += f.value.length
    }
  }
  return out
}

/**
 * `LayerTcpSteal::HttpResponse` (Basic): Data frames concatenated, trailers dropped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const basicResponse = (ids: ResponseIds, head: ResponseHead, frames: ReadonlyArray<BodyFrame>): LayerTcpSteal => ({
  _tag: "HttpResponse",
  value: {
    port: ids.port,
    connection_id: ids.connection_id,
    request_id: ids.request_id,
    internal_response: {
      status: head.status,
      version: head.version,
      headers: head.headers,
      body: frames.length === 1 && frames[0]!._tag === "Data" ? frames[0]!.value : concatData(frames)
    }
  }
})

/**
 * `LayerTcpSteal::HttpResponseFramed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const framedResponse = (ids: ResponseIds, head: ResponseHead, frames: ReadonlyArray<BodyFrame>): LayerTcpSteal => ({
  _tag: "HttpResponseFramed",
  value: {
    port: ids.port,
    connection_id: ids.connection_id,
    request_id: ids.request_id,
    internal_response: { status: head.status, version: head.version, headers: head.headers, body: frames }
  }
})

/**
 * `ChunkedResponse::Start` with the frames ready so far.
 *
 * @since 0.1.0
 * @category constructors
 */
export const chunkedStart = (ids: ResponseIds, head: ResponseHead, frames: ReadonlyArray<BodyFrame>): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: {
    _tag: "Start",
    value: {
      port: ids.port,
      connection_id: ids.connection_id,
      request_id: ids.request_id,
      internal_response: { status: head.status, version: head.version, headers: head.headers, body: frames }
    }
  }
})

/**
 * `ChunkedResponse::Body`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const chunkedBody = (ids: ResponseIds, frames: ReadonlyArray<BodyFrame>, isLast: boolean): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: {
    _tag: "Body",
    value: { frames, is_last: isLast, connection_id: ids.connection_id, request_id: ids.request_id }
  }
})

/**
 * `ChunkedResponse::Error` alone (the first of the {@link cutMessages}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const chunkedError: (ids: ResponseIds) => LayerTcpSteal = Cut.chunkedError

/**
 * The messages that end a Chunked response that failed after `Start`: `ChunkedResponse::Error`
 * alone. Real agents end a chunked body cleanly after it (no sequence makes them abort the
 * client's connection; see internal/cutResponse.ts and the README's failed-response table).
 *
 * @since 0.1.0
 * @category constructors
 */
export const cutMessages: (ids: ResponseIds) => ReadonlyArray<LayerTcpSteal> = Cut.cutResponse

const defaultReadyFrames = 16

const readyFramesOf = (options: FramingOptions | undefined): number =>
  Math.max(1, Math.floor(options?.readyFrames ?? defaultReadyFrames))

/**
 * The pure description: the messages a response becomes, given the successive looks at its
 * body. The first look is taken when the head has arrived (its frames may be empty); each later
 * look follows a wait for the body, so it holds at least one frame or a final state. A look of
 * more than `readyFrames` frames (Chunked) is carried by several messages.
 *
 * @since 0.1.0
 * @category framing
 */
export const describe = <E>(
  mode: ResponseMode,
  ids: ResponseIds,
  head: ResponseHead,
  looks: ReadonlyArray<BodyLook<E>>,
  options?: FramingOptions
): Described<E> => {
  const all: Array<BodyFrame> = []
  if (mode !== "Chunked") {
    for (const look of looks) {
      if (look.state._tag === "Fail") return { _tag: "FailedBeforeSending", error: look.state.error }
      all.push(...look.frames)
      if (look.state._tag === "End") {
        const message = mode === "Basic" ? basicResponse(ids, head, all) : framedResponse(ids, head, all)
        return { _tag: "Sent", messages: [message], outcome: "Complete" }
      }
    }
    return { _tag: "Sent", messages: [], outcome: "Open" }
  }
  const max = readyFramesOf(options)
  const messages: Array<LayerTcpSteal> = []
  for (const [index, look] of looks.entries()) {
    const state = look.state
    if (index === 0) {
      // the first drain takes at most `max` frames: only a body that fits is complete at the head
      const fits = look.frames.length <= max
      if (state._tag === "End" && fits) {
        return { _tag: "Sent", messages: [framedResponse(ids, head, look.frames)], outcome: "Complete" }
      }
      if (state._tag === "Fail" && fits) return { _tag: "FailedBeforeSending", error: state.error }
      messages.push(chunkedStart(ids, head, look.frames.slice(0, max)))
      const rest = look.frames.slice(max)
      if (rest.length === 0) continue
      return describeRest(ids, messages, [{ frames: rest, state }, ...looks.slice(1)], max)
    }
    return describeRest(ids, messages, looks.slice(index), max)
  }
  return { _tag: "Sent", messages, outcome: "Open" }
}

const describeRest = <E>(
  ids: ResponseIds,
  messages: Array<LayerTcpSteal>,
  looks: ReadonlyArray<BodyLook<E>>,
  max: number
): Described<E> => {
  for (const look of looks) {
    // a look is drained `max` frames at a time; the state belongs to the last drain
    let frames = look.frames
    while (frames.length > max) {
      messages.push(chunkedBody(ids, frames.slice(0, max), false))
      frames = frames.slice(max)
    }
    switch (look.state._tag) {
      case "Open":
        if (frames.length > 0) messages.push(chunkedBody(ids, frames, false))
        break
      case "End":
        messages.push(chunkedBody(ids, frames, true))
        return { _tag: "Sent", messages, outcome: "Complete" }
      case "Fail":
        messages.push(...cutMessages(ids))
        return { _tag: "Sent", messages, outcome: "Cut" }
    }
  }
  return { _tag: "Sent", messages, outcome: "Open" }
}

const COMPLETE: RespondOutcome<never> = { _tag: "Complete" }

/**
 * Options of {@link respond}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RespondOptions extends FramingOptions {
  /**
   * Run when the loop is interrupted after a Chunked `Start` went out and before the response
   * ended, with the cut messages: the caller sends them when the agent connection is still
   * usable and the agent did not cancel the request itself (e.g. the proxy is stopping), and
   * bounds how long that may take. Default: stop silently.
   */
  readonly onInterruptAfterStart?: ((cut: ReadonlyArray<LayerTcpSteal>) => Effect.Effect<void>) | undefined
}

/**
 * The fused loop: frames the response from `body` and sends each message with `send` from the
 * calling fiber, exactly as {@link describe} specifies for the looks it takes. Each look drains
 * what has already arrived into one message; the loop suspends (once) only when nothing is
 * ready. While `send` waits (a slow agent), nothing is taken from `body`, so the body's source
 * stops reading from the local app: backpressure reaches the app's socket.
 *
 * Fails with the body's error only if nothing was sent; after that a failure sends the cut and
 * succeeds with `Cut`.
 *
 * @since 0.1.0
 * @category framing
 */
export const respond = <E>(
  mode: ResponseMode,
  ids: ResponseIds,
  head: ResponseHead,
  body: BodySource<E>,
  send: (message: LayerTcpSteal) => Effect.Effect<void>,
  options?: RespondOptions
): Effect.Effect<RespondOutcome<E>, E> => {
  const max = readyFramesOf(options)
  if (mode !== "Chunked") {
    return Effect.suspend(() => {
      const all: Array<BodyFrame> = []
      const collect: Effect.Effect<RespondOutcome<E>, E> = Effect.suspend(() => {
        const state = body.drain(all, Number.MAX_SAFE_INTEGER)
        switch (state._tag) {
          case "Open":
            return Effect.zipRight(body.ready, collect)
          case "End":
            return Effect.as(
              send(mode === "Basic" ? basicResponse(ids, head, all) : framedResponse(ids, head, all)),
              COMPLETE
            )
          case "Fail":
            return Effect.fail(state.error)
        }
      })
      return collect
    })
  }
  return Effect.suspend(() => {
    const first: Array<BodyFrame> = []
    const state = body.drain(first, max)
    if (state._tag === "End") return Effect.as(send(framedResponse(ids, head, first)), COMPLETE)
    if (state._tag === "Fail") return Effect.fail(state.error)
    let finished = false
    const sendCut = (error: E): Effect.Effect<RespondOutcome<E>> => {
      finished = true
      return Effect.as(sendAll(send, cutMessages(ids)), { _tag: "Cut", error })
    }
    // One turn: drain what is there into one Body (a drain that is not empty never waits).
    const next: Effect.Effect<RespondOutcome<E>> = Effect.suspend(() => {
      const frames: Array<BodyFrame> = []
      const state = body.drain(frames, max)
      switch (state._tag) {
        case "Open":
          return frames.length === 0 ? Effect.zipRight(body.ready, next) : Effect.zipRight(send(chunkedBody(ids, frames, false)), next)
        case "End":
          finished = true
          return Effect.as(send(chunkedBody(ids, frames, true)), COMPLETE)
        case "Fail":
          return sendCut(state.error)
      }
    })
    const rest = Effect.zipRight(send(chunkedStart(ids, head, first)), next)
    const onInterrupt = options?.onInterruptAfterStart
    if (onInterrupt === undefined) return rest
    return Effect.onInterrupt(rest, () => (finished ? Effect.void : onInterrupt(cutMessages(ids))))
  })
}

const sendAll = (
  send: (message: LayerTcpSteal) => Effect.Effect<void>,
  messages: ReadonlyArray<LayerTcpSteal>
): Effect.Effect<void> => Effect.forEach(messages, send, { discard: true })

/**
 * A `Stream` as a {@link BodySource}: a fiber of the scope pumps it into a buffer of at most
 * `readyFrames` frames. Returns once the pump has taken everything the stream had ready (so the
 * first look sees it). For callers that hold a `Stream`; the proxy's own bodies are sources.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sourceFromStream = <E>(
  body: Stream.Stream<BodyFrame, E>,
  options?: FramingOptions
): Effect.Effect<BodySource<E>, never, import("effect/Scope").Scope> =>
  Effect.gen(function*() {
    let paused = false
    let wake: (() => void) | undefined
    const buffer = new Inbound<BodyFrame, E>({
      pause: () => {
        paused = true
      },
      resume: () => {
        paused = false
        const w = wake
        wake = undefined
        w?.()
      }
    }, readyFramesOf(options))
    const room = Effect.async<void>((resume) => {
      if (!paused) return resume(Effect.void)
      wake = () => resume(Effect.void)
    })
    const pump = yield* Stream.runForEach(body, (frame) =>
      Effect.suspend(() => {
        buffer.push(frame, 1)
        return paused ? room : Effect.void
      })).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) buffer.end()
            else if (Cause.isInterruptedOnly(exit.cause)) buffer.end()
            else {
              const failure = Cause.failureOption(exit.cause)
              if (failure._tag === "Some") buffer.fail(failure.value)
              else buffer.end()
            }
          })
        ),
        Effect.forkScoped
      )
    // Let the pump move what the stream has ready: it runs until it has to wait, ends, or fills up.
    for (let round = 0; round < 1000; round++) {
      const status = yield* Fiber.status(pump)
      if (status._tag !== "Running") break
      yield* Effect.yieldNow()
    }
    return buffer
  })

/**
 * Frames one response as a `Stream` (see the module documentation for each mode). The stream
 * fails only before emitting anything; after that a failure ends it with the cut.
 *
 * @since 0.1.0
 * @category framing
 */
export const frame = <E>(
  mode: ResponseMode,
  ids: ResponseIds,
  head: ResponseHead,
  body: Stream.Stream<BodyFrame, E>,
  options?: FramingOptions
): Stream.Stream<LayerTcpSteal, E> =>
  Stream.asyncScoped<LayerTcpSteal, E>((emit) =>
    Effect.gen(function*() {
      const source = yield* sourceFromStream(body, options)
      const send = (message: LayerTcpSteal) => Effect.asVoid(Effect.promise(() => emit.single(message)))
      yield* respond(mode, ids, head, source, send, options).pipe(
        Effect.matchCauseEffect({
          onSuccess: () => Effect.promise(() => emit.end()),
          onFailure: (cause) => Effect.promise(() => emit.halt(cause))
        }),
        Effect.forkScoped
      )
    })
  )
