/**
 * The two top-level messages: `ClientMessage` (client → agent) and `DaemonMessage` (agent → client).
 * @internal
 */
import { enumOf, newtype, result, unit } from "../wire/codec.js"
import { bool, string, u128 } from "../wire/primitives.js"
import { semver } from "../wire/semver.js"
import * as dns from "./dns.js"
import { ResponseError } from "./errors.js"
import { FileRequest, FileResponse } from "./files.js"
import * as outgoing from "./outgoing.js"
import * as session from "./session.js"
import * as tcp from "./tcp.js"

export const ClientMessage = enumOf("ClientMessage", {
  Close: unit,
  Tcp: newtype(tcp.LayerTcp),
  TcpSteal: newtype(tcp.LayerTcpSteal),
  TcpOutgoing: newtype(outgoing.LayerTcpOutgoing),
  UdpOutgoing: newtype(outgoing.LayerUdpOutgoing),
  FileRequest: newtype(FileRequest),
  GetEnvVarsRequest: newtype(session.GetEnvVarsRequest),
  Ping: unit,
  GetAddrInfoRequest: newtype(dns.GetAddrInfoRequest),
  PauseTargetRequest: newtype(bool),
  SwitchProtocolVersion: newtype(semver),
  ReadyForLogs: unit,
  Vpn: newtype(session.ClientVpn),
  GetAddrInfoRequestV2: newtype(dns.GetAddrInfoRequestV2),
  OperatorPong: newtype(u128),
  ReverseDnsLookup: newtype(dns.ReverseDnsLookupRequest),
  SeqpacketOutgoing: newtype(outgoing.LayerSeqpacket),
  ShareLink: newtype(session.ShareLinkRequest)
})

export const DaemonMessage = enumOf("DaemonMessage", {
  Close: newtype(string),
  Tcp: newtype(tcp.DaemonTcp),
  TcpSteal: newtype(tcp.DaemonTcp),
  TcpOutgoing: newtype(outgoing.DaemonTcpOutgoing),
  UdpOutgoing: newtype(outgoing.DaemonUdpOutgoing),
  LogMessage: newtype(session.LogMessage),
  File: newtype(FileResponse),
  Pong: unit,
  GetEnvVarsResponse: newtype(result(session.RemoteEnvVars, ResponseError)),
  GetAddrInfoResponse: newtype(dns.GetAddrInfoResponse),
  PauseTarget: newtype(session.DaemonPauseTarget),
  SwitchProtocolVersionResponse: newtype(semver),
  Vpn: newtype(session.ServerVpn),
  OperatorPing: newtype(u128),
  ReverseDnsLookup: newtype(result(dns.ReverseDnsLookupResponse, ResponseError)),
  SeqpacketOutgoing: newtype(outgoing.DaemonSeqpacket)
})
