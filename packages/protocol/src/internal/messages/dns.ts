/**
 * DNS: getaddrinfo (V1, V2) and reverse lookup.
 * @internal
 */
import { alias, enumOf, result, seq, struct, unit } from "../wire/codec.js"
import { ipAddr } from "../wire/net.js"
import { i32, string, u16 } from "../wire/primitives.js"
import { ResponseError } from "./errors.js"

export const GetAddrInfoRequest = struct("GetAddrInfoRequest", { node: string })

export const AddressFamily = enumOf("AddressFamily", {
  Ipv4Only: unit,
  Ipv6Only: unit,
  Both: unit,
  Any: unit,
  UnknownAddressFamilyFromNewerClient: unit
})

export const SockType = enumOf("SockType", {
  Stream: unit,
  Dgram: unit,
  Any: unit,
  UnknownSockTypeFromNewerClient: unit
})

export const GetAddrInfoRequestV2 = struct("GetAddrInfoRequestV2", {
  node: string,
  service_port: u16,
  family: AddressFamily,
  socktype: SockType,
  flags: i32,
  protocol: i32
})

export const LookupRecord = struct("LookupRecord", { name: string, ip: ipAddr })
export const DnsLookup = alias("DnsLookup", seq(LookupRecord))
export const GetAddrInfoResponse = alias("GetAddrInfoResponse", result(DnsLookup, ResponseError))
export const ReverseDnsLookupRequest = struct("ReverseDnsLookupRequest", { ip_address: ipAddr })
export const ReverseDnsLookupResponse = struct("ReverseDnsLookupResponse", {
  hostname: result(string, ResponseError)
})
