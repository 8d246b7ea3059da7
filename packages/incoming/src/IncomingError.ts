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
 * - `ModeConflict`: the port is already subscribed in the other mode (steal versus mirror).
 * - `ProxyFailed`: the proxy failed (see {@link IncomingProxyError}) before the agent answered.
 *
 * @since 0.1.0
 * @category errors
 */
export class SubscribeError extends Data.TaggedError("SubscribeError")<{
  readonly reason: "PortAlreadyStolen" | "Forbidden" | "UnsupportedFilter" | "ModeConflict" | "ProxyFailed"
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
 * The proxy (or one attachment of it to an agent connection) ended abnormally.
 *
 * - `SubscriptionFailed`: the agent answered a subscription with an error other than
 *   `PortAlreadyStolen`/`Forbidden` (or `Forbidden` for an already confirmed port). Fatal: the
 *   proxy stops serving and refuses further subscriptions.
 * - `AgentLost`: the agent connection failed; everything in flight was cancelled. The proxy
 *   can be attached to a new connection, which re-sends every subscription.
 * - `AlreadyAttached`: `attach` was called while another connection is attached.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncomingProxyError extends Data.TaggedError("IncomingProxyError")<{
  readonly reason: "SubscriptionFailed" | "AgentLost" | "AlreadyAttached"
  readonly detail: string
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `incoming proxy ${this.reason}: ${this.detail}`
  }
}
