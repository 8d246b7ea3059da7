/**
 * A fixed-size ring of the last messages written to the agent, for `Diagnosis`.
 * @internal
 */
import type { ClientMessage } from "@mirrord-effect/protocol/Message"

/** @internal */
export interface SentRing {
  readonly push: (message: ClientMessage) => void
  /** Oldest first. */
  readonly toArray: () => ReadonlyArray<ClientMessage>
}

/** @internal */
export const make = (size: number): SentRing => {
  const capacity = Math.max(1, Math.floor(size))
  const slots: Array<ClientMessage | undefined> = new Array(capacity)
  let next = 0
  let count = 0
  return {
    push: (message) => {
      slots[next] = message
      next = (next + 1) % capacity
      if (count < capacity) count++
    },
    toArray: () => {
      const out: Array<ClientMessage> = []
      const start = (next - count + capacity) % capacity
      for (let i = 0; i < count; i++) out.push(slots[(start + i) % capacity]!)
      return out
    }
  }
}
