/**
 * Outgoing traffic (TCP, UDP, unix SOCK_SEQPACKET) and socket addresses.
 * @internal
 */
import { enumOf, lazy, newtype, result, struct, unit } from "../wire/codec.js"
import { socketAddr } from "../wire/net.js"
import { bytes, path, payload, u128, u64 } from "../wire/primitives.js"
import * as errors from "./errors.js"

// errors.ts refers back to this module: resolve ResponseError lazily to keep the import cycle safe
const ResponseError = lazy("ResponseError", () => errors.ResponseError)

export const UnixAddr = enumOf("UnixAddr", {
  Pathname: newtype(path),
  Abstract: newtype(bytes),
  Unnamed: unit
})

export const SocketAddress = enumOf("SocketAddress", {
  Ip: newtype(socketAddr),
  Unix: newtype(UnixAddr)
})

/** A UUID carried as the big-endian u128 of its bytes. */
export const Uid = u128

export const LayerConnect = struct("LayerConnect", { remote_address: SocketAddress })
export const LayerConnectV2 = struct("LayerConnectV2", { uid: Uid, remote_address: SocketAddress })
export const LayerWrite = struct("LayerWrite", { connection_id: u64, bytes: payload })
export const LayerClose = struct("LayerClose", { connection_id: u64 })
export const DaemonConnect = struct("DaemonConnect", {
  connection_id: u64,
  remote_address: SocketAddress,
  local_address: SocketAddress
})
export const DaemonConnectV2 = struct("DaemonConnectV2", { uid: Uid, connect: result(DaemonConnect, ResponseError) })
export const DaemonRead = struct("DaemonRead", { connection_id: u64, bytes: payload })

const layerOutgoing = (name: string) =>
  enumOf(name, {
    Connect: newtype(LayerConnect),
    Write: newtype(LayerWrite),
    Close: newtype(LayerClose),
    ConnectV2: newtype(LayerConnectV2)
  })

const daemonOutgoing = (name: string) =>
  enumOf(name, {
    Connect: newtype(result(DaemonConnect, ResponseError)),
    Read: newtype(result(DaemonRead, ResponseError)),
    Close: newtype(u64),
    ConnectV2: newtype(DaemonConnectV2)
  })

export const LayerTcpOutgoing = layerOutgoing("LayerTcpOutgoing")
export const DaemonTcpOutgoing = daemonOutgoing("DaemonTcpOutgoing")
export const LayerUdpOutgoing = layerOutgoing("LayerUdpOutgoing")
export const DaemonUdpOutgoing = daemonOutgoing("DaemonUdpOutgoing")

export const LayerSeqpacket = enumOf("LayerSeqpacket", {
  Write: newtype(LayerWrite),
  Close: newtype(LayerClose),
  ConnectV2: newtype(LayerConnectV2)
})

export const DaemonSeqpacket = enumOf("DaemonSeqpacket", {
  Read: newtype(result(DaemonRead, ResponseError)),
  Close: newtype(u64),
  ConnectV2: newtype(DaemonConnectV2)
})
