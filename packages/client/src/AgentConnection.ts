/**
 * A live connection to a mirrord agent: typed messages in and out, version negotiated.
 *
 * The contract shared by every package: `send` puts a `ClientMessage` on a bounded outbound
 * queue (it suspends when the queue is full: backpressure), `messages` is the single-consumer
 * stream of `DaemonMessage`s the agent sent (Pong, SwitchProtocolVersionResponse and Close are
 * handled by the connection itself and not repeated there). The stream fails with an
 * `AgentConnectionError` when the connection is lost.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"

/**
 * @since 0.1.0
 * @category errors
 */
export class AgentConnectionError extends Data.TaggedError("AgentConnectionError")<{
  readonly reason:
    | "Unreachable" // could not connect
    | "NegotiationFailed" // SwitchProtocolVersion got no (valid) answer
    | "ClosedByAgent" // DaemonMessage.Close(reason)
    | "Lost" // the socket ended or failed without Close (`detail` diagnoses the last messages sent)
    | "PongTimeout" // no Pong within the deadline
    | "Decode" // the agent sent bytes we cannot decode
    | "Write" // the socket refused a write
    | "Shutdown" // the connection's scope closed
  readonly detail: string
  readonly cause?: unknown
}> {
  get message(): string {
    return `agent connection ${this.reason}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentConnectionShape {
  /** Queue a message for the agent; suspends while the outbound queue is full. */
  readonly send: (message: ClientMessage) => Effect.Effect<void, AgentConnectionError>
  /** Messages from the agent, in order. Single consumer. */
  readonly messages: Stream.Stream<DaemonMessage, AgentConnectionError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AgentConnection extends Context.Tag("@mirrord-effect/client/AgentConnection")<
  AgentConnection,
  AgentConnectionShape
>() {}
