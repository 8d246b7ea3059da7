/**
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Why bytes could not be decoded. `Truncated`: the byte stream ended inside a message.
 * `TooDeep`: recursive values (HttpFilter::Composite) nest beyond the decoder's `maxDepth`, or
 * beyond what the JavaScript stack left to the decoder can hold. The others are the Rust
 * decoder's fatal conditions (see wire-format.md §2.3).
 *
 * @since 0.1.0
 * @category models
 */
export type DecodeFailureReason =
  | "UnknownVariant"
  | "InvalidVarint"
  | "InvalidBool"
  | "InvalidOptionTag"
  | "InvalidUtf8"
  | "InvalidMethod"
  | "InvalidUri"
  | "InvalidHttpVersion"
  | "InvalidStatus"
  | "InvalidHeaderName"
  | "InvalidHeaderValue"
  | "TooManyHeaders"
  | "InvalidSemver"
  | "MessageTooLarge"
  | "TooDeep"
  | "Internal"
  | "Truncated"

/**
 * A byte stream that is not a valid sequence of messages.
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly reason: DecodeFailureReason
  /** byte offset in the stream (from its first byte) where the problem was found */
  readonly offset: number
  readonly detail: string
  /** enum path from the root message down to the enum that failed, outermost first */
  readonly path: ReadonlyArray<string>
  /** for UnknownVariant: the variant index that was read (the enum is the last element of `path`) */
  readonly variantIndex?: number | undefined
}> {
  get message(): string {
    const where = this.path.length > 0 ? ` in ${this.path.join(" / ")}` : ""
    return `${this.reason} at byte ${this.offset}${where}: ${this.detail}`
  }
}

/**
 * A canonical JSON value that does not describe a message.
 *
 * @since 0.1.0
 * @category errors
 */
export class CanonicalError extends Data.TaggedError("CanonicalError")<{
  readonly reason: "InvalidCanonical"
  readonly path: string
  readonly detail: string
}> {
  get message(): string {
    return `invalid canonical JSON at ${this.path}: ${this.detail}`
  }
}

/**
 * Why a message cannot be encoded. `TooDeep`: recursive values (HttpFilter::Composite) nest
 * beyond the encoder's `maxDepth` (or beyond what the JavaScript stack can hold); no agent could
 * decode it anyway.
 *
 * @since 0.1.0
 * @category models
 */
export type EncodeFailureReason = "TooDeep"

/**
 * A message that cannot be encoded.
 *
 * @since 0.1.0
 * @category errors
 */
export class EncodeError extends Data.TaggedError("EncodeError")<{
  readonly reason: EncodeFailureReason
  /** the type whose nesting is too deep, e.g. `HttpFilter` */
  readonly typeName: string
  /** the nesting limit that applied */
  readonly maxDepth: number
  readonly detail: string
}> {
  get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}
