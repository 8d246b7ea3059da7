/**
 * A request body fed by the agent (frame by frame, through a bounded buffer) that can be read
 * again from the start by a retried attempt.
 *
 * Every frame read is cached until the response head arrives (`stopCaching`); after that no
 * retry can happen, so the cache is dropped and frames flow straight through.
 *
 * @internal
 */
import type { BodyFrame } from "@mirrord-effect/protocol/Tcp"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/** The agent aborted the request body (`ChunkedRequest::ErrorV1/V2`, or `Close` mid-body). @internal */
export class RequestBodyAborted extends Data.TaggedError("RequestBodyAborted")<{ readonly detail: string }> {}

type Item =
  | { readonly _tag: "Frame"; readonly frame: BodyFrame }
  | { readonly _tag: "End" }
  | { readonly _tag: "Abort"; readonly detail: string }

type Terminal = Exclude<Item, { readonly _tag: "Frame" }>

/** @internal */
export interface RequestBody {
  /** Adds frames from the agent; waits while the buffer is full. Ignored once closed or released. */
  readonly offer: (frames: ReadonlyArray<BodyFrame>, isLast: boolean) => Effect.Effect<void>
  /** Ends the body with an error (the local request is aborted). */
  readonly abort: (detail: string) => Effect.Effect<void>
  /** True until `is_last` or an abort was received. */
  readonly isOpen: () => boolean
  /** The whole body from its first frame (one reader at a time). */
  readonly replay: Stream.Stream<BodyFrame, RequestBodyAborted>
  /** The whole body, when it came complete with the request (then `replay` is just these). */
  readonly complete: ReadonlyArray<BodyFrame> | undefined
  /** The response head arrived: no more retries, so stop caching. */
  readonly stopCaching: Effect.Effect<void>
  /** The reader is gone for good: later and pending `offer`s return at once. */
  readonly release: Effect.Effect<void>
}

/**
 * @param initial the frames that came with the request
 * @param complete whether `initial` is the whole body
 * @param capacity how many frames may wait for the local app before `offer` waits
 * @internal
 */
export const make = (
  initial: ReadonlyArray<BodyFrame>,
  complete: boolean,
  capacity: number
): Effect.Effect<RequestBody> => complete ? Effect.succeed(completeBody(initial)) : streaming(initial, capacity)

/** A body that came whole with the request: no buffer, nothing to wait for. */
const completeBody = (frames: ReadonlyArray<BodyFrame>): RequestBody => ({
  offer: () => Effect.void,
  abort: () => Effect.void,
  isOpen: () => false,
  replay: Stream.fromIterable(frames),
  complete: frames,
  stopCaching: Effect.void,
  release: Effect.void
})

const streaming = (initial: ReadonlyArray<BodyFrame>, capacity: number): Effect.Effect<RequestBody> =>
  Effect.gen(function*() {
    const live = yield* Queue.bounded<Item>(Math.max(1, capacity))
    const released = yield* Deferred.make<void>()
    const limit = Math.max(1, capacity)
    let cache: Array<BodyFrame> | undefined = [...initial]
    let terminal: Terminal | undefined
    let inputClosed = false
    let releasedNow = false

    const push = (items: ReadonlyArray<Item>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (releasedNow) return Effect.void
        // Room for all of them: no waiting, so no race with `released` either.
        const size = live.unsafeSize()
        if (size._tag === "Some" && size.value + items.length <= limit) {
          for (const item of items) live.unsafeOffer(item)
          return Effect.void
        }
        return Effect.raceFirst(Queue.offerAll(live, items), Deferred.await(released)).pipe(Effect.asVoid)
      })

    const offer = (frames: ReadonlyArray<BodyFrame>, isLast: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (inputClosed) return Effect.void
        if (isLast) inputClosed = true
        const items: Array<Item> = frames.map((frame) => ({ _tag: "Frame", frame }))
        if (isLast) items.push({ _tag: "End" })
        return items.length === 0 ? Effect.void : push(items)
      })

    const abort = (detail: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (inputClosed) return Effect.void
        inputClosed = true
        // An abort must not wait behind a full buffer: the buffered frames are dropped instead.
        const item: Item = { _tag: "Abort", detail }
        if (Queue.unsafeOffer(live, item)) return Effect.void
        return Effect.zipRight(Queue.takeAll(live), Queue.offer(live, item))
      }).pipe(Effect.asVoid)

    const finish = (t: Terminal): Effect.Effect<never, Option.Option<RequestBodyAborted>> =>
      t._tag === "End" ? Effect.fail(Option.none()) : Effect.fail(Option.some(new RequestBodyAborted({ detail: t.detail })))

    const replay: Stream.Stream<BodyFrame, RequestBodyAborted> = Stream.suspend(() => {
      let snapshot: Array<BodyFrame> | undefined = cache
      let index = 0
      const pull: Effect.Effect<BodyFrame, Option.Option<RequestBodyAborted>> = Effect.suspend(() => {
        if (snapshot !== undefined && index < snapshot.length) return Effect.succeed(snapshot[index++]!)
        if (cache === undefined) snapshot = undefined
        if (terminal !== undefined) return finish(terminal)
        return Effect.flatMap(Queue.take(live), (item) => {
          if (item._tag !== "Frame") {
            terminal = item
            return finish(item)
          }
          if (cache !== undefined && snapshot === cache) {
            cache.push(item.frame)
            index++
          }
          return Effect.succeed(item.frame)
        })
      })
      return Stream.repeatEffectOption(pull)
    })

    return {
      offer,
      abort,
      isOpen: () => !inputClosed,
      replay,
      complete: undefined,
      stopCaching: Effect.sync(() => {
        cache = undefined
      }),
      release: Effect.suspend(() => {
        releasedNow = true
        return Effect.asVoid(Deferred.succeed(released, undefined))
      })
    } satisfies RequestBody
  })
