/**
 * An agent session that outlives single connections: it dials the agent, negotiates, and when the
 * connection is lost re-dials with capped exponential backoff, negotiating the version again each
 * time (an agent can come back older or newer: `ProtocolVersion` is republished per connection,
 * `None` while disconnected).
 *
 * Consumers (e.g. `IncomingProxy.layerSession`) run `connections`: one `LiveAgentConnection` per
 * successful (re)connection, each usable until its `closed` fails. The stream fails with
 * `AgentConnectionError` reason `GaveUp` (its `cause` is the last connection error) once the
 * policy gives up, or — with reconnect disabled — with the error that ended the first connection.
 *
 * Every connection lives in a scope of its own, closed before the next dial: nothing of one
 * connection (fibers, socket) outlives it. Re-dial attempt n waits
 * `min(maxDelay, initialDelay × factor^(n-1))` (never past `maxElapsed`); a connection that
 * negotiates resets the count. Any loss is re-dialled (`Lost`, `PongTimeout`, `ClosedByAgent`,
 * `Decode`, …) except the session's own `Shutdown`. `GaveUp` comes after `maxAttempts` failed
 * attempts or once `maxElapsed` has passed since the loss (plus at most the attempt in flight:
 * its `connectTimeout` / `negotiationTimeout`). Over `node:net`:
 * `NodeTransport.layerSession(options)`.
 *
 * @since 0.2.0
 */
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import type * as Version from "@mirrord-effect/protocol/Version"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as AgentConnection from "./AgentConnection.js"
import type { AgentConnectionError, LiveAgentConnection, Options } from "./AgentConnection.js"
import * as internal from "./internal/session.js"

/**
 * When and how often to re-dial after a connection is lost. Delays grow from `initialDelay` by
 * `factor` up to `maxDelay`; the session gives up after `maxAttempts` consecutive failed attempts
 * or once `maxElapsed` has passed since the loss, whichever comes first.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReconnectPolicy {
  /** Default 100 ms. */
  readonly initialDelay?: Duration.DurationInput | undefined
  /** Default 5 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Default 2. */
  readonly factor?: number | undefined
  /** Consecutive failed attempts before giving up (default 30). */
  readonly maxAttempts?: number | undefined
  /** Time since the loss before giving up (default 2 minutes). */
  readonly maxElapsed?: Duration.DurationInput | undefined
}

/**
 * What the session is doing now (e.g. for a status line).
 *
 * @since 0.2.0
 * @category models
 */
export type SessionStatus =
  | { readonly _tag: "Connecting"; readonly attempt: number }
  | { readonly _tag: "Connected"; readonly version: Version.SemVer; readonly connections: number }
  | {
    readonly _tag: "Reconnecting"
    readonly attempt: number
    readonly lastError: AgentConnectionError
  }
  | { readonly _tag: "GaveUp"; readonly error: AgentConnectionError }

/**
 * @since 0.2.0
 * @category models
 */
export interface AgentSessionShape {
  /** Each negotiated connection, in turn; fails with `GaveUp` (or the first loss without reconnect). Single consumer. */
  readonly connections: Stream.Stream<LiveAgentConnection, AgentConnectionError>
  /** The current status and every change of it. */
  readonly status: Stream.Stream<SessionStatus>
  /** The connection in use, if any. */
  readonly current: Effect.Effect<Option.Option<LiveAgentConnection>>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class AgentSession extends Context.Tag("@mirrord-effect/client/AgentSession")<AgentSession, AgentSessionShape>() {}

/**
 * @since 0.2.0
 * @category models
 */
export interface SessionOptions extends Omit<Options, "versionRef"> {
  /** Re-dial after a loss (default on, with the defaults of {@link ReconnectPolicy}); `false` disables it. */
  readonly reconnect?: ReconnectPolicy | boolean | undefined
}

/**
 * The session and the `ProtocolVersion` it republishes. The layer is built once the FIRST
 * connection has negotiated (one attempt: `Unreachable` / `NegotiationFailed` fail the layer,
 * as `AgentConnection.layer` does); later losses are re-dialled per the policy.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: SessionOptions
): Layer.Layer<AgentSession | ProtocolVersion.ProtocolVersion, AgentConnectionError, AgentConnection.SocketConnector> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const connector = yield* AgentConnection.SocketConnector
      const session = yield* internal.make(
        options,
        (connectionOptions) => Effect.provideService(AgentConnection.make(connectionOptions), AgentConnection.SocketConnector, connector)
      )
      const shape: AgentSessionShape = { connections: session.connections, status: session.status, current: session.current }
      return Context.make(AgentSession, shape).pipe(Context.add(ProtocolVersion.ProtocolVersion, session.versionRef))
    })
  )
