/**
 * The byte-exact mirrord-protocol codec (bincode 2, `config::standard()`, no framing).
 *
 * `decode*` returns a value, never throws: `Complete` (a message and the bytes it used),
 * `Incomplete` (wait for more bytes) or `Invalid` (the Rust peer would drop the connection).
 * Recursive values (`HttpFilter::Composite`) nest at most `maxDepth` levels (default 4,096, below
 * the ≈ 4,600 a real agent decodes before its process aborts): deeper is `Invalid` / `TooDeep` on
 * decode and an `EncodeError` / `TooDeep` on encode, never a stack overflow.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as semver from "semver"
import type { RawDecodeResult } from "./internal/decode.js"
import {
  asEncodeError,
  decodeOne,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeMany,
  encodeOne,
  encodeSegments,
  withMaxDepth
} from "./internal/decode.js"
import { root } from "./internal/messages/index.js"
import type { Codec, EnumDef } from "./internal/wire/codec.js"
import { enums } from "./internal/wire/codec.js"
import type { HttpEra } from "./internal/wire/httpEra.js"
import { httpEraFor, NEWEST_HTTP_ERA } from "./internal/wire/httpEra.js"
import type { ClientMessage, DaemonMessage, MessageOf, Root } from "./Message.js"
import { EncodeError } from "./ProtocolError.js"
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
  /**
   * recursive values (`HttpFilter::Composite` inside `HttpFilter::Composite`…) nested more than
   * this are `Invalid` (reason `TooDeep`, offset of the first value too deep); default 4,096
   */
  readonly maxDepth?: number
  /**
   * how `decoderFor(version)` validates HTTP values: `"era"` (default) as the `http` crate of
   * that version did (see `HttpValidation`), `"newest"` as 1.29.0's does — the version then only
   * limits the enum variants (for bytes a 1.29 encoder produced, e.g. the shared vectors)
   */
  readonly httpValidation?: "era" | "newest"
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  /** recursive values nested more than this are an `EncodeError` (reason `TooDeep`); default 4,096 */
  readonly maxDepth?: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES

/**
 * The default nesting limit of recursive values (`HttpFilter::Composite`), for decode and encode.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxDepth: number = DEFAULT_MAX_DEPTH

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
  /** recursive values nested deeper than this are `Invalid` (`TooDeep`) */
  readonly maxDepth: number
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
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH
  const limits = version === undefined ? undefined : limitsFor(version)
  const era: HttpEra = version === undefined || options?.httpValidation === "newest"
    ? NEWEST_HTTP_ERA
    : httpEraFor(version)
  return {
    root: rootName,
    version,
    maxMessageBytes: max,
    maxDepth,
    decode: (bytes, offset = 0, end = bytes.length) => decodeOne(codec, bytes, offset, end, max, limits, maxDepth, era)
  }
}

/**
 * The decoder a peer of `version` has: it rejects the enum variants that version does not know
 * and validates HTTP values (method, URI, header names, repeated header names) as the `http`
 * crate of that version's era did (see `HttpValidation`). Throws nothing: an unparsable version
 * string is treated as the newest protocol.
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

const encodeWithOptions = <B>(options: EncodeOptions | undefined, f: () => B): B =>
  options?.maxDepth === undefined ? f() : withMaxDepth(options.maxDepth, f)

/**
 * Encodes one `ClientMessage`; the buffer is sized exactly, allocated once. Throws
 * `EncodeError` (reason `TooDeep`) for recursive values nested beyond `maxDepth`; see
 * `encodeEither` and `checkEncodable` for the forms that return it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClientMessage = (message: ClientMessage, options?: EncodeOptions): Uint8Array =>
  encodeWithOptions(options, () => encodeOne(root.ClientMessage, message))

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeDaemonMessage = (message: DaemonMessage, options?: EncodeOptions): Uint8Array =>
  encodeWithOptions(options, () => encodeOne(root.DaemonMessage, message))

/**
 * Encodes a message of either direction. Throws `EncodeError` (reason `TooDeep`) for recursive
 * values nested beyond `maxDepth`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = <R extends Root>(rootName: R, message: MessageOf<R>, options?: EncodeOptions): Uint8Array =>
  encodeWithOptions(options, () => encodeOne(roots[rootName] as Codec<MessageOf<R>>, message))

/**
 * Encodes a message of either direction; a message that cannot be encoded is `Left`, nothing is
 * thrown for it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeEither = <R extends Root>(
  rootName: R,
  message: MessageOf<R>,
  options?: EncodeOptions
): Either.Either<Uint8Array, EncodeError> => {
  try {
    return Either.right(encode(rootName, message, options))
  } catch (e) {
    if (e instanceof EncodeError) return Either.left(e)
    throw e
  }
}

/**
 * Why a message cannot be encoded, if it cannot: a pure check that allocates no buffer (it
 * walks the message once, as `encodedSize` does). Call it before sending a value built from
 * outside input, e.g. an HTTP filter before `subscribe`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const checkEncodable = <R extends Root>(
  rootName: R,
  message: MessageOf<R>,
  options?: EncodeOptions
): Option.Option<EncodeError> => {
  try {
    encodeWithOptions(options, () => (roots[rootName] as Codec<MessageOf<R>>).size(message))
    return Option.none()
  } catch (e) {
    const error = asEncodeError(e)
    if (error instanceof EncodeError) return Option.some(error)
    throw e
  }
}

/**
 * Encodes several messages back to back into one buffer. Throws `EncodeError` as `encode`.
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
 * the buffers are written. This is what the streaming encoder (`MessageChannel`) uses. Throws
 * `EncodeError` as `encode`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeToSegments = <R extends Root>(
  rootName: R,
  messages: Iterable<MessageOf<R>>
): ReadonlyArray<Uint8Array> => encodeSegments(roots[rootName] as Codec<MessageOf<R>>, messages)

/**
 * The encoded size of a message, without encoding it. Throws `EncodeError` as `encode`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodedSize = <R extends Root>(rootName: R, message: MessageOf<R>): number => {
  try {
    return (roots[rootName] as Codec<MessageOf<R>>).size(message)
  } catch (e) {
    throw asEncodeError(e)
  }
}

/**
 * Every enum variant a message uses, outermost first, as `Enum::Variant` with its index.
 * Throws `EncodeError` (`TooDeep`) for a message nested beyond the default `maxDepth`, as do
 * `sinceVersion` and `firstUndecodableVariant`: check a message built from outside input with
 * `checkEncodable` first.
 *
 * @since 0.1.0
 * @category versions
 */
export const variantsOf = <R extends Root>(
  rootName: R,
  message: MessageOf<R>
): ReadonlyArray<{ readonly enumName: string; readonly index: number; readonly name: string }> => {
  const out: Array<{ enumName: string; index: number; name: string }> = []
  try {
    ;(roots[rootName] as Codec<MessageOf<R>>).visitTags(message, (def, index) =>
      out.push({ enumName: def.name, index, name: def.variantNames[index]! })
    )
  } catch (e) {
    throw asEncodeError(e)
  }
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
