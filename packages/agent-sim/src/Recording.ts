/**
 * What the simulator saw and did: every message in both directions (timestamped, with its
 * variant path), and notable events (negotiation, drops, ignored responses, pass-throughs).
 *
 * @since 0.1.0
 */
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import type { DecodeError } from "@mirrord-effect/protocol/ProtocolError"

/**
 * One enum variant of a message, outermost first (`Codec.variantsOf`).
 *
 * @since 0.1.0
 * @category models
 */
export interface VariantStep {
  readonly enumName: string
  readonly index: number
  readonly name: string
}

/**
 * Why the simulator dropped a client connection: the decode failure of the client's bytes.
 * For an unknown variant, `enumName`/`index`/`variantName`/`since` say which one.
 *
 * @since 0.1.0
 * @category models
 */
export interface DropReason {
  readonly reason: DecodeError["reason"]
  /** enum path from the root message to the enum that failed, e.g. `["ClientMessage::TcpSteal", "LayerTcpSteal"]` */
  readonly path: ReadonlyArray<string>
  /** the enum whose tag was not decodable, e.g. `LayerTcpSteal` */
  readonly enumName: string | undefined
  /** the undecodable tag, e.g. 6 */
  readonly index: number | undefined
  /** its name in the newest protocol, e.g. `HttpResponseChunked` */
  readonly variantName: string | undefined
  /** the version that introduced it */
  readonly since: string | undefined
  /** byte offset in the client's stream */
  readonly offset: number
  readonly detail: string
}

/**
 * A recorded message. `variant` is the short path of the message (`TcpSteal/HttpRequestChunked/StartV2`),
 * `variants` every enum variant it uses at any depth.
 *
 * @since 0.1.0
 * @category models
 */
export type Recorded =
  | {
    readonly _tag: "Sent"
    readonly clientId: number
    readonly at: number
    readonly variant: string
    readonly variants: ReadonlyArray<VariantStep>
    readonly message: DaemonMessage
  }
  | {
    readonly _tag: "Received"
    readonly clientId: number
    readonly at: number
    readonly variant: string
    readonly variants: ReadonlyArray<VariantStep>
    readonly message: ClientMessage
  }
  | {
    readonly _tag: "Undecodable"
    readonly clientId: number
    readonly at: number
    readonly drop: DropReason
  }

/**
 * Notable things the simulator did, besides sending and receiving.
 *
 * @since 0.1.0
 * @category models
 */
export type SimEvent =
  | { readonly _tag: "ClientConnected"; readonly clientId: number; readonly remote: string; readonly at: number }
  | { readonly _tag: "ClientDisconnected"; readonly clientId: number; readonly at: number }
  | { readonly _tag: "ClientDropped"; readonly clientId: number; readonly drop: DropReason; readonly at: number }
  | {
    readonly _tag: "Negotiated"
    readonly clientId: number
    readonly clientVersion: string
    readonly answered: string
    readonly at: number
  }
  | {
    readonly _tag: "Ignored"
    readonly clientId: number
    readonly connectionId: bigint
    readonly requestId: number
    readonly variant: string
    readonly why: string
    readonly at: number
  }
  | { readonly _tag: "PassedThrough"; readonly clientId: number; readonly port: number; readonly why: string; readonly at: number }
  | { readonly _tag: "NotMirrored"; readonly clientId: number; readonly port: number; readonly why: string; readonly at: number }
  | { readonly _tag: "Suppressed"; readonly clientId: number; readonly variant: string; readonly why: string; readonly at: number }
  | { readonly _tag: "Unhandled"; readonly clientId: number; readonly variant: string; readonly at: number }

const SHORT_PATH_ENUMS = new Set(["ChunkedRequest", "ChunkedResponse", "StealType"])

/**
 * The short variant path of a message: the root variant, the next one, and a third for
 * chunked requests/responses and steal types (`TcpSteal/HttpResponseChunked/Start`).
 *
 * @since 0.1.0
 * @category utils
 */
export const shortPath = (variants: ReadonlyArray<VariantStep>): string => {
  const parts: Array<string> = []
  for (let i = 0; i < variants.length && i < 3; i++) {
    const step = variants[i]!
    if (i === 2 && !SHORT_PATH_ENUMS.has(step.enumName)) break
    parts.push(step.name)
  }
  return parts.join("/")
}

const forClient = (recording: ReadonlyArray<Recorded>, clientId: number | undefined) =>
  clientId === undefined ? recording : recording.filter((r) => r.clientId === clientId)

/**
 * Short paths of the messages the simulator sent (optionally to one client), in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const sentVariants = (recording: ReadonlyArray<Recorded>, clientId?: number): ReadonlyArray<string> =>
  forClient(recording, clientId).flatMap((r) => (r._tag === "Sent" ? [r.variant] : []))

/**
 * Short paths of the messages the simulator received (optionally from one client), in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const receivedVariants = (recording: ReadonlyArray<Recorded>, clientId?: number): ReadonlyArray<string> =>
  forClient(recording, clientId).flatMap((r) => (r._tag === "Received" ? [r.variant] : []))

/**
 * The decode failures that made the simulator drop client connections.
 *
 * @since 0.1.0
 * @category utils
 */
export const undecodable = (recording: ReadonlyArray<Recorded>, clientId?: number): ReadonlyArray<DropReason> =>
  forClient(recording, clientId).flatMap((r) => (r._tag === "Undecodable" ? [r.drop] : []))

/**
 * Messages sent (optionally to one client), in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const sentMessages = (recording: ReadonlyArray<Recorded>, clientId?: number): ReadonlyArray<DaemonMessage> =>
  forClient(recording, clientId).flatMap((r) => (r._tag === "Sent" ? [r.message] : []))

/**
 * Messages received (optionally from one client), in order.
 *
 * @since 0.1.0
 * @category utils
 */
export const receivedMessages = (recording: ReadonlyArray<Recorded>, clientId?: number): ReadonlyArray<ClientMessage> =>
  forClient(recording, clientId).flatMap((r) => (r._tag === "Received" ? [r.message] : []))
