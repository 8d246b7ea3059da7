/**
 * Explaining silent drops.
 *
 * A real agent that cannot decode a message (a variant newer than its protocol version, at any
 * depth) drops the connection without a word. The connection keeps the last messages it wrote;
 * when the socket ends without `DaemonMessage::Close`, `diagnose` checks them against the
 * negotiated version and names the one the agent could not have decoded, if any.
 *
 * @since 0.1.0
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Option from "effect/Option"

/**
 * A message the connection wrote to the socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface SentMessage {
  readonly message: ClientMessage
  /** Every enum variant the message uses, outermost first, e.g. `["ClientMessage::TcpSteal", "LayerTcpSteal::Data"]`. */
  readonly variants: ReadonlyArray<string>
}

/**
 * The message an agent of the negotiated version cannot decode.
 *
 * @since 0.1.0
 * @category models
 */
export interface Undecodable {
  readonly message: ClientMessage
  /** `Enum::Variant`, e.g. `"LayerTcpSteal::HttpResponseChunked"`. */
  readonly variant: string
  /** The protocol version that introduced the variant. */
  readonly since: string
}

/**
 * Why the agent may have dropped the connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Diagnosis {
  /** The last messages written, oldest first. */
  readonly lastSent: ReadonlyArray<SentMessage>
  /** The version the connection believed the agent speaks (negotiated or assumed). */
  readonly version: Option.Option<Version.SemVer>
  /**
   * True when the version is exactly what we offered: agents 1.3.0–1.5.5 echo the offer, so the
   * agent may be older than `version`.
   */
  readonly versionMayBeEcho: boolean
  /** The first message (oldest first) the agent could not decode: the agent stops at it. */
  readonly undecodable: Option.Option<Undecodable>
}

/**
 * The enum variants a message uses, outermost first (`Enum::Variant`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const sentMessage = (message: ClientMessage): SentMessage => ({
  message,
  variants: Codec.variantsOf("ClientMessage", message).map((v) => `${v.enumName}::${v.name}`)
})

/**
 * Checks the last messages sent against the version the agent speaks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const diagnose = (
  lastSent: ReadonlyArray<ClientMessage>,
  version: Option.Option<Version.SemVer>,
  versionMayBeEcho = false
): Diagnosis => {
  let undecodable: Option.Option<Undecodable> = Option.none()
  if (Option.isSome(version)) {
    const v = Version.format(version.value)
    for (const message of lastSent) {
      const found = Codec.firstUndecodableVariant("ClientMessage", message, v)
      if (found !== undefined) {
        undecodable = Option.some({ message, variant: `${found.enumName}::${found.name}`, since: found.since })
        break
      }
    }
  }
  return { lastSent: lastSent.map(sentMessage), version, versionMayBeEcho, undecodable }
}

/** How many of the last messages a one-line description names. */
const NAMED_IN_DETAIL = 4

/**
 * A compact name for a sent message: its variants without the root enum, e.g.
 * `TcpSteal > LayerTcpSteal::HttpResponseChunked > ChunkedResponse::Error`.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeMessage = (sent: SentMessage): string =>
  sent.variants.map((v, i) => (i === 0 ? v.replace(/^ClientMessage::/, "") : v)).join(" > ")

/**
 * A one-line explanation, e.g. "agent 1.7.0 closed the connection after
 * LayerTcpSteal::HttpResponseChunked, which it cannot decode (since 1.8.0); last messages sent: …".
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (diagnosis: Diagnosis): string => {
  const agent = Option.match(diagnosis.version, {
    onNone: () => "the agent (version not negotiated)",
    onSome: (v) => `agent ${Version.format(v)}`
  })
  const sent = diagnosis.lastSent
  const shown = sent.slice(-NAMED_IN_DETAIL).map(describeMessage)
  const list = sent.length === 0
    ? "nothing was sent"
    : `last messages sent: ${sent.length > NAMED_IN_DETAIL ? "…, " : ""}${shown.join(", ")}`
  if (Option.isSome(diagnosis.undecodable)) {
    const u = diagnosis.undecodable.value
    return `${agent} closed the connection after ${u.variant}, which it cannot decode (since ${u.since}); ${list}`
  }
  const decodable = Option.isSome(diagnosis.version) && sent.length > 0
    ? diagnosis.versionMayBeEcho
      ? " (all decodable at that version, but agents 1.3.0–1.5.5 echo the offered version, so the agent may be older)"
      : " (all decodable at that version)"
    : ""
  return `${agent} closed the connection without Close; ${list}${decodable}`
}
