/**
 * The framing stage: a pure stream transform from a local response (head plus body frames) to
 * the `LayerTcpSteal` messages that carry it, in one of the three response modes.
 *
 * - `Basic`: one `HttpResponse` after the whole body; Data frames concatenated, trailers dropped.
 * - `Framed`: one `HttpResponseFramed` after the whole body; frames kept (trailers included).
 * - `Chunked`: if the body is already complete when the head arrives, one `HttpResponseFramed`
 *   (so the agent can finish the response at once, e.g. gRPC trailers-only answers); otherwise
 *   `ChunkedResponse::Start` with the frames ready so far, then `Body` batches of whatever is
 *   ready, the last one with `is_last: true`. A body failure after Start becomes
 *   `ChunkedResponse::Error`.
 *
 * The output stream fails only before emitting anything (so the caller can still answer with a
 * 502 or retry); once a message is out, a body failure ends the stream with an `Error` message
 * (Chunked) and the output never fails.
 *
 * @since 0.1.0
 */
import type { ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { BodyFrame, HeaderMap, HttpVersion, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

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
   * How many body frames may wait between the local app and the agent (Chunked mode). When the
   * agent is slower, reading from the app stops: memory per response stays bounded. Default 16.
   */
  readonly readyFrames?: number
}

type Ready<E> =
  | { readonly _tag: "Frame"; readonly frame: BodyFrame }
  | { readonly _tag: "End" }
  | { readonly _tag: "Fail"; readonly cause: Cause.Cause<E> }

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
    internal_response: { status: head.status, version: head.version, headers: head.headers, body: concatData(frames) }
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

const chunkedStart = (ids: ResponseIds, head: ResponseHead, frames: ReadonlyArray<BodyFrame>): LayerTcpSteal => ({
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

const chunkedBody = (ids: ResponseIds, frames: ReadonlyArray<BodyFrame>, isLast: boolean): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: {
    _tag: "Body",
    value: { frames, is_last: isLast, connection_id: ids.connection_id, request_id: ids.request_id }
  }
})

/**
 * `ChunkedResponse::Error`: the response cannot be completed (the app failed after Start).
 *
 * @since 0.1.0
 * @category constructors
 */
export const chunkedError = (ids: ResponseIds): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: { _tag: "Error", value: { connection_id: ids.connection_id, request_id: ids.request_id } }
})

/** Splits a batch of ready items into frames and what ended the batch (if anything). */
const splitReady = <E>(items: Iterable<Ready<E>>): {
  readonly frames: Array<BodyFrame>
  readonly end: Exclude<Ready<E>, { readonly _tag: "Frame" }> | undefined
} => {
  const frames: Array<BodyFrame> = []
  for (const item of items) {
    if (item._tag !== "Frame") return { frames, end: item }
    frames.push(item.frame)
  }
  return { frames, end: undefined }
}

const chunked = <E>(
  ids: ResponseIds,
  head: ResponseHead,
  body: Stream.Stream<BodyFrame, E>,
  readyFrames: number
): Stream.Stream<LayerTcpSteal, E> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      // The body is pumped into a bounded queue so "what is ready" can be drained without waiting.
      const queue = yield* Queue.bounded<Ready<E>>(readyFrames)
      const pump = yield* Stream.runForEachChunk(body, (chunk) =>
        Queue.offerAll(queue, Chunk.map(chunk, (frame): Ready<E> => ({ _tag: "Frame", frame })))).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Queue.offer(queue, Exit.isSuccess(exit) ? { _tag: "End" } : { _tag: "Fail", cause: exit.cause })
          ),
          Effect.forkScoped
        )
      // Let the pump move every frame that is already buffered: it runs until it has to wait for
      // the app (suspended), ends, or fills the queue.
      for (let round = 0; round < 1000; round++) {
        const status = yield* Fiber.status(pump)
        if (status._tag !== "Running") break
        yield* Effect.yieldNow()
      }
      const first = splitReady(yield* Queue.takeAll(queue))
      if (first.end?._tag === "Fail") return Stream.failCause(first.end.cause)
      if (first.end?._tag === "End") return Stream.make(framedResponse(ids, head, first.frames))

      let finished = false
      const nextBody: Effect.Effect<LayerTcpSteal, Option.Option<never>> = Effect.suspend(() => {
        if (finished) return Effect.fail(Option.none())
        return Effect.map(
          Effect.zipWith(Queue.take(queue), Queue.takeAll(queue), (one, rest) => splitReady([one, ...rest])),
          ({ end, frames }) => {
            if (end === undefined) return chunkedBody(ids, frames, false)
            finished = true
            // Frames ready before a failure are dropped: after Error the agent discards the response.
            return end._tag === "End" ? chunkedBody(ids, frames, true) : chunkedError(ids)
          }
        )
      })
      return Stream.concat(Stream.make(chunkedStart(ids, head, first.frames)), Stream.repeatEffectOption(nextBody))
    })
  )

/**
 * Frames one response for the agent (see the module documentation for each mode).
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
): Stream.Stream<LayerTcpSteal, E> => {
  switch (mode) {
    case "Basic":
      return Stream.fromEffect(Effect.map(Stream.runCollect(body), (frames) => basicResponse(ids, head, Chunk.toReadonlyArray(frames))))
    case "Framed":
      return Stream.fromEffect(Effect.map(Stream.runCollect(body), (frames) => framedResponse(ids, head, Chunk.toReadonlyArray(frames))))
    case "Chunked":
      return chunked(ids, head, body, Math.max(1, options?.readyFrames ?? 16))
  }
}
