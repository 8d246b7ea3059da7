/**
 * Canonical JSON: the readable form of any message, exactly the mapping of the shared test
 * vectors (`{"$": "Variant", ...}`, u64 as decimal strings, bytes as `{"hex": …}`). It is the
 * format of the CLI's `decode` / `encode`.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { asEncodeError } from "./internal/decode.js"
import { root } from "./internal/messages/index.js"
import type { Codec, Json } from "./internal/wire/codec.js"
import { CanonSignal } from "./internal/wire/codec.js"
import type { MessageOf, Root } from "./Message.js"
import { CanonicalError } from "./ProtocolError.js"

/** @since 0.1.0 @category models */
export type Canonical = Json

const codecOf = <R extends Root>(rootName: R): Codec<MessageOf<R>> =>
  (rootName === "ClientMessage" ? root.ClientMessage : root.DaemonMessage) as unknown as Codec<MessageOf<R>>

/**
 * Throws `EncodeError` (reason `TooDeep`) for a message nested beyond the default `maxDepth`,
 * as `Codec.encode` does.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toCanonical = <R extends Root>(rootName: R, message: MessageOf<R>): Canonical => {
  try {
    return codecOf(rootName).toCanon(message)
  } catch (e) {
    // a message nested beyond the default maxDepth: the typed EncodeError (reason TooDeep)
    throw asEncodeError(e)
  }
}

/**
 * @since 0.1.0
 * @category conversions
 */
export const fromCanonical = <R extends Root>(
  rootName: R,
  json: unknown
): Either.Either<MessageOf<R>, CanonicalError> => {
  try {
    return Either.right(codecOf(rootName).fromCanon(json, "$"))
  } catch (e) {
    if (e instanceof CanonSignal) {
      return Either.left(new CanonicalError({ reason: "InvalidCanonical", path: e.path, detail: e.detail }))
    }
    return Either.left(new CanonicalError({ reason: "InvalidCanonical", path: "$", detail: String(e) }))
  }
}

/**
 * Canonical JSON text with stable key order (the order of the Rust declaration).
 *
 * @since 0.1.0
 * @category conversions
 */
export const stringify = (json: Canonical): string => JSON.stringify(json)
