/**
 * Waiting for a Node writable (socket or HTTP response) to drain before writing more.
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal */
export interface DrainSource {
  readonly destroyed: boolean
  on(event: "drain" | "close", listener: () => void): unknown
  off(event: "drain" | "close", listener: () => void): unknown
}

/** Resumes on `drain`, or at once when the writable is closed (nothing more will drain). @internal */
export const waitDrain = (target: DrainSource): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (target.destroyed) return resume(Effect.void)
    const done = () => {
      target.off("drain", done)
      target.off("close", done)
      resume(Effect.void)
    }
    target.on("drain", done)
    target.on("close", done)
    return Effect.sync(() => {
      target.off("drain", done)
      target.off("close", done)
    })
  })
