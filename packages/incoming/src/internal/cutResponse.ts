/**
 * What we send when a Chunked response cannot be completed after its head went out (the app
 * died or timed out mid-body, or the proxy is shutting down with the request in flight).
 *
 * `ChunkedResponse::Error` alone, on purpose. Tried against the real agents 3.108.0 (1.8.1) and
 * 3.250.0 (1.29.0) (tests/real-agent, "failure sequences"): no message sequence makes them abort
 * the client's connection. Error, ConnectionUnsubscribe, either order of both, and a Trailers
 * frame before Error all end in the same place: the agent drops its body sender, which hyper
 * treats as the clean end of a chunked body (`0\r\n\r\n`, curl exit 0). Only a response whose
 * head carried a `content-length` is seen cut (hyper aborts the short body: curl exit 18).
 * `ConnectionUnsubscribe` also has a cost: a 1.8.x agent then passes the rest of that kept-alive
 * client connection to the pod instead of stealing it. So we send only what every agent era
 * reads as "this response failed". See the README, "What each agent era does with a failed
 * response".
 *
 * @internal
 */
import type { LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"

type Ids = { readonly connection_id: bigint; readonly request_id: number }

/** `ChunkedResponse::Error` for one request. @internal */
export const chunkedError = (ids: Ids): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: { _tag: "Error", value: { connection_id: ids.connection_id, request_id: ids.request_id } }
})

/** The messages that end a Chunked response that failed after `Start`. @internal */
export const cutResponse = (ids: Ids): ReadonlyArray<LayerTcpSteal> => [chunkedError(ids)]
