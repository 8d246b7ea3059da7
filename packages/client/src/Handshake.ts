/**
 * The protocol-version handshake of an agent connection, and the negotiated `ProtocolVersion`.
 *
 * The connection sends `SwitchProtocolVersion(offer)` (default: `Version.VERSION`) before
 * anything else and holds every other outgoing message back until the agent's
 * `SwitchProtocolVersionResponse` arrives (within `timeout`, default 10 s). It then publishes
 * `Some(answer)` into its `ProtocolVersion` ref, sends `ReadyForLogs` when
 * `CLIENT_READY_FOR_LOGS` matches, and releases the held messages in order.
 *
 * What the answer means depends on the agent's era (version-history.md §4.2):
 * - agents >= 1.6.0 answer `min(agent, offer)`;
 * - agents 1.3.0–1.5.5 echo the offer, so the version may be higher than what the agent can
 *   decode (the HTTP response-mode cap guards the response path; `Diagnosis` says so when such
 *   an agent drops the connection);
 * - agents < 1.3.0 cannot decode `SwitchProtocolVersion` and drop the connection: the handshake
 *   fails with `NegotiationFailed` and `OLDER_THAN_1_3_0_HINT`. Use `assumeVersion` to skip the
 *   handshake and publish a version of your choosing.
 *
 * Reconnecting: `AgentSession` re-dials and negotiates each new connection into one shared ref
 * (`None` while disconnected, then the new answer: an agent may come back older or newer). By
 * hand, give `make` an existing ref (`versionRef`) so subscribers see `None` then the new
 * version. `renegotiate` repeats the handshake on a live connection.
 *
 * What a failed handshake says: no answer within the timeout → "no answer to
 * SwitchProtocolVersion within N s"; an HTTP response → "this looks like an HTTP server, not a
 * mirrord agent"; the connection closed without a byte → `OLDER_THAN_1_3_0_HINT` and
 * `suggestAssumeVersion: true` (only then is `assumeVersion` the advice to give).
 *
 * @since 0.1.0
 */
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type { AgentConnectionError } from "./AgentConnection.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface HandshakeOptions {
  /** How long to wait for `SwitchProtocolVersionResponse` (default 10 s). */
  readonly negotiationTimeout?: Duration.DurationInput | undefined
  /** Skip the handshake and publish this version (for agents older than 1.3.0). */
  readonly assumeVersion?: Version.SemVer | string | undefined
  /** The version to offer (default `Version.VERSION`, 1.29.0). */
  readonly offerVersion?: Version.SemVer | string | undefined
}

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_NEGOTIATION_TIMEOUT: Duration.Duration = Duration.seconds(10)

/**
 * The detail of `NegotiationFailed` when the agent drops the connection during the handshake.
 *
 * @since 0.1.0
 * @category constants
 */
export const OLDER_THAN_1_3_0_HINT =
  "the agent closed the connection during negotiation; agents older than 1.3.0 cannot negotiate — use assumeVersion"

/**
 * The handshake state of a live connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandshakeShape {
  /** The connection's version: `None` until the handshake answered (and again while renegotiating). */
  readonly version: SubscriptionRef.SubscriptionRef<Option.Option<Version.SemVer>>
  /** The outcome of the first handshake (or the assumed version). */
  readonly negotiated: Effect.Effect<Version.SemVer, AgentConnectionError>
  /**
   * Repeats the handshake on this connection: publishes `None`, holds outgoing messages back,
   * sends `SwitchProtocolVersion(offer)` (default: the connection's offer) and publishes the
   * answer. A failure ends the connection.
   */
  readonly renegotiate: (offer?: Version.SemVer | string) => Effect.Effect<Version.SemVer, AgentConnectionError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Handshake extends Context.Tag("@mirrord-effect/client/Handshake")<Handshake, HandshakeShape>() {}

/**
 * How an answer relates to the offer.
 * - `"AgentVersion"`: lower than the offer, so it is `min(agent, offer)` = the agent's own version.
 * - `"AtLeastOffer"`: equal to the offer: the agent speaks at least the offer, or is a 1.3.0–1.5.5
 *   agent echoing it.
 *
 * @since 0.1.0
 * @category models
 */
export type AnswerKind = "AgentVersion" | "AtLeastOffer"

/**
 * Interprets `SwitchProtocolVersionResponse(answer)` to `SwitchProtocolVersion(offered)`; an
 * answer above the offer is no valid answer from any agent era.
 *
 * @since 0.1.0
 * @category utils
 */
export const interpretAnswer = (
  offered: Version.SemVer,
  answer: Version.SemVer
): Either.Either<AnswerKind, string> => {
  const order = Version.compare(answer, offered)
  if (order > 0) {
    return Either.left(
      `the agent answered ${Version.format(answer)}, newer than the ${Version.format(offered)} we offered`
    )
  }
  return Either.right(order < 0 ? "AgentVersion" : "AtLeastOffer")
}

/**
 * `ProtocolVersion` from a `Handshake`, built once the first handshake succeeded (it fails the
 * layer with `NegotiationFailed` otherwise). Later renegotiations update the same ref.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNegotiated: Layer.Layer<ProtocolVersion.ProtocolVersion, AgentConnectionError, Handshake> = Layer
  .effect(
    ProtocolVersion.ProtocolVersion,
    Effect.flatMap(Handshake, (handshake) => Effect.as(handshake.negotiated, handshake.version))
  )

/**
 * Repeats the handshake on the current connection.
 *
 * @since 0.1.0
 * @category accessors
 */
export const renegotiate = (
  offer?: Version.SemVer | string
): Effect.Effect<Version.SemVer, AgentConnectionError, Handshake> =>
  Effect.flatMap(Handshake, (handshake) => handshake.renegotiate(offer))
