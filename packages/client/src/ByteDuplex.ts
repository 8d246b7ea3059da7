/**
 * The byte stream an agent connection runs over: the few members of a Node `net.Socket` (or any
 * stream.Duplex socket: Bun's and Deno's `node:net` too) that a connection at the floor needs —
 * writes with a callback, cork/uncork (one `writev` per tick), `'drain'`, pause/resume (a full
 * inbound mailbox pushes back on the OS socket), end (flush, then close the write side: what
 * `send` accepted still reaches the agent when the connection closes) and destroy. It is structural: a `net.Socket`
 * is one as it is, without a wrapper.
 *
 * Events used: `'data'` (Uint8Array), `'end'`, `'error'` (Error), `'close'`, `'drain'`, `'finish'`
 * (after `end`: every write flushed).
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export interface ByteDuplex {
  /** Queues `chunk`; false when the caller should wait for `'drain'`. `callback` runs once written (or failed). */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean
  /** Buffers writes until `uncork` (then written with one `writev`). */
  cork(): void
  uncork(): void
  /** True from a `write` that returned false until the next `'drain'`. */
  readonly writableNeedDrain: boolean
  /** No more writes: flushes what is buffered (corked or not), then `'finish'`. */
  end(): unknown
  pause(): unknown
  resume(): unknown
  destroy(error?: Error): unknown
  readonly destroyed: boolean
  on(event: string, listener: (...args: Array<any>) => void): unknown
  removeListener(event: string, listener: (...args: Array<any>) => void): unknown
}

/**
 * Tells a `ByteDuplex` from other values (e.g. an `@effect/platform` `Socket`).
 *
 * @since 0.2.0
 * @category guards
 */
export const isByteDuplex = (u: unknown): u is ByteDuplex =>
  typeof u === "object" && u !== null &&
  typeof (u as ByteDuplex).write === "function" &&
  typeof (u as ByteDuplex).cork === "function" &&
  typeof (u as ByteDuplex).uncork === "function" &&
  typeof (u as ByteDuplex).pause === "function" &&
  typeof (u as ByteDuplex).on === "function"
