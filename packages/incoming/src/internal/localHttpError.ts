/**
 * The typed error of `LocalHttp`, with its retry classification.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.1.0
 * @category type ids
 */
export const LocalHttpErrorTypeId: unique symbol = Symbol.for("@mirrord-effect/incoming/LocalHttp/LocalHttpError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type LocalHttpErrorTypeId = typeof LocalHttpErrorTypeId

/**
 * Why an exchange with the local application failed.
 *
 * - `ConnectFailed`: no TCP connection could be made (refused, unreachable, ...). Retryable.
 * - `ClosedBeforeWrite`: a pooled connection turned out to be closed before any byte of the
 *   request was written on it (HTTP/2: the stream was refused). Retryable.
 * - `UnsupportedVersion`: the request asks for HTTP/3. Not retryable.
 * - `ResetAfterWrite`: the connection closed or was reset after the request (or part of it) was
 *   written, before the response was complete. Not retryable: the app may have seen the request.
 * - `Protocol`: the local app sent something that is not valid HTTP, or the request cannot be
 *   expressed on the wire (invalid header bytes, invalid framing headers). Not retryable.
 * - `Timeout`: connecting took longer than `connectTimeout`. Created with `retryable: true`
 *   (nothing was written); the default for this reason is `false`.
 * - `RequestBody`: the request body could not be sent as declared (for example more or fewer
 *   bytes than its `content-length`), or the request body stream failed after the response
 *   head was delivered. Not retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export type LocalHttpErrorReason =
  | "ConnectFailed"
  | "ClosedBeforeWrite"
  | "UnsupportedVersion"
  | "ResetAfterWrite"
  | "Protocol"
  | "Timeout"
  | "RequestBody"

const defaultRetryable = (reason: LocalHttpErrorReason): boolean =>
  reason === "ConnectFailed" || reason === "ClosedBeforeWrite"

const describeCause = (cause: unknown): string | undefined => {
  if (cause === undefined) return undefined
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === "string" && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message
  }
  if (Predicate.hasProperty(cause, "message") && typeof cause.message === "string") return cause.message
  return String(cause)
}

/**
 * A failure talking to the local application. `retryable` is `true` only when the request
 * cannot have reached the application (see {@link LocalHttpErrorReason}).
 *
 * @since 0.1.0
 * @category errors
 */
export class LocalHttpError extends Data.TaggedError("LocalHttpError")<{
  readonly reason: LocalHttpErrorReason
  readonly cause: unknown
  readonly retryable: boolean
  readonly detail: string
}> {
  /**
   * @since 0.1.0
   */
  readonly [LocalHttpErrorTypeId]: LocalHttpErrorTypeId = LocalHttpErrorTypeId

  constructor(args: {
    readonly reason: LocalHttpErrorReason
    readonly detail?: string | undefined
    readonly cause?: unknown
    readonly retryable?: boolean | undefined
  }) {
    super({
      reason: args.reason,
      cause: args.cause,
      detail: args.detail ?? "",
      retryable: args.retryable ?? defaultRetryable(args.reason)
    })
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    const cause = describeCause(this.cause)
    const head = this.detail.length > 0 ? `${this.reason}: ${this.detail}` : this.reason
    return cause === undefined ? head : `${head}: ${cause}`
  }
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isLocalHttpError = (u: unknown): u is LocalHttpError => Predicate.hasProperty(u, LocalHttpErrorTypeId)
