/**
 * One-message decode and encode over the wire DSL, with the thrown signals turned into values.
 * @internal
 */
import { EncodeError } from "../ProtocolError.js"
import type { Codec } from "./wire/codec.js"
import { encodeDepth, isStackOverflow, TooDeepSignal } from "./wire/codec.js"
import type { HttpEra } from "./wire/httpEra.js"
import type { InvalidReason } from "./wire/reader.js"
import { DEFAULT_MAX_DEPTH, INCOMPLETE, IncompleteSignal, InvalidSignal, Reader } from "./wire/reader.js"
import { allocBuffer, sizeStats, Writer } from "./wire/writer.js"

/** @internal */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

export { DEFAULT_MAX_DEPTH }

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
 * The signal's path, outermost first, with a long run of one entry (a deeply nested recursive
 * value) written once with its count.
 */
const outermostFirst = (innermostFirst: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = innermostFirst.length - 1; i >= 0;) {
    const entry = innermostFirst[i]!
    let j = i
    while (j >= 0 && innermostFirst[j] === entry) j--
    const run = i - j
    if (run > 3) out.push(`${entry} (×${run})`)
    else for (let k = 0; k < run; k++) out.push(entry)
    i = j
  }
  return out
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
  variantLimits: Int32Array | undefined,
  maxDepth: number,
  era: HttpEra
): RawDecodeResult<A> => {
  const r = new Reader(buf, offset, end, maxMessageBytes, variantLimits, maxDepth, era)
  try {
    const message = codec.read(r)
    return { _tag: "Complete", message, bytesConsumed: r.pos - offset }
  } catch (e) {
    // out of line: decodeOne stays small enough to be inlined into each decoder
    return failureOf(e, r.pos, offset, end, maxDepth)
  }
}

/** What a signal (or anything else) thrown by a codec means, as a result. */
const failureOf = (e: unknown, pos: number, offset: number, end: number, maxDepth: number): RawDecodeResult<never> => {
  if (e === INCOMPLETE || e instanceof IncompleteSignal) {
    return { _tag: "Incomplete", needed: Math.max(INCOMPLETE.needed - offset, end - offset + 1) }
  }
  if (e instanceof InvalidSignal) {
    return {
      _tag: "Invalid",
      reason: e.reason,
      offset: e.offset - offset,
      detail: e.detail,
      path: outermostFirst(e.path),
      variantIndex: e.variantIndex
    }
  }
  // the caller's own stack was deep: what fits under maxDepth did not fit in what it left
  if (isStackOverflow(e)) {
    return {
      _tag: "Invalid",
      reason: "TooDeep",
      offset: pos - offset,
      detail: `the JavaScript stack left to the decoder ran out (limit ${maxDepth} levels)`,
      path: []
    }
  }
  // a bug in a codec must not escape as a throw either
  return { _tag: "Invalid", reason: "Internal", offset: pos - offset, detail: String(e), path: [] }
}

/**
 * The typed error for what an encoder threw: a value nested beyond the limit, or beyond what the
 * JavaScript stack can hold. Anything else (a value that is not a message) is returned as is.
 * @internal
 */
export const asEncodeError = (e: unknown): unknown => {
  if (e instanceof TooDeepSignal) {
    return new EncodeError({
      reason: "TooDeep",
      typeName: e.typeName,
      maxDepth: e.maxDepth,
      detail: `${e.typeName} nested deeper than ${e.maxDepth} levels`
    })
  }
  if (isStackOverflow(e)) {
    return new EncodeError({
      reason: "TooDeep",
      typeName: "unknown",
      maxDepth: encodeDepth.max,
      detail: `nested too deep for the JavaScript stack left to the encoder (limit ${encodeDepth.max})`
    })
  }
  return e
}

/**
 * Runs an encoding step with the nesting limit `maxDepth` instead of the default one.
 * @internal
 */
export const withMaxDepth = <B>(maxDepth: number, f: () => B): B => {
  const saved = encodeDepth.max
  encodeDepth.max = maxDepth
  try {
    return f()
  } finally {
    encodeDepth.max = saved
  }
}

/**
 * Encodes one message into a buffer of exactly its size. Throws `EncodeError` (TooDeep) for a
 * value nested too deep; the try costs nothing when nothing is thrown.
 * @internal
 */
export const encodeOne = <A>(codec: Codec<A>, message: A): Uint8Array => {
  try {
    const size = codec.size(message)
    const w = new Writer(allocBuffer(size))
    codec.write(w, message)
    return w.buf
  } catch (e) {
    throw asEncodeError(e)
  }
}

/** Encodes many messages into one buffer (one allocation for a whole chunk). @internal */
export const encodeMany = <A>(codec: Codec<A>, messages: Iterable<A>): Uint8Array => {
  try {
    let size = 0
    const list: Array<A> = []
    for (const m of messages) {
      size += codec.size(m)
      list.push(m)
    }
    const w = new Writer(allocBuffer(size))
    for (const m of list) codec.write(w, m)
    return w.buf
  } catch (e) {
    throw asEncodeError(e)
  }
}

/**
 * Encodes messages back to back as a list of buffers: the small parts in one allocation, large
 * payloads (≥ ZERO_COPY_MIN) referenced, not copied. Concatenated, they equal `encodeMany`.
 * @internal
 */
export const encodeSegments = <A>(codec: Codec<A>, messages: Iterable<A>): Array<Uint8Array> => {
  try {
    const list: ReadonlyArray<A> = Array.isArray(messages) ? messages : Array.from(messages)
    sizeStats.large = 0
    let size = 0
    for (let i = 0; i < list.length; i++) size += codec.size(list[i]!)
    const w = new Writer(allocBuffer(size - sizeStats.large))
    w.segments = []
    for (let i = 0; i < list.length; i++) codec.write(w, list[i]!)
    return w.finishSegments()
  } catch (e) {
    throw asEncodeError(e)
  }
}
