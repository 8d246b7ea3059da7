/**
 * What we send when a Chunked response cannot be completed after its head went out (the app
 * died or timed out mid-body, or the proxy is shutting down with the request in flight).
 *
 * `ChunkedResponse::Error` alone is not enough: the agent drops its body channel, which hyper
 * treats as the clean end of the body, so the client sees a complete (truncated) response. The
 * messages here must make the agent abort the client's connection instead, so the client sees
 * an incomplete transfer, as it would without mirrord.
 *
 * The sequence is decided against the real agents (tests/real-agent): see the README's
 * "failed responses" section for what each agent era does with it.
 *
 * @internal
 */
import type { LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"

/** The messages that end a Chunked response that failed after `Start`. @internal */
export const cutResponse = (ids: { readonly connection_id: bigint; readonly request_id: number }): ReadonlyArray<LayerTcpSteal> => [
  { _tag: "HttpResponseChunked", value: { _tag: "Error", value: { connection_id: ids.connection_id, request_id: ids.request_id } } },
  { _tag: "ConnectionUnsubscribe", value: ids.connection_id }
]
