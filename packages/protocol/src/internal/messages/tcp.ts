/**
 * Incoming traffic: mirror (`LayerTcp`), steal (`LayerTcpSteal`), agent side (`DaemonTcp`), the
 * HTTP request/response structures and HTTP filters.
 * @internal
 */
import { alias, enumOf, fields, lazy, newtype, option, result, seq, struct, tuple, unit } from "../wire/codec.js"
import type { Codec, TypeOf } from "../wire/codec.js"
import { headerMap, httpVersion, method, statusCode, uri } from "../wire/http.js"
import { ipAddr, socketAddr } from "../wire/net.js"
import { bool, bytes, payload, string, u16, u64 } from "../wire/primitives.js"
import * as errors from "./errors.js"
import { iterativeHttpFilterEncoding, iterativeHttpFilterReader } from "./httpFilterWalk.js"

// errors.ts refers back to this module: resolve ResponseError lazily to keep the import cycle safe
const ResponseError = lazy("ResponseError", () => errors.ResponseError)

export const Port = u16
export const ConnectionId = u64
export const RequestId = u16

// ---------------------------------------------------------------------------------------------
// filters

export const Filter = alias("Filter", string)
export const JsonPathQuery = alias("JsonPathQuery", string)
export const JqQuery = alias("JqQuery", string)

export const HttpMethodFilter = enumOf("HttpMethodFilter", {
  Get: unit,
  Head: unit,
  Post: unit,
  Put: unit,
  Delete: unit,
  Connect: unit,
  Options: unit,
  Trace: unit,
  Patch: unit,
  Other: newtype(string)
})

export const HttpBodyFilter = enumOf("HttpBodyFilter", {
  Json: fields({ query: JsonPathQuery, matches: Filter })
})

export type HttpFilter =
  | { readonly _tag: "Header"; readonly value: string }
  | { readonly _tag: "Path"; readonly value: string }
  | { readonly _tag: "Composite"; readonly all: boolean; readonly filters: ReadonlyArray<HttpFilter> }
  | { readonly _tag: "Method"; readonly value: TypeOf<typeof HttpMethodFilter> }
  | { readonly _tag: "Body"; readonly value: TypeOf<typeof HttpBodyFilter> }
  | { readonly _tag: "HeaderJq"; readonly value: string }

export const HttpFilter: Codec<HttpFilter> & { readonly def: import("../wire/codec.js").EnumDef } = enumOf(
  "HttpFilter",
  {
    Header: newtype(Filter),
    Path: newtype(Filter),
    // the protocol's only recursive type: the operations below replace the enum's, with no recursion
    Composite: fields({ all: bool, filters: seq(lazy("HttpFilter", (): Codec<HttpFilter> => HttpFilter)) }),
    Method: newtype(HttpMethodFilter),
    Body: newtype(HttpBodyFilter),
    HeaderJq: newtype(JqQuery)
  }
)
// decoded, sized, encoded, visited and converted without recursion (outside input sets the depth)
{
  const compositeIndex = HttpFilter.def.variantNames.indexOf("Composite")
  const mutable = HttpFilter as { -readonly [K in keyof Codec<HttpFilter>]: Codec<HttpFilter>[K] }
  const enumCodec = {
    size: HttpFilter.size,
    write: HttpFilter.write,
    visitTags: HttpFilter.visitTags,
    toCanon: HttpFilter.toCanon,
    fromCanon: HttpFilter.fromCanon
  }
  mutable.read = iterativeHttpFilterReader(HttpFilter.def.id, compositeIndex, HttpFilter.read)
  Object.assign(mutable, iterativeHttpFilterEncoding(HttpFilter.def, compositeIndex, enumCodec))
}

export const StealType = enumOf("StealType", {
  All: newtype(Port),
  FilteredHttp: tuple(Port, Filter),
  FilteredHttpEx: tuple(Port, HttpFilter)
})

// ---------------------------------------------------------------------------------------------
// HTTP

export const InternalHttpBodyFrame = enumOf("InternalHttpBodyFrame", {
  Data: newtype(payload),
  Trailers: newtype(headerMap)
})

/** `InternalHttpBody` and `Seq<InternalHttpBodyFrame>` are byte-identical. */
export const Frames = seq(InternalHttpBodyFrame)
export const InternalHttpBody = alias("InternalHttpBody", Frames)

export const InternalHttpBodyNew = struct("InternalHttpBodyNew", { frames: Frames, is_last: bool })

const internalRequest = <B>(name: string, body: Codec<B>) =>
  struct(name, { method, uri, headers: headerMap, version: httpVersion, body })

const internalResponse = <B>(name: string, body: Codec<B>) =>
  struct(name, { status: statusCode, version: httpVersion, headers: headerMap, body })

const httpRequest = <B>(name: string, body: Codec<B>) =>
  struct(name, {
    internal_request: internalRequest(`InternalHttpRequest<${body.typeName}>`, body),
    connection_id: ConnectionId,
    request_id: RequestId,
    port: Port
  })

const httpResponse = <B>(name: string, body: Codec<B>) =>
  struct(name, {
    port: Port,
    connection_id: ConnectionId,
    request_id: RequestId,
    internal_response: internalResponse(`InternalHttpResponse<${body.typeName}>`, body)
  })

export const HttpRequestPayload = httpRequest("HttpRequest<Payload>", payload)
export const HttpRequestFramed = httpRequest("HttpRequest<InternalHttpBody>", InternalHttpBody)
export const ChunkedRequestStartV1 = httpRequest("ChunkedRequestStartV1", Frames)

export const HttpResponsePayload = httpResponse("HttpResponse<Payload>", payload)
export const HttpResponseFramed = httpResponse("HttpResponse<InternalHttpBody>", InternalHttpBody)
export const HttpResponseFrames = httpResponse("HttpResponse<Vec<InternalHttpBodyFrame>>", Frames)

export const IncomingTrafficTransportType = enumOf("IncomingTrafficTransportType", {
  Tcp: unit,
  Tls: fields({ alpn_protocol: option(bytes), server_name: option(string) })
})

export const HttpRequestMetadata = enumOf("HttpRequestMetadata", {
  V1: fields({ source: socketAddr, destination: socketAddr })
})

export const ChunkedRequestStartV2 = struct("ChunkedRequestStartV2", {
  connection_id: ConnectionId,
  request_id: RequestId,
  request: internalRequest("InternalHttpRequest<InternalHttpBodyNew>", InternalHttpBodyNew),
  metadata: HttpRequestMetadata,
  transport: IncomingTrafficTransportType
})

export const ChunkedRequestBodyV1 = struct("ChunkedRequestBodyV1", {
  frames: Frames,
  is_last: bool,
  connection_id: ConnectionId,
  request_id: RequestId
})

export const ChunkedRequestErrorV1 = struct("ChunkedRequestErrorV1", {
  connection_id: ConnectionId,
  request_id: RequestId
})

export const ChunkedRequestErrorV2 = struct("ChunkedRequestErrorV2", {
  connection_id: ConnectionId,
  request_id: RequestId,
  error_message: string
})

export const ChunkedRequest = enumOf("ChunkedRequest", {
  StartV1: newtype(ChunkedRequestStartV1),
  Body: newtype(ChunkedRequestBodyV1),
  ErrorV1: newtype(ChunkedRequestErrorV1),
  StartV2: newtype(ChunkedRequestStartV2),
  ErrorV2: newtype(ChunkedRequestErrorV2)
})

export const ChunkedResponse = enumOf("ChunkedResponse", {
  Start: newtype(HttpResponseFrames),
  Body: newtype(ChunkedRequestBodyV1),
  Error: newtype(ChunkedRequestErrorV1)
})

// ---------------------------------------------------------------------------------------------
// connections

export const NewTcpConnectionV1 = struct("NewTcpConnectionV1", {
  connection_id: ConnectionId,
  remote_address: ipAddr,
  destination_port: Port,
  source_port: Port,
  local_address: ipAddr
})

export const NewTcpConnectionV2 = struct("NewTcpConnectionV2", {
  connection: NewTcpConnectionV1,
  transport: IncomingTrafficTransportType
})

export const TcpData = struct("TcpData", { connection_id: ConnectionId, bytes: payload })
export const TcpClose = struct("TcpClose", { connection_id: ConnectionId })

export const LayerTcp = enumOf("LayerTcp", {
  PortSubscribe: newtype(Port),
  ConnectionUnsubscribe: newtype(ConnectionId),
  PortUnsubscribe: newtype(Port),
  PortSubscribeFilteredHttp: tuple(Port, HttpFilter)
})

export const LayerTcpSteal = enumOf("LayerTcpSteal", {
  PortSubscribe: newtype(StealType),
  ConnectionUnsubscribe: newtype(ConnectionId),
  PortUnsubscribe: newtype(Port),
  Data: newtype(TcpData),
  HttpResponse: newtype(HttpResponsePayload),
  HttpResponseFramed: newtype(HttpResponseFramed),
  HttpResponseChunked: newtype(ChunkedResponse)
})

export const DaemonTcp = enumOf("DaemonTcp", {
  NewConnectionV1: newtype(NewTcpConnectionV1),
  Data: newtype(TcpData),
  Close: newtype(TcpClose),
  SubscribeResult: newtype(result(Port, ResponseError)),
  HttpRequest: newtype(HttpRequestPayload),
  HttpRequestFramed: newtype(HttpRequestFramed),
  HttpRequestChunked: newtype(ChunkedRequest),
  NewConnectionV2: newtype(NewTcpConnectionV2)
})
