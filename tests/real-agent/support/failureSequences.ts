/**
 * Candidate message sequences for a Chunked response that failed after its head, tried against
 * the real agents to learn which one (if any) makes the agent abort the client's connection.
 * `library` is what the proxy itself sends (`cutResponse`).
 */
import type { LayerTcpSteal } from "@mirrord-effect/protocol/Tcp"

interface Ids {
  readonly connection_id: bigint
  readonly request_id: number
}

const error = (ids: Ids): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: { _tag: "Error", value: { connection_id: ids.connection_id, request_id: ids.request_id } }
})
const unsubscribe = (ids: Ids): LayerTcpSteal => ({ _tag: "ConnectionUnsubscribe", value: ids.connection_id })
const trailers = (ids: Ids): LayerTcpSteal => ({
  _tag: "HttpResponseChunked",
  value: {
    _tag: "Body",
    value: {
      frames: [{ _tag: "Trailers", value: [["x-mirrord-cut", [new TextEncoder().encode("1")]]] }],
      is_last: false,
      connection_id: ids.connection_id,
      request_id: ids.request_id
    }
  }
})

export const FailureSequence = {
  "error": (ids: Ids) => [error(ids)],
  "error+unsubscribe": (ids: Ids) => [error(ids), unsubscribe(ids)],
  "unsubscribe": (ids: Ids) => [unsubscribe(ids)],
  "unsubscribe+error": (ids: Ids) => [unsubscribe(ids), error(ids)],
  "trailers+error": (ids: Ids) => [trailers(ids), error(ids)]
} satisfies Record<string, (ids: Ids) => ReadonlyArray<LayerTcpSteal>>

export type FailureSequenceName = keyof typeof FailureSequence
