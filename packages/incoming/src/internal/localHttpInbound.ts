/**
 * A single-consumer inbound buffer fed by socket callbacks. It is read either as a batch
 * source (`drain` what has arrived, never waiting; `ready` waits once when nothing has) — the
 * proxy's data plane — or as an Effect `Stream`. It pauses the source when more than
 * `highWaterMark` bytes are buffered and resumes it when the consumer has taken the buffer
 * down, so a slow consumer pushes back on the local app.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ReadySource, ReadyState } from "../LocalHttp.js"
import type { LocalHttpError } from "./localHttpError.js"

/** @internal */
export interface FlowControl {
  readonly pause: () => void
  readonly resume: () => void
}

/** @internal */
export const OPEN: ReadyState<never> = { _tag: "Open" }
/** @internal */
export const END: ReadyState<never> = { _tag: "End" }

/** @internal */
export class Inbound<A, E = LocalHttpError> implements ReadySource<A, E> {
  private items: Array<A> = []
  private sizes: Array<number> = []
  /** index of the first item not yet taken (items are compacted when the buffer empties) */
  private head = 0
  private bytes = 0
  private paused = false
  private finished: ReadyState<E> | undefined
  private waiter: ((effect: Effect.Effect<void>) => void) | undefined

  constructor(
    private readonly flow: FlowControl,
    private readonly highWaterMark = 64 * 1024
  ) {}

  get isFinished(): boolean {
    return this.finished !== undefined
  }

  push(value: A, size: number): void {
    if (this.finished !== undefined) return
    this.items.push(value)
    this.sizes.push(size)
    this.bytes += size
    if (!this.paused && this.bytes > this.highWaterMark) {
      this.paused = true
      this.flow.pause()
    }
    this.wake()
  }

  end(): void {
    if (this.finished !== undefined) return
    this.finished = END
    this.wake()
  }

  fail(error: E): void {
    if (this.finished !== undefined) return
    this.finished = { _tag: "Fail", error }
    this.wake()
  }

  private wake(): void {
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter(Effect.void)
    }
  }

  private get available(): number {
    return this.items.length - this.head
  }

  /** Items taken: the buffer shrinks; the source resumes once it is down to half the mark. */
  private taken(bytes: number): void {
    this.bytes -= bytes
    if (this.head === this.items.length) {
      this.items = []
      this.sizes = []
      this.head = 0
    }
    if (this.paused && this.bytes <= this.highWaterMark / 2) {
      this.paused = false
      this.flow.resume()
    }
  }

  drain(into: Array<A>, max: number): ReadyState<E> {
    let n = Math.min(this.available, max)
    if (n > 0) {
      let bytes = 0
      while (n-- > 0) {
        into.push(this.items[this.head]!)
        bytes += this.sizes[this.head]!
        this.head++
      }
      this.taken(bytes)
    }
    return this.available > 0 || this.finished === undefined ? OPEN : this.finished
  }

  readonly ready: Effect.Effect<void> = Effect.suspend(() => {
    if (this.available > 0 || this.finished !== undefined) return Effect.void
    // Nothing buffered: the source must not stay paused while we wait for it.
    if (this.paused) {
      this.paused = false
      this.flow.resume()
    }
    return Effect.async<void>((resume) => {
      this.waiter = resume
      return Effect.sync(() => {
        if (this.waiter === resume) this.waiter = undefined
      })
    })
  })

  /** Takes the next item; fails with `None` at the end. */
  readonly take: Effect.Effect<A, Option.Option<E>> = Effect.suspend(() => {
    if (this.available > 0) {
      const value = this.items[this.head]!
      const size = this.sizes[this.head]!
      this.head++
      this.taken(size)
      return Effect.succeed(value)
    }
    const f = this.finished
    if (f !== undefined) return f._tag === "Fail" ? Effect.fail(Option.some(f.error)) : Effect.fail(Option.none())
    return Effect.zipRight(this.ready, this.take)
  })

  /** The items as a stream (consume it once, and not together with `drain`). */
  readonly stream: Stream.Stream<A, E> = Stream.repeatEffectOption(this.take)
}
