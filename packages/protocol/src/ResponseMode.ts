/**
 * Which `LayerTcpSteal` HTTP response variant a client may send back to the
 * agent, given the negotiated protocol version and the request variant the
 * agent used.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { SemVer } from "./Version.js"
import * as Version from "./Version.js"

/**
 * `Chunked` → `LayerTcpSteal::HttpResponseChunked`, `Framed` →
 * `HttpResponseFramed`, `Basic` → legacy `HttpResponse`.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseMode = "Chunked" | "Framed" | "Basic"

/**
 * @since 0.1.0
 * @category schemas
 */
export const ResponseMode: Schema.Literal<["Chunked", "Framed", "Basic"]> = Schema.Literal(
  "Chunked",
  "Framed",
  "Basic"
)

/**
 * The `DaemonTcp` HTTP request variants.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestVariant = "HttpRequest" | "HttpRequestFramed" | "HttpRequestChunked"

/**
 * @since 0.1.0
 * @category schemas
 */
export const RequestVariant: Schema.Literal<["HttpRequest", "HttpRequestFramed", "HttpRequestChunked"]> =
  Schema.Literal("HttpRequest", "HttpRequestFramed", "HttpRequestChunked")

/**
 * The `LayerTcpSteal` HTTP response variants.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseVariant = "HttpResponse" | "HttpResponseFramed" | "HttpResponseChunked"

/**
 * @since 0.1.0
 * @category schemas
 */
export const ResponseVariant: Schema.Literal<["HttpResponse", "HttpResponseFramed", "HttpResponseChunked"]> =
  Schema.Literal("HttpResponse", "HttpResponseFramed", "HttpResponseChunked")

/**
 * Variant index of each HTTP request variant in `DaemonTcp`.
 *
 * @since 0.1.0
 * @category constants
 */
export const requestVariantIndex: { readonly [K in RequestVariant]: number } = {
  HttpRequest: 4,
  HttpRequestFramed: 5,
  HttpRequestChunked: 6
}

/**
 * Variant index of each HTTP response variant in `LayerTcpSteal`.
 *
 * @since 0.1.0
 * @category constants
 */
export const responseVariantIndex: { readonly [K in ResponseVariant]: number } = {
  HttpResponse: 4,
  HttpResponseFramed: 5,
  HttpResponseChunked: 6
}

const rank: { readonly [K in ResponseMode]: number } = { Basic: 0, Framed: 1, Chunked: 2 }

/** The most capable response mode allowed for answering each request variant. */
const capOf: { readonly [K in RequestVariant]: ResponseMode } = {
  HttpRequest: "Basic",
  HttpRequestFramed: "Framed",
  HttpRequestChunked: "Chunked"
}

/**
 * The response mode allowed by the negotiated version alone: unknown →
 * `Basic`; `HTTP_CHUNKED_RESPONSE_VERSION` (>=1.8.1) → `Chunked`;
 * `HTTP_FRAMED_VERSION` (>=1.3.0) → `Framed`; otherwise `Basic`. Pre-release
 * versions follow Rust `VersionReq` semantics (`1.9.0-rc.1` → `Basic`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const responseModeForVersion = (version: Option.Option<SemVer>): ResponseMode =>
  Option.match(version, {
    onNone: () => "Basic" as const,
    onSome: (v): ResponseMode =>
      Version.HTTP_CHUNKED_RESPONSE_VERSION.matches(v)
        ? "Chunked"
        : Version.HTTP_FRAMED_VERSION.matches(v)
        ? "Framed"
        : "Basic"
  })

/**
 * The response mode for answering a request: the mode allowed by the
 * negotiated version (see `responseModeForVersion`), capped by the request
 * variant the agent itself used (`HttpRequest` → at most `Basic`,
 * `HttpRequestFramed` → at most `Framed`, `HttpRequestChunked` → no cap).
 *
 * @since 0.1.0
 * @category constructors
 */
export const responseModeFor = (version: Option.Option<SemVer>, requestVariant: RequestVariant): ResponseMode => {
  const byVersion = responseModeForVersion(version)
  const cap = capOf[requestVariant]
  return rank[byVersion] <= rank[cap] ? byVersion : cap
}

/**
 * The `LayerTcpSteal` variant that carries a response in `mode`.
 *
 * @since 0.1.0
 * @category getters
 */
export const responseVariantOf = (mode: ResponseMode): ResponseVariant => {
  switch (mode) {
    case "Chunked":
      return "HttpResponseChunked"
    case "Framed":
      return "HttpResponseFramed"
    case "Basic":
      return "HttpResponse"
  }
}

/**
 * The `LayerTcpSteal` variant index that carries a response in `mode`
 * (`Basic` 4, `Framed` 5, `Chunked` 6).
 *
 * @since 0.1.0
 * @category getters
 */
export const responseVariantIndexOf = (mode: ResponseMode): number => responseVariantIndex[responseVariantOf(mode)]
