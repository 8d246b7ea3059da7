/**
 * The negotiated protocol version of a connection, as a service.
 *
 * The service is a `SubscriptionRef` holding `Option<SemVer>`: `None` until
 * the peer answered `SwitchProtocolVersion` (every gate then behaves as
 * "older than everything"), `Some(v)` afterwards. It may change again (the
 * handshake can be repeated, e.g. after a reconnect).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as ResponseModeModule from "./ResponseMode.js"
import type { SemVer } from "./Version.js"
import * as Version from "./Version.js"

/**
 * The negotiated protocol version of the current connection.
 *
 * The module-level helpers are also available as statics:
 * `ProtocolVersion.fixed(v)`, `ProtocolVersion.unknown`, `ProtocolVersion.current`,
 * `ProtocolVersion.changes`, `ProtocolVersion.awaitKnown`,
 * `ProtocolVersion.responseMode(variant)`, `ProtocolVersion.set(o)`.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProtocolVersion extends Context.Tag("@mirrord-effect/protocol/ProtocolVersion")<
  ProtocolVersion,
  SubscriptionRef.SubscriptionRef<Option.Option<SemVer>>
>() {
  /** @since 0.1.0 */
  static fixed(version: SemVer | string): Layer.Layer<ProtocolVersion> {
    return fixed(version)
  }
  /** @since 0.1.0 */
  static get unknown(): Layer.Layer<ProtocolVersion> {
    return unknown
  }
  /** @since 0.1.0 */
  static get current(): Effect.Effect<Option.Option<SemVer>, never, ProtocolVersion> {
    return current
  }
  /** @since 0.1.0 */
  static get changes(): Stream.Stream<Option.Option<SemVer>, never, ProtocolVersion> {
    return changes
  }
  /** @since 0.1.0 */
  static get awaitKnown(): Effect.Effect<SemVer, never, ProtocolVersion> {
    return awaitKnown
  }
  /** @since 0.1.0 */
  static responseMode(
    requestVariant: ResponseModeModule.RequestVariant
  ): Effect.Effect<ResponseModeModule.ResponseMode, never, ProtocolVersion> {
    return responseMode(requestVariant)
  }
  /** @since 0.1.0 */
  static set(version: Option.Option<SemVer>): Effect.Effect<void, never, ProtocolVersion> {
    return set(version)
  }
}

/**
 * Creates a fresh version ref.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  initial: Option.Option<SemVer> = Option.none()
): Effect.Effect<SubscriptionRef.SubscriptionRef<Option.Option<SemVer>>> => SubscriptionRef.make(initial)

/**
 * A layer whose version is `Some(version)` from the start. Dies with a
 * `VersionParseError` when `version` is a string that is not a strict
 * semantic version.
 *
 * @since 0.1.0
 * @category layers
 */
export const fixed = (version: SemVer | string): Layer.Layer<ProtocolVersion> =>
  Layer.effect(
    ProtocolVersion,
    Effect.flatMap(
      typeof version === "string" ? Effect.orDie(Version.parseVersion(version)) : Effect.succeed(version),
      (v) => make(Option.some(v))
    )
  )

/**
 * A layer whose version is `None` (not negotiated yet).
 *
 * @since 0.1.0
 * @category layers
 */
export const unknown: Layer.Layer<ProtocolVersion> = Layer.effect(ProtocolVersion, make(Option.none()))

/**
 * The current version.
 *
 * @since 0.1.0
 * @category accessors
 */
export const current: Effect.Effect<Option.Option<SemVer>, never, ProtocolVersion> = Effect.flatMap(
  ProtocolVersion,
  SubscriptionRef.get
)

/**
 * Sets the version (e.g. on `SwitchProtocolVersionResponse`, or back to
 * `None` on reconnect).
 *
 * @since 0.1.0
 * @category mutations
 */
export const set = (version: Option.Option<SemVer>): Effect.Effect<void, never, ProtocolVersion> =>
  Effect.flatMap(ProtocolVersion, (ref) => SubscriptionRef.set(ref, version))

/**
 * Sets the version to `Some(version)`; dies on an invalid version string.
 *
 * @since 0.1.0
 * @category mutations
 */
export const setKnown = (version: SemVer | string): Effect.Effect<void, never, ProtocolVersion> =>
  Effect.flatMap(
    typeof version === "string" ? Effect.orDie(Version.parseVersion(version)) : Effect.succeed(version),
    (v) => set(Option.some(v))
  )

/**
 * The current version followed by every later change.
 *
 * @since 0.1.0
 * @category accessors
 */
export const changes: Stream.Stream<Option.Option<SemVer>, never, ProtocolVersion> = Stream.unwrap(
  Effect.map(ProtocolVersion, (ref) => ref.changes)
)

/**
 * The version, waiting until it is known (`Some`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const awaitKnown: Effect.Effect<SemVer, never, ProtocolVersion> = changes.pipe(
  Stream.filterMap((o) => o),
  Stream.runHead,
  Effect.flatMap(Option.match({ onNone: () => Effect.never, onSome: Effect.succeed }))
)

/**
 * The response mode for answering a request of `requestVariant`, from the
 * current version (`ResponseMode.responseModeFor`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const responseMode = (
  requestVariant: ResponseModeModule.RequestVariant
): Effect.Effect<ResponseModeModule.ResponseMode, never, ProtocolVersion> =>
  Effect.map(current, (v) => ResponseModeModule.responseModeFor(v, requestVariant))
