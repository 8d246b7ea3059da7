/**
 * The 502 responses the proxy makes up itself. They always use the legacy
 * `LayerTcpSteal::HttpResponse` variant (every agent version decodes it) and are never sent
 * after a chunked `Start`, nor in mirror mode.
 *
 * @internal
 */
import type { HttpVersion, LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"
import type { ResponseIds } from "../ResponseFraming.js"

const encoder = new TextEncoder()

/** The message when a stolen request arrives for a port without a steal subscription. @internal */
export const STALE_PORT_MESSAGE = "port no longer subscribed with an HTTP filter"

/**
 * `502 Bad Gateway` with the request's HTTP version, no headers and the body
 * `mirrord-effect v<version>: <message>\n`.
 *
 * @internal
 */
export const badGateway = (
  ids: ResponseIds,
  version: HttpVersion,
  message: string,
  prefixVersion: string
): LayerTcpSteal => ({
  _tag: "HttpResponse",
  value: {
    port: ids.port,
    connection_id: ids.connection_id,
    request_id: ids.request_id,
    internal_response: {
      status: 502,
      version,
      headers: [],
      body: encoder.encode(`mirrord-effect v${prefixVersion}: ${message}\n`)
    }
  }
})
