/**
 * Pull-based reading of a request body stream, one frame at a time, with look-ahead
 * (needed to choose the HTTP/1 framing of a body that declares none).
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BodyFrame } from "../LocalHttp.js"

/** @internal */
export class BodyReader<E> {
  private readonly buffered: Array<BodyFrame> = []
  private done = false

  private constructor(
    private readonly pullChunk: Effect.Effect<Chunk.Chunk<BodyFrame>, Option.Option<E>>,
    /** The whole body, when it was complete from the start (no stream behind it). */
    readonly complete: ReadonlyArray<BodyFrame> | undefined
  ) {
    if (complete !== undefined) {
      this.done = true
      for (const f of complete) this.buffered.push(f)
    }
  }

  /** Opens the stream for pulling; the stream's resources live in the surrounding scope. */
  static make<E>(
    body: Stream.Stream<BodyFrame, E> | ReadonlyArray<BodyFrame>
  ): Effect.Effect<BodyReader<E>, never, Scope.Scope> {
    if (Array.isArray(body)) return Effect.succeed(new BodyReader<E>(Effect.fail(Option.none()), body))
    return Effect.map(Stream.toPull(body as Stream.Stream<BodyFrame, E>), (pull) => new BodyReader(pull, undefined))
  }

  /** Every frame not read yet, when the body was complete from the start and nothing was read. */
  get completeUnread(): ReadonlyArray<BodyFrame> | undefined {
    return this.complete !== undefined ? this.buffered : undefined
  }

  /** The next frame, or `None` at the end of the body. Pulls upstream only when needed. */
  readonly next: Effect.Effect<Option.Option<BodyFrame>, E> = Effect.suspend(() => {
    const frame = this.buffered.shift()
    if (frame !== undefined) return Effect.succeed(Option.some(frame))
    if (this.done) return Effect.succeed(Option.none())
    return Effect.matchEffect(this.pullChunk, {
      onFailure: Option.match({
        onNone: () => {
          this.done = true
          return Effect.succeed(Option.none<BodyFrame>())
        },
        onSome: (e: E) => Effect.fail(e)
      }),
      onSuccess: (chunk: Chunk.Chunk<BodyFrame>) => {
        for (const f of chunk) this.buffered.push(f)
        return this.next
      }
    })
  })

  /** Puts frames back in front (used after looking ahead). */
  unshift(frames: ReadonlyArray<BodyFrame>): void {
    this.buffered.unshift(...frames)
  }
}
