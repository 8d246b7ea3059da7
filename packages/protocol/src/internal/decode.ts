/**
 * One-message decode and encode over the wire DSL, with the thrown signals turned into values.
 * @internal
 */
import type { Codec } from "./wire/codec.js"
import type { InvalidReason } from "./wire/reader.js"
import { INCOMPLETE, IncompleteSignal, InvalidSignal, Reader } from "./wire/reader.js"
import { allocBuffer, sizeStats, Writer } from "./wire/writer.js"

/** @internal */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** @internal */
export type RawDecodeResult<A> =
  | { readonly _tag: "Complete"; readonly message: A; readonly bytesConsumed: number }
  | { readonly _tag: "Incomplete"; readonly needed: number }
  | {
    readonly _tag: "Invalid"
    readonly reason: InvalidReason
    readonly offset: number
    readonly detail: string
    readonly path: ReadonlyArray<string>
    /** for UnknownVariant: the variant index read (the enum is the last element of `path`) */
    readonly variantIndex?: number | undefined
  }

/**
 * Decodes one message starting at `offset`; `needed` of an Incomplete result is the total
 * buffer length (from `offset`) known to be required, a lower bound.
 * @internal
 */
export const decodeOne = <A>(
  codec: Codec<A>,
  buf: Uint8Array,
  offset: number,
  end: number,
  maxMessageBytes: number,
  variantLimits: Int32Array | undefined
): RawDecodeResult<A> => {
  const r = new Reader(buf, offset, end, maxMessageBytes, variantLimits)
  try {
    const message = codec.read(r)
    return { _tag: "Complete", message, bytesConsumed: r.pos - offset }
  } catch (e) {
    if (e === INCOMPLETE || e instanceof IncompleteSignal) {
      return { _tag: "Incomplete", needed: Math.max(INCOMPLETE.needed - offset, end - offset + 1) }
    }
    if (e instanceof InvalidSignal) {
      return {
        _tag: "Invalid",
        reason: e.reason,
        offset: e.offset - offset,
        detail: e.detail,
        path: e.path,
        variantIndex: e.variantIndex
      }
    }
    // a bug in a codec must not escape as a throw either
    return { _tag: "Invalid", reason: "Internal", offset: r.pos - offset, detail: String(e), path: [] }
  }
}

/** Encodes one message into a buffer of exactly its size. @internal */
export const encodeOne = <A>(codec: Codec<A>, message: A): Uint8Array => {
  const size = codec.size(message)
  const w = new Writer(allocBuffer(size))
  codec.write(w, message)
  return w.buf
}

/** Encodes many messages into one buffer (one allocation for a whole chunk). @internal */
export const encodeMany = <A>(codec: Codec<A>, messages: Iterable<A>): Uint8Array => {
  let size = 0
  const list: Array<A> = []
  for (const m of messages) {
    size += codec.size(m)
    list.push(m)
  }
  const w = new Writer(allocBuffer(size))
  for (const m of list) codec.write(w, m)
  return w.buf
}

/**
 * Encodes messages back to back as a list of buffers: the small parts in one allocation, large
 * payloads (≥ ZERO_COPY_MIN) referenced, not copied. Concatenated, they equal `encodeMany`.
 * @internal
 */
export const encodeSegments = <A>(codec: Codec<A>, messages: Iterable<A>): Array<Uint8Array> => {
  const list: ReadonlyArray<A> = Array.isArray(messages) ? messages : Array.from(messages)
  sizeStats.large = 0
  let size = 0
  for (let i = 0; i < list.length; i++) size += codec.size(list[i]!)
  const w = new Writer(allocBuffer(size - sizeStats.large))
  w.segments = []
  for (let i = 0; i < list.length; i++) codec.write(w, list[i]!)
  return w.finishSegments()
}
