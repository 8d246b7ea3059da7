/**
 * The one error type of the simulator.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Why a simulator operation failed.
 *
 * - `Listen`: the TCP or HTTP server could not bind.
 * - `ClientDropped`: the simulator dropped the client connection because it sent a message this
 *   agent version cannot decode (as a real agent does); `detail` names the variant.
 * - `ClientGone`: the client connection ended (or sent `ClientMessage::Close`) mid-exchange.
 * - `UndecodableByClient`: the simulator refused to send a message the client's negotiated
 *   version cannot decode (it was not sent).
 * - `NotSubscribed`: `connect` found no unfiltered steal subscription on the port.
 * - `ConnectionUnsubscribed`: the client sent `ConnectionUnsubscribe` for the connection.
 * - `ConnectionClosed`: a write on a connection that is already closed or half-closed.
 * - `RequestBody`: the request body stream failed (the simulator sent `Close`, like the agent).
 * - `InvalidRequest`: method, URI or a header cannot be put on the wire.
 * - `Shutdown`: the simulator's scope closed.
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentSimError extends Data.TaggedError("AgentSimError")<{
  readonly reason:
    | "Listen"
    | "ClientDropped"
    | "ClientGone"
    | "UndecodableByClient"
    | "NotSubscribed"
    | "ConnectionUnsubscribed"
    | "ConnectionClosed"
    | "RequestBody"
    | "InvalidRequest"
    | "Shutdown"
  readonly detail: string
  readonly cause?: unknown
}> {
  get message(): string {
    return `agent-sim ${this.reason}: ${this.detail}`
  }
}
