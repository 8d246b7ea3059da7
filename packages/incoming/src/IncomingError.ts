/**
 * The typed errors of the incoming proxy.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A port subscription was refused.
 *
 * - `PortAlreadyStolen`: the agent reports that another client steals this port.
 * - `Forbidden`: an operator policy blocks stealing or mirroring this port.
 * - `UnsupportedFilter`: the HTTP filter uses a variant the agent's protocol version cannot
 *   decode; nothing was sent to the agent.
 * - `Refused`: the agent refused the subscription with another error; `detail` is the agent's own
 *   message (e.g. the regex compiler's for a path filter `(`), `cause` the decoded `ResponseError`.
 *   Only this subscription fails; every other one keeps serving.
 * - `ModeConflict`: the port is already subscribed in the other mode (steal versus mirror).
 * - `FilterUnencodable`: the filter cannot be encoded for the agent at all (e.g. nested deeper
 *   than the codec's limit); nothing was sent to the agent.
 * - `ProxyFailed`: the proxy failed (see {@link IncomingProxyError}) before the agent answered.
 *
 * @since 0.1.0
 * @category errors
 */
export class SubscribeError extends Data.TaggedError("SubscribeError")<{
  readonly reason:
    | "PortAlreadyStolen"
    | "Forbidden"
    | "UnsupportedFilter"
    | "Refused"
    | "ModeConflict"
    | "FilterUnencodable"
    | "ProxyFailed"
  readonly port: number
  readonly detail: string
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `subscription to port ${this.port} refused (${this.reason}): ${this.detail}`
  }
}

/**
 * The proxy (or one attachment of it to an agent connection) ended abnormally. A refused
 * subscription never ends either: it fails its own `subscribe` call only (see {@link SubscribeError}).
 *
 * - `AgentLost`: the agent connection ended or failed; everything in flight was cancelled (local
 *   connections closed, nothing more sent for them). From `attach`, the proxy can be attached to
 *   a new connection, which re-sends every subscription. From `awaitFailure` of
 *   `IncomingProxy.layer` (one connection, no reconnect), the proxy has stopped for good.
 * - `AgentGaveUp`: the agent session stopped re-dialling (`IncomingProxy.layerSession`); `cause`
 *   is the session's `AgentConnectionError` (reason `GaveUp`, whose `cause` is the last
 *   connection error). The proxy has stopped for good.
 * - `AlreadyAttached`: `attach` was called while another connection is attached.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncomingProxyError extends Data.TaggedError("IncomingProxyError")<{
  readonly reason: "AgentLost" | "AgentGaveUp" | "AlreadyAttached"
  readonly detail: string
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `incoming proxy ${this.reason}: ${this.detail}`
  }
}
