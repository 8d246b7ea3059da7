/**
 * The agent socket's writer: the one place where outgoing bytes meet the socket.
 *
 * Why below Effect: a message goes from the sending fiber to the socket in the same fiber run —
 * no queue, no writer fiber, no per-write callback awaited (each of those costs a fiber hop per
 * message, see data-plane.md). The first write of a tick corks the socket and the end of the tick
 * uncorks it, so all messages written in one tick leave in one `writev`. Callers ask
 * `needsDrain` before writing and wait with `onDrain` only when the socket says so.
 * @internal
 */
import type { ByteDuplex } from "../ByteDuplex.js"

/** Segments at least this large are written as they are; smaller neighbours are joined into one buffer. */
export const LARGE_SEGMENT = 8 * 1024

/** Runs `f` once the current tick's synchronous work and microtasks are done (Node's `nextTick`). */
const endOfTick: (f: () => void) => void = (() => {
  const nextTick = (globalThis as { process?: { nextTick?: (f: () => void) => void } }).process?.nextTick
  return typeof nextTick === "function" ? (f) => nextTick(f) : (f) => queueMicrotask(f)
})()

const join = (parts: ReadonlyArray<Uint8Array>, from: number, to: number, size: number): Uint8Array => {
  if (to - from === 1) return parts[from]!
  const out = new Uint8Array(size)
  let offset = 0
  for (let i = from; i < to; i++) {
    out.set(parts[i]!, offset)
    offset += parts[i]!.length
  }
  return out
}

export class SocketWriter {
  private corked = false
  private waiters: Array<() => void> = []
  private readonly uncork = () => {
    this.corked = false
    if (!this.socket.destroyed) this.socket.uncork()
  }
  private readonly wake = () => {
    const waiters = this.waiters
    if (waiters.length === 0) return
    this.waiters = []
    for (const w of waiters) w()
  }

  constructor(private readonly socket: ByteDuplex) {
    socket.on("drain", this.wake)
    socket.on("close", this.wake)
  }

  /** True while the socket asks writers to wait for `'drain'` (or it is gone). */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain && !this.socket.destroyed
  }

  /**
   * Writes one message's segments now, corked until the end of the tick: small segments joined,
   * large ones (payloads) passed as they are. `onWritten` runs once the last one is written (with
   * the error if the socket failed). Returns false when the socket wants `'drain'` before more.
   */
  write(segments: ReadonlyArray<Uint8Array>, onWritten?: (error?: Error | null) => void): boolean {
    const socket = this.socket
    if (socket.destroyed) {
      if (onWritten !== undefined) onWritten(new Error("the socket is closed"))
      return false
    }
    if (!this.corked) {
      this.corked = true
      socket.cork()
      endOfTick(this.uncork)
    }
    let ok = true
    let runStart = 0
    let runSize = 0
    const last = segments.length - 1
    for (let i = 0; i <= last; i++) {
      const segment = segments[i]!
      if (segment.length < LARGE_SEGMENT) {
        runSize += segment.length
        continue
      }
      if (i > runStart) ok = socket.write(join(segments, runStart, i, runSize)) && ok
      ok = socket.write(segment, i === last ? onWritten : undefined) && ok
      runStart = i + 1
      runSize = 0
    }
    if (runStart <= last) ok = socket.write(join(segments, runStart, last + 1, runSize), onWritten) && ok
    else if (segments.length === 0 && onWritten !== undefined) onWritten()
    return ok
  }

  /** Calls `resume` at the next `'drain'` or `'close'`; returns a canceller. */
  onDrain(resume: () => void): () => void {
    if (!this.needsDrain) {
      resume()
      return () => {}
    }
    this.waiters.push(resume)
    return () => {
      const i = this.waiters.indexOf(resume)
      if (i >= 0) this.waiters.splice(i, 1)
    }
  }

  /** Uncorks now instead of at the end of the tick (the connection is closing). */
  flush(): void {
    if (this.corked) this.uncork()
  }

  /** Wakes every waiter (the connection ended). */
  close(): void {
    this.socket.removeListener("drain", this.wake)
    this.wake()
  }
}
