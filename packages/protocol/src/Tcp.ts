/**
 * Incoming traffic types: mirror (`LayerTcp`), steal (`LayerTcpSteal`), what the agent sends
 * (`DaemonTcp`), HTTP requests/responses in their three framings, and HTTP filters.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import { tcp } from "./internal/messages/index.js"
import type { TypeOf } from "./internal/wire/codec.js"
import * as http from "./internal/wire/http.js"

/** Lower-case names in first-insertion order, each with ≥ 1 raw byte values. @since 0.1.0 @category models */
export type HeaderMap = http.HeaderMap
/** @since 0.1.0 @category schemas */
export const HeaderMap: Schema.Schema<HeaderMap> = http.HeaderMapSchema
/** @since 0.1.0 @category models */
export type HttpVersion = http.HttpVersion
/** @since 0.1.0 @category schemas */
export const HttpVersion = http.HttpVersionSchema
/** @since 0.1.0 @category models */
export type BodyFrame = TypeOf<typeof tcp.InternalHttpBodyFrame>
/** @since 0.1.0 @category schemas */
export const BodyFrame: Schema.Schema<BodyFrame> = tcp.InternalHttpBodyFrame.schema

/** @since 0.1.0 @category models */
export type HttpFilter = tcp.HttpFilter
/** @since 0.1.0 @category schemas */
export const HttpFilter: Schema.Schema<HttpFilter> = tcp.HttpFilter.schema
/** @since 0.1.0 @category models */
export type HttpMethodFilter = TypeOf<typeof tcp.HttpMethodFilter>
/** @since 0.1.0 @category models */
export type StealType = TypeOf<typeof tcp.StealType>
/** @since 0.1.0 @category schemas */
export const StealType: Schema.Schema<StealType> = tcp.StealType.schema

/** @since 0.1.0 @category models */
export type LayerTcp = TypeOf<typeof tcp.LayerTcp>
/** @since 0.1.0 @category models */
export type LayerTcpSteal = TypeOf<typeof tcp.LayerTcpSteal>
/** @since 0.1.0 @category models */
export type DaemonTcp = TypeOf<typeof tcp.DaemonTcp>
/** @since 0.1.0 @category schemas */
export const LayerTcpSteal: Schema.Schema<LayerTcpSteal> = tcp.LayerTcpSteal.schema
/** @since 0.1.0 @category schemas */
export const DaemonTcp: Schema.Schema<DaemonTcp> = tcp.DaemonTcp.schema

/** `HttpRequest<Payload>` (legacy, whole body). @since 0.1.0 @category models */
export type HttpRequest = TypeOf<typeof tcp.HttpRequestPayload>
/** `HttpRequest<InternalHttpBody>` (whole body as frames). @since 0.1.0 @category models */
export type HttpRequestFramed = TypeOf<typeof tcp.HttpRequestFramed>
/** @since 0.1.0 @category models */
export type ChunkedRequest = TypeOf<typeof tcp.ChunkedRequest>
/** @since 0.1.0 @category models */
export type ChunkedRequestStartV1 = TypeOf<typeof tcp.ChunkedRequestStartV1>
/** @since 0.1.0 @category models */
export type ChunkedRequestStartV2 = TypeOf<typeof tcp.ChunkedRequestStartV2>
/** @since 0.1.0 @category models */
export type ChunkedRequestBody = TypeOf<typeof tcp.ChunkedRequestBodyV1>
/** @since 0.1.0 @category models */
export type HttpResponse = TypeOf<typeof tcp.HttpResponsePayload>
/** @since 0.1.0 @category models */
export type HttpResponseFramed = TypeOf<typeof tcp.HttpResponseFramed>
/** `HttpResponse<Vec<InternalHttpBodyFrame>>`, the head of a chunked response. @since 0.1.0 @category models */
export type HttpResponseStart = TypeOf<typeof tcp.HttpResponseFrames>
/** @since 0.1.0 @category models */
export type ChunkedResponse = TypeOf<typeof tcp.ChunkedResponse>
/** @since 0.1.0 @category models */
export type NewTcpConnectionV1 = TypeOf<typeof tcp.NewTcpConnectionV1>
/** @since 0.1.0 @category models */
export type NewTcpConnectionV2 = TypeOf<typeof tcp.NewTcpConnectionV2>
/** @since 0.1.0 @category models */
export type TcpData = TypeOf<typeof tcp.TcpData>
/** @since 0.1.0 @category models */
export type IncomingTrafficTransportType = TypeOf<typeof tcp.IncomingTrafficTransportType>
/** @since 0.1.0 @category models */
export type HttpRequestMetadata = TypeOf<typeof tcp.HttpRequestMetadata>

/** Validates and normalises a request target as the Rust `http::Uri` does (undefined = rejected). @since 0.1.0 @category utils */
export const normalizeUri: (uri: string) => string | undefined = http.normalizeUri
/** @since 0.1.0 @category utils */
export const isHeaderName: (name: string) => boolean = http.isHeaderName
/** @since 0.1.0 @category utils */
export const isHeaderValue: (value: Uint8Array) => boolean = http.isHeaderValue
/** @since 0.1.0 @category utils */
export const isMethod: (method: string) => boolean = http.isMethod

/**
 * The nesting depth of a filter: 0 for a filter with no `Composite` around anything, else the
 * number of `Composite`s enclosing its deepest filter. A filter deeper than `Codec.defaultMaxDepth`
 * (or the `maxDepth` given) cannot be encoded, and no agent would decode it; check a filter built
 * from outside input before `subscribe` (or use `Codec.checkEncodable` on the whole message).
 * Iterative: any depth is measured without a stack overflow.
 *
 * @since 0.1.0
 * @category utils
 */
export const filterDepth = (filter: HttpFilter): number => {
  let deepest = 0
  const pending: Array<HttpFilter> = [filter]
  const levels: Array<number> = [0]
  while (pending.length > 0) {
    const f = pending.pop()!
    const level = levels.pop()!
    if (level > deepest) deepest = level
    if (f._tag === "Composite") {
      for (const child of f.filters) {
        pending.push(child)
        levels.push(level + 1)
      }
    }
  }
  return deepest
}
