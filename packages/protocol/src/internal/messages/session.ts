/**
 * VPN, pause, share links, environment variables and logs.
 * @internal
 */
import { alias, enumOf, fields, map, newtype, set, struct, unit } from "../wire/codec.js"
import { ipAddr } from "../wire/net.js"
import { bool, payload, string } from "../wire/primitives.js"

export const ClientVpn = enumOf("ClientVpn", {
  GetNetworkConfiguration: unit,
  OpenSocket: unit,
  Packet: newtype(payload)
})

export const NetworkConfiguration = struct("NetworkConfiguration", { ip: ipAddr, net_mask: ipAddr, gateway: ipAddr })

export const ServerVpn = enumOf("ServerVpn", {
  NetworkConfiguration: newtype(NetworkConfiguration),
  Packet: newtype(payload)
})

export const DaemonPauseTarget = enumOf("DaemonPauseTarget", {
  PauseResponse: fields({ changed: bool, container_paused: bool })
})

export const ShareLinkRequest = enumOf("ShareLinkRequest", {
  RegisterKey: newtype(string),
  RemoveKey: newtype(string)
})

export const GetEnvVarsRequest = struct("GetEnvVarsRequest", {
  env_vars_filter: set(string),
  env_vars_select: set(string)
})

export const RemoteEnvVars = alias("RemoteEnvVars", map(string, string))

export const LogLevel = enumOf("LogLevel", { Warn: unit, Error: unit, Info: unit })

export const LogMessage = struct("LogMessage", { message: string, level: LogLevel })
