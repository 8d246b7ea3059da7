/**
 * The byte-exact mirrord-protocol codec (bincode 2, `config::standard()`, no framing).
 *
 * `decode*` returns a value, never throws: `Complete` (a message and the bytes it used),
 * `Incomplete` (wait for more bytes) or `Invalid` (the Rust peer would drop the connection).
 *
 * @since 0.1.0
 */
import * as semver from "semver"
import type { RawDecodeResult } from "./internal/decode.js"
import { decodeOne, DEFAULT_MAX_MESSAGE_BYTES, encodeMany, encodeOne, encodeSegments } from "./internal/decode.js"
import { root } from "./internal/messages/index.js"
import type { Codec, EnumDef } from "./internal/wire/codec.js"
import { enums } from "./internal/wire/codec.js"
import type { ClientMessage, DaemonMessage, MessageOf, Root } from "./Message.js"
import * as VariantHistory from "./VariantHistory.js"

/**
 * @since 0.1.0
 * @category models
 */
export type DecodeResult<A> = RawDecodeResult<A>

/**
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  /** a message larger than this is `Invalid` (reason `MessageTooLarge`) as soon as that is known; default 64 MiB */
  readonly maxMessageBytes?: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES

const roots: { readonly [R in Root]: Codec<MessageOf<R>> } = {
  ClientMessage: root.ClientMessage as Codec<ClientMessage>,
  DaemonMessage: root.DaemonMessage as Codec<DaemonMessage>
} as any

/**
 * A decoder for one direction, optionally restricted to what a peer of one protocol version
 * can decode: any enum variant introduced after that version, at any depth, is `Invalid` with
 * reason `UnknownVariant` — exactly what a real agent (or client) of that version does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoder<A> {
  readonly root: Root
  /** the protocol version this decoder emulates; undefined = the newest we implement */
  readonly version: string | undefined
  readonly maxMessageBytes: number
  decode(bytes: Uint8Array, offset?: number, end?: number): DecodeResult<A>
}

const limitsCache = new Map<string, Int32Array>()

const limitsFor = (version: string): Int32Array => {
  let limits = limitsCache.get(version)
  if (limits === undefined) {
    limits = new Int32Array(enums.length)
    enums.forEach((def: EnumDef) => {
      limits![def.id] = VariantHistory.variantHistory[def.name] === undefined
        ? def.variantNames.length
        : VariantHistory.variantCountAt(def.name, version)
    })
    limitsCache.set(version, limits)
  }
  return limits
}

const makeDecoder = <R extends Root>(
  rootName: R,
  version: string | undefined,
  options?: DecodeOptions
): Decoder<MessageOf<R>> => {
  const codec = roots[rootName] as Codec<MessageOf<R>>
  const max = options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const limits = version === undefined ? undefined : limitsFor(version)
  return {
    root: rootName,
    version,
    maxMessageBytes: max,
    decode: (bytes, offset = 0, end = bytes.length) => decodeOne(codec, bytes, offset, end, max, limits)
  }
}

/**
 * The decoder a peer of `version` has. Throws nothing: an unparsable version string is
 * treated as the newest protocol.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decoderFor = <R extends Root>(
  version: string | { readonly version: string },
  rootName: R,
  options?: DecodeOptions
): Decoder<MessageOf<R>> => {
  const v = semver.valid(typeof version === "string" ? version : version.version)
  return makeDecoder(rootName, v ?? undefined, options)
}

/**
 * The decoder of the newest protocol (1.29.0) for one direction.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decoder = <R extends Root>(rootName: R, options?: DecodeOptions): Decoder<MessageOf<R>> =>
  makeDecoder(rootName, undefined, options)

const clientDecoder = decoder("ClientMessage")
const daemonDecoder = decoder("DaemonMessage")

/**
 * Decodes one `ClientMessage` (client → agent) from the start of `bytes`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientMessage = (bytes: Uint8Array, options?: DecodeOptions): DecodeResult<ClientMessage> =>
  options === undefined ? clientDecoder.decode(bytes) : decoder("ClientMessage", options).decode(bytes)

/**
 * Decodes one `DaemonMessage` (agent → client) from the start of `bytes`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeDaemonMessage = (bytes: Uint8Array, options?: DecodeOptions): DecodeResult<DaemonMessage> =>
  options === undefined ? daemonDecoder.decode(bytes) : decoder("DaemonMessage", options).decode(bytes)

/**
 * Encodes one `ClientMessage`; the buffer is sized exactly, allocated once.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClientMessage = (message: ClientMessage): Uint8Array => encodeOne(root.ClientMessage, message)

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeDaemonMessage = (message: DaemonMessage): Uint8Array => encodeOne(root.DaemonMessage, message)

/**
 * Encodes a message of either direction.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = <R extends Root>(rootName: R, message: MessageOf<R>): Uint8Array =>
  encodeOne(roots[rootName] as Codec<MessageOf<R>>, message)

/**
 * Encodes several messages back to back into one buffer.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeAll = <R extends Root>(rootName: R, messages: Iterable<MessageOf<R>>): Uint8Array =>
  encodeMany(roots[rootName] as Codec<MessageOf<R>>, messages)

/**
 * Encodes messages as a list of buffers that, concatenated, are their encoding: large payloads
 * (8 KiB and more) are referenced, not copied, so a 1 MiB body frame costs a few bytes of
 * encoding work. The buffers share memory with the messages: do not mutate a payload until
 * the buffers are written. This is what the streaming encoder (`MessageChannel`) uses.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeToSegments = <R extends Root>(
  rootName: R,
  messages: Iterable<MessageOf<R>>
): ReadonlyArray<Uint8Array> => encodeSegments(roots[rootName] as Codec<MessageOf<R>>, messages)

/**
 * The encoded size of a message, without encoding it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodedSize = <R extends Root>(rootName: R, message: MessageOf<R>): number =>
  (roots[rootName] as Codec<MessageOf<R>>).size(message)

/**
 * Every enum variant a message uses, outermost first, as `Enum::Variant` with its index.
 *
 * @since 0.1.0
 * @category versions
 */
export const variantsOf = <R extends Root>(
  rootName: R,
  message: MessageOf<R>
): ReadonlyArray<{ readonly enumName: string; readonly index: number; readonly name: string }> => {
  const out: Array<{ enumName: string; index: number; name: string }> = []
  ;(roots[rootName] as Codec<MessageOf<R>>).visitTags(message, (def, index) =>
    out.push({ enumName: def.name, index, name: def.variantNames[index]! })
  )
  return out
}

/**
 * The lowest protocol version that can decode a message: the maximum, over every enum variant
 * it uses at any depth, of the version that introduced that variant.
 *
 * @since 0.1.0
 * @category versions
 */
export const sinceVersion = <R extends Root>(rootName: R, message: MessageOf<R>): string => {
  let best = "1.0.0"
  for (const v of variantsOf(rootName, message)) {
    const since = VariantHistory.sinceOf(v.enumName, v.index)
    if (since !== undefined && semver.gt(since, best)) best = since
  }
  return best
}

/**
 * The variant of a message that makes it undecodable at `version`, if any (e.g. to explain why
 * an agent closed the connection).
 *
 * @since 0.1.0
 * @category versions
 */
export const firstUndecodableVariant = <R extends Root>(
  rootName: R,
  message: MessageOf<R>,
  version: string
): { readonly enumName: string; readonly name: string; readonly since: string } | undefined => {
  for (const v of variantsOf(rootName, message)) {
    const since = VariantHistory.sinceOf(v.enumName, v.index)
    if (since !== undefined && semver.gt(since, version)) return { enumName: v.enumName, name: v.name, since }
  }
  return undefined
}
