/**
 * The two top-level messages of mirrord-protocol 1.29.0 and every type reachable from them, as
 * TypeScript types and `effect/Schema`s.
 *
 * Representation: enums are tagged unions whose `_tag` is the Rust variant name; a newtype
 * variant carries `value`, a tuple variant `values`, a struct variant its fields (Rust names).
 * u8/u16/u32/i32 are numbers, u64/i64/u128/usize are bigints, byte buffers are `Uint8Array`,
 * `Option<T>` is `T | null`, IP and socket addresses are their canonical text.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import { dns, errors, files, outgoing, root, session, tcp } from "./internal/messages/index.js"
import type { TypeOf } from "./internal/wire/codec.js"

/** @since 0.1.0 @category models */
export type ClientMessage = TypeOf<typeof root.ClientMessage>
/** @since 0.1.0 @category models */
export type DaemonMessage = TypeOf<typeof root.DaemonMessage>
/** @since 0.1.0 @category schemas */
export const ClientMessage: Schema.Schema<ClientMessage> = root.ClientMessage.schema
/** @since 0.1.0 @category schemas */
export const DaemonMessage: Schema.Schema<DaemonMessage> = root.DaemonMessage.schema

/** @since 0.1.0 @category models */
export type ResponseError = TypeOf<typeof errors.ResponseError>
/** @since 0.1.0 @category schemas */
export const ResponseError: Schema.Schema<ResponseError> = errors.ResponseError.schema
/** @since 0.1.0 @category models */
export type FileRequest = TypeOf<typeof files.FileRequest>
/** @since 0.1.0 @category models */
export type FileResponse = TypeOf<typeof files.FileResponse>
/** @since 0.1.0 @category models */
export type GetAddrInfoRequestV2 = TypeOf<typeof dns.GetAddrInfoRequestV2>
/** @since 0.1.0 @category models */
export type LayerTcpOutgoing = TypeOf<typeof outgoing.LayerTcpOutgoing>
/** @since 0.1.0 @category models */
export type DaemonTcpOutgoing = TypeOf<typeof outgoing.DaemonTcpOutgoing>
/** @since 0.1.0 @category models */
export type LogMessage = TypeOf<typeof session.LogMessage>
/** @since 0.1.0 @category models */
export type LayerTcp = TypeOf<typeof tcp.LayerTcp>
/** @since 0.1.0 @category models */
export type LayerTcpSteal = TypeOf<typeof tcp.LayerTcpSteal>
/** @since 0.1.0 @category models */
export type DaemonTcp = TypeOf<typeof tcp.DaemonTcp>

/**
 * The root enums by name (what `decoderFor` and the canonical JSON take).
 * @since 0.1.0
 * @category models
 */
export type Root = "ClientMessage" | "DaemonMessage"

/** @since 0.1.0 @category models */
export type MessageOf<R extends Root> = R extends "ClientMessage" ? ClientMessage : DaemonMessage
