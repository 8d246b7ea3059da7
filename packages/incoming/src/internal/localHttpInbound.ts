/**
 * A single-consumer inbound buffer fed by socket callbacks and drained as an Effect `Stream`.
 * It pauses the source when more than `highWaterMark` bytes are buffered and resumes it when
 * the consumer has pulled the buffer down, so a slow consumer pushes back on the local app.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { LocalHttpError } from "./localHttpError.js"

/** @internal */
export interface FlowControl {
  readonly pause: () => void
  readonly resume: () => void
}

type Item<A> = { readonly value: A; readonly size: number }

/** @internal */
export class Inbound<A> {
  private readonly items: Array<Item<A>> = []
  private bytes = 0
  private paused = false
  private finished: { readonly _tag: "End" } | { readonly _tag: "Fail"; readonly error: LocalHttpError } | undefined
  private waiter: ((effect: Effect.Effect<A, Option.Option<LocalHttpError>>) => void) | undefined

  constructor(
    private readonly flow: FlowControl,
    private readonly highWaterMark = 64 * 1024
  ) {}

  get isFinished(): boolean {
    return this.finished !== undefined
  }

  push(value: A, size: number): void {
    if (this.finished !== undefined) return
    if (this.waiter !== undefined) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter(Effect.succeed(value))
      return
    }
    this.items.push({ value, size })
    this.bytes += size
    if (!this.paused && this.bytes > this.highWaterMark) {
      this.paused = true
      this.flow.pause()
    }
  }

  end(): void {
    if (this.finished !== undefined) return
    this.finished = { _tag: "End" }
    this.wake()
  }

  fail(error: LocalHttpError): void {
    if (this.finished !== undefined) return
    this.finished = { _tag: "Fail", error }
    this.wake()
  }

  private wake(): void {
    if (this.waiter !== undefined && this.items.length === 0) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter(this.terminal())
    }
  }

  private terminal(): Effect.Effect<never, Option.Option<LocalHttpError>> {
    const f = this.finished!
    return f._tag === "End" ? Effect.fail(Option.none()) : Effect.fail(Option.some(f.error))
  }

  /** Takes the next item; fails with `None` at the end. */
  readonly take: Effect.Effect<A, Option.Option<LocalHttpError>> = Effect.suspend(() => {
    const item = this.items.shift()
    if (item !== undefined) {
      this.bytes -= item.size
      if (this.paused && this.bytes <= this.highWaterMark / 2) {
        this.paused = false
        this.flow.resume()
      }
      return Effect.succeed(item.value)
    }
    if (this.finished !== undefined) return this.terminal()
    if (this.paused) {
      this.paused = false
      this.flow.resume()
    }
    return Effect.async<A, Option.Option<LocalHttpError>>((resume) => {
      this.waiter = resume
      return Effect.sync(() => {
        if (this.waiter === resume) this.waiter = undefined
      })
    })
  })

  /** The items as a stream (consume it once). */
  readonly stream: Stream.Stream<A, LocalHttpError> = Stream.repeatEffectOption(this.take)
}
