/**
 * The remaining message payload types — errors (`ResponseError` and what it nests), DNS,
 * outgoing traffic, and session messages (VPN, pause, share links, environment, logs) — as
 * TypeScript types and `effect/Schema`s. Incoming traffic is in `Tcp`, files in `Files`.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import { dns, errors, outgoing, session } from "./internal/messages/index.js"
import type { TypeOf } from "./internal/wire/codec.js"

// errors

/** @since 0.1.0 @category models */
export type ResponseError = TypeOf<typeof errors.ResponseError>
/** @since 0.1.0 @category schemas */
export const ResponseError: Schema.Schema<ResponseError> = errors.ResponseError.schema
/** @since 0.1.0 @category models */
export type BlockedAction = TypeOf<typeof errors.BlockedAction>
/** @since 0.1.0 @category schemas */
export const BlockedAction: Schema.Schema<BlockedAction> = errors.BlockedAction.schema
/** @since 0.1.0 @category models */
export type RemoteError = TypeOf<typeof errors.RemoteError>
/** @since 0.1.0 @category schemas */
export const RemoteError: Schema.Schema<RemoteError> = errors.RemoteError.schema
/** @since 0.1.0 @category models */
export type RemoteIOError = TypeOf<typeof errors.RemoteIOError>
/** @since 0.1.0 @category schemas */
export const RemoteIOError: Schema.Schema<RemoteIOError> = errors.RemoteIOError.schema
/** @since 0.1.0 @category models */
export type ErrorKindInternal = TypeOf<typeof errors.ErrorKindInternal>
/** @since 0.1.0 @category schemas */
export const ErrorKindInternal: Schema.Schema<ErrorKindInternal> = errors.ErrorKindInternal.schema
/** @since 0.1.0 @category models */
export type DnsLookupError = TypeOf<typeof errors.DnsLookupError>
/** @since 0.1.0 @category schemas */
export const DnsLookupError: Schema.Schema<DnsLookupError> = errors.DnsLookupError.schema
/** @since 0.1.0 @category models */
export type ResolveErrorKindInternal = TypeOf<typeof errors.ResolveErrorKindInternal>
/** @since 0.1.0 @category schemas */
export const ResolveErrorKindInternal: Schema.Schema<ResolveErrorKindInternal> = errors.ResolveErrorKindInternal.schema
// dns

/** @since 0.1.0 @category models */
export type GetAddrInfoRequest = TypeOf<typeof dns.GetAddrInfoRequest>
/** @since 0.1.0 @category schemas */
export const GetAddrInfoRequest: Schema.Schema<GetAddrInfoRequest> = dns.GetAddrInfoRequest.schema
/** @since 0.1.0 @category models */
export type GetAddrInfoRequestV2 = TypeOf<typeof dns.GetAddrInfoRequestV2>
/** @since 0.1.0 @category schemas */
export const GetAddrInfoRequestV2: Schema.Schema<GetAddrInfoRequestV2> = dns.GetAddrInfoRequestV2.schema
/** @since 0.1.0 @category models */
export type AddressFamily = TypeOf<typeof dns.AddressFamily>
/** @since 0.1.0 @category schemas */
export const AddressFamily: Schema.Schema<AddressFamily> = dns.AddressFamily.schema
/** @since 0.1.0 @category models */
export type SockType = TypeOf<typeof dns.SockType>
/** @since 0.1.0 @category schemas */
export const SockType: Schema.Schema<SockType> = dns.SockType.schema
/** @since 0.1.0 @category models */
export type LookupRecord = TypeOf<typeof dns.LookupRecord>
/** @since 0.1.0 @category schemas */
export const LookupRecord: Schema.Schema<LookupRecord> = dns.LookupRecord.schema
/** @since 0.1.0 @category models */
export type DnsLookup = TypeOf<typeof dns.DnsLookup>
/** @since 0.1.0 @category schemas */
export const DnsLookup: Schema.Schema<DnsLookup> = dns.DnsLookup.schema
/** @since 0.1.0 @category models */
export type GetAddrInfoResponse = TypeOf<typeof dns.GetAddrInfoResponse>
/** @since 0.1.0 @category schemas */
export const GetAddrInfoResponse: Schema.Schema<GetAddrInfoResponse> = dns.GetAddrInfoResponse.schema
/** @since 0.1.0 @category models */
export type ReverseDnsLookupRequest = TypeOf<typeof dns.ReverseDnsLookupRequest>
/** @since 0.1.0 @category schemas */
export const ReverseDnsLookupRequest: Schema.Schema<ReverseDnsLookupRequest> = dns.ReverseDnsLookupRequest.schema
/** @since 0.1.0 @category models */
export type ReverseDnsLookupResponse = TypeOf<typeof dns.ReverseDnsLookupResponse>
/** @since 0.1.0 @category schemas */
export const ReverseDnsLookupResponse: Schema.Schema<ReverseDnsLookupResponse> = dns.ReverseDnsLookupResponse.schema
// outgoing

/** @since 0.1.0 @category models */
export type UnixAddr = TypeOf<typeof outgoing.UnixAddr>
/** @since 0.1.0 @category schemas */
export const UnixAddr: Schema.Schema<UnixAddr> = outgoing.UnixAddr.schema
/** @since 0.1.0 @category models */
export type SocketAddress = TypeOf<typeof outgoing.SocketAddress>
/** @since 0.1.0 @category schemas */
export const SocketAddress: Schema.Schema<SocketAddress> = outgoing.SocketAddress.schema
/** @since 0.1.0 @category models */
export type LayerConnect = TypeOf<typeof outgoing.LayerConnect>
/** @since 0.1.0 @category schemas */
export const LayerConnect: Schema.Schema<LayerConnect> = outgoing.LayerConnect.schema
/** @since 0.1.0 @category models */
export type LayerConnectV2 = TypeOf<typeof outgoing.LayerConnectV2>
/** @since 0.1.0 @category schemas */
export const LayerConnectV2: Schema.Schema<LayerConnectV2> = outgoing.LayerConnectV2.schema
/** @since 0.1.0 @category models */
export type LayerWrite = TypeOf<typeof outgoing.LayerWrite>
/** @since 0.1.0 @category schemas */
export const LayerWrite: Schema.Schema<LayerWrite> = outgoing.LayerWrite.schema
/** @since 0.1.0 @category models */
export type LayerClose = TypeOf<typeof outgoing.LayerClose>
/** @since 0.1.0 @category schemas */
export const LayerClose: Schema.Schema<LayerClose> = outgoing.LayerClose.schema
/** @since 0.1.0 @category models */
export type DaemonConnect = TypeOf<typeof outgoing.DaemonConnect>
/** @since 0.1.0 @category schemas */
export const DaemonConnect: Schema.Schema<DaemonConnect> = outgoing.DaemonConnect.schema
/** @since 0.1.0 @category models */
export type DaemonConnectV2 = TypeOf<typeof outgoing.DaemonConnectV2>
/** @since 0.1.0 @category schemas */
export const DaemonConnectV2: Schema.Schema<DaemonConnectV2> = outgoing.DaemonConnectV2.schema
/** @since 0.1.0 @category models */
export type DaemonRead = TypeOf<typeof outgoing.DaemonRead>
/** @since 0.1.0 @category schemas */
export const DaemonRead: Schema.Schema<DaemonRead> = outgoing.DaemonRead.schema
/** @since 0.1.0 @category models */
export type LayerTcpOutgoing = TypeOf<typeof outgoing.LayerTcpOutgoing>
/** @since 0.1.0 @category schemas */
export const LayerTcpOutgoing: Schema.Schema<LayerTcpOutgoing> = outgoing.LayerTcpOutgoing.schema
/** @since 0.1.0 @category models */
export type DaemonTcpOutgoing = TypeOf<typeof outgoing.DaemonTcpOutgoing>
/** @since 0.1.0 @category schemas */
export const DaemonTcpOutgoing: Schema.Schema<DaemonTcpOutgoing> = outgoing.DaemonTcpOutgoing.schema
/** @since 0.1.0 @category models */
export type LayerUdpOutgoing = TypeOf<typeof outgoing.LayerUdpOutgoing>
/** @since 0.1.0 @category schemas */
export const LayerUdpOutgoing: Schema.Schema<LayerUdpOutgoing> = outgoing.LayerUdpOutgoing.schema
/** @since 0.1.0 @category models */
export type DaemonUdpOutgoing = TypeOf<typeof outgoing.DaemonUdpOutgoing>
/** @since 0.1.0 @category schemas */
export const DaemonUdpOutgoing: Schema.Schema<DaemonUdpOutgoing> = outgoing.DaemonUdpOutgoing.schema
/** @since 0.1.0 @category models */
export type LayerSeqpacket = TypeOf<typeof outgoing.LayerSeqpacket>
/** @since 0.1.0 @category schemas */
export const LayerSeqpacket: Schema.Schema<LayerSeqpacket> = outgoing.LayerSeqpacket.schema
/** @since 0.1.0 @category models */
export type DaemonSeqpacket = TypeOf<typeof outgoing.DaemonSeqpacket>
/** @since 0.1.0 @category schemas */
export const DaemonSeqpacket: Schema.Schema<DaemonSeqpacket> = outgoing.DaemonSeqpacket.schema
// session

/** @since 0.1.0 @category models */
export type ClientVpn = TypeOf<typeof session.ClientVpn>
/** @since 0.1.0 @category schemas */
export const ClientVpn: Schema.Schema<ClientVpn> = session.ClientVpn.schema
/** @since 0.1.0 @category models */
export type NetworkConfiguration = TypeOf<typeof session.NetworkConfiguration>
/** @since 0.1.0 @category schemas */
export const NetworkConfiguration: Schema.Schema<NetworkConfiguration> = session.NetworkConfiguration.schema
/** @since 0.1.0 @category models */
export type ServerVpn = TypeOf<typeof session.ServerVpn>
/** @since 0.1.0 @category schemas */
export const ServerVpn: Schema.Schema<ServerVpn> = session.ServerVpn.schema
/** @since 0.1.0 @category models */
export type DaemonPauseTarget = TypeOf<typeof session.DaemonPauseTarget>
/** @since 0.1.0 @category schemas */
export const DaemonPauseTarget: Schema.Schema<DaemonPauseTarget> = session.DaemonPauseTarget.schema
/** @since 0.1.0 @category models */
export type ShareLinkRequest = TypeOf<typeof session.ShareLinkRequest>
/** @since 0.1.0 @category schemas */
export const ShareLinkRequest: Schema.Schema<ShareLinkRequest> = session.ShareLinkRequest.schema
/** @since 0.1.0 @category models */
export type GetEnvVarsRequest = TypeOf<typeof session.GetEnvVarsRequest>
/** @since 0.1.0 @category schemas */
export const GetEnvVarsRequest: Schema.Schema<GetEnvVarsRequest> = session.GetEnvVarsRequest.schema
/** @since 0.1.0 @category models */
export type RemoteEnvVars = TypeOf<typeof session.RemoteEnvVars>
/** @since 0.1.0 @category schemas */
export const RemoteEnvVars: Schema.Schema<RemoteEnvVars> = session.RemoteEnvVars.schema
/** @since 0.1.0 @category models */
export type LogLevel = TypeOf<typeof session.LogLevel>
/** @since 0.1.0 @category schemas */
export const LogLevel: Schema.Schema<LogLevel> = session.LogLevel.schema
/** @since 0.1.0 @category models */
export type LogMessage = TypeOf<typeof session.LogMessage>
/** @since 0.1.0 @category schemas */
export const LogMessage: Schema.Schema<LogMessage> = session.LogMessage.schema
