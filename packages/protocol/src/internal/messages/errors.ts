/**
 * `ResponseError` and everything nested in it; DNS records.
 * @internal
 */
import { enumOf, fields, lazy, newtype, option, struct, tuple, unit } from "../wire/codec.js"
import type { Codec } from "../wire/codec.js"
import { bool, i32, string, u16, u32, u64 } from "../wire/primitives.js"
import * as outgoing from "./outgoing.js"
import * as tcp from "./tcp.js"

// tcp.ts and outgoing.ts refer back to this module: resolve their types lazily
const StealType = lazy("StealType", () => tcp.StealType as Codec<any>)
const Filter = lazy("Filter", () => tcp.Filter)
const HttpFilter = lazy("HttpFilter", () => tcp.HttpFilter)
const SocketAddress = lazy("SocketAddress", () => outgoing.SocketAddress as Codec<any>)

export const BlockedAction = enumOf("BlockedAction", {
  Steal: newtype(StealType),
  Mirror: newtype(u16),
  OutgoingTcp: newtype(SocketAddress),
  OutgoingUdp: newtype(SocketAddress)
})

export const RemoteError = enumOf("RemoteError", {
  NameserverNotFound: unit,
  AddressParsing: newtype(string),
  InvalidAddress: newtype(SocketAddress),
  ConnectTimedOut: newtype(SocketAddress),
  BadHttpFilterRegex: tuple(Filter, string),
  BadHttpFilterExRegex: tuple(HttpFilter, string)
})

export const ErrorKindInternal = enumOf("ErrorKindInternal", {
  NotFound: unit,
  PermissionDenied: unit,
  ConnectionRefused: unit,
  ConnectionReset: unit,
  HostUnreachable: unit,
  NetworkUnreachable: unit,
  ConnectionAborted: unit,
  NotConnected: unit,
  AddrInUse: unit,
  AddrNotAvailable: unit,
  NetworkDown: unit,
  BrokenPipe: unit,
  AlreadyExists: unit,
  WouldBlock: unit,
  NotADirectory: unit,
  IsADirectory: unit,
  DirectoryNotEmpty: unit,
  ReadOnlyFilesystem: unit,
  FilesystemLoop: unit,
  StaleNetworkFileHandle: unit,
  InvalidInput: unit,
  InvalidData: unit,
  TimedOut: unit,
  WriteZero: unit,
  StorageFull: unit,
  NotSeekable: unit,
  FilesystemQuotaExceeded: unit,
  FileTooLarge: unit,
  ResourceBusy: unit,
  ExecutableFileBusy: unit,
  Deadlock: unit,
  CrossesDevices: unit,
  TooManyLinks: unit,
  InvalidFilename: unit,
  ArgumentListTooLong: unit,
  Interrupted: unit,
  Unsupported: unit,
  UnexpectedEof: unit,
  OutOfMemory: unit,
  Other: unit,
  Unknown: newtype(string)
})

export const RemoteIOError = struct("RemoteIOError", { raw_os_error: option(i32), kind: ErrorKindInternal })

export const ResolveErrorKindInternal = enumOf("ResolveErrorKindInternal", {
  Message: newtype(string),
  NoConnections: unit,
  NoRecordsFound: newtype(u16),
  Proto: unit,
  Timeout: unit,
  Unknown: unit,
  NotFound: unit,
  PermissionDenied: unit
})

export const DnsLookupError = struct("DnsLookupError", { kind: ResolveErrorKindInternal })

export const ResponseError = enumOf("ResponseError", {
  IdsExhausted: newtype(string),
  NotFound: newtype(u64),
  NotDirectory: newtype(u64),
  NotFile: newtype(u64),
  RemoteIO: newtype(RemoteIOError),
  DnsLookup: newtype(DnsLookupError),
  Remote: newtype(RemoteError),
  PortAlreadyStolen: newtype(u16),
  NotImplemented: unit,
  Forbidden: fields({ blocked_action: BlockedAction, policy_name: option(string) }),
  StripPrefix: newtype(string),
  OpenLocal: unit,
  ForbiddenWithReason: fields({ blocked_action: BlockedAction, policy_name: option(string), reason: string }),
  SystemFailure: fields({ can_retry: bool, code: u32, message: string })
})


