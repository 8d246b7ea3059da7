/**
 * A minimal re-dialling `AgentSession` for tests that must not wait for the client package's
 * own session: `AgentConnection.make` over real sockets (NodeSocket), a fixed number of
 * attempts with a fixed delay, and `GaveUp` (cause: the last error) when they are used up.
 * The next connection is dialled when the consumer asks for it, i.e. after the proxy's
 * attachment to the previous one has ended.
 */
import { NodeSocket } from "@effect/platform-node"
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import { AgentConnectionError } from "@mirrord-effect/client/AgentConnection"
import type { LiveAgentConnection } from "@mirrord-effect/client/AgentConnection"
import { AgentSession } from "@mirrord-effect/client/AgentSession"
import type { SessionStatus } from "@mirrord-effect/client/AgentSession"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"

export const redialSession = (
  address: AgentConnection.AgentAddress,
  policy: { readonly attempts: number; readonly delay: Duration.DurationInput }
): Layer.Layer<AgentSession | ProtocolVersion.ProtocolVersion> =>
  Layer.scopedContext(Effect.gen(function*() {
    const versionRef = yield* ProtocolVersion.make()
    const status = yield* SubscriptionRef.make<SessionStatus>({ _tag: "Connecting", attempt: 1 })
    let current: Option.Option<LiveAgentConnection> = Option.none()
    let previous: Scope.CloseableScope | undefined
    let connected = 0
    const outer = yield* Effect.scope

    const dialOnce = Effect.gen(function*() {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const dialled = yield* AgentConnection.make({ address, versionRef, connectTimeout: "5 seconds" }).pipe(
        Effect.tap((connection) => connection.negotiated),
        Scope.extend(scope),
        Effect.provide(AgentConnection.layerSocketConnector(NodeSocket.makeNet)),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      return { connection: dialled, scope }
    })

    const next: Effect.Effect<LiveAgentConnection, Option.Option<AgentConnectionError>> = Effect.gen(function*() {
      if (previous !== undefined) yield* Scope.close(previous, Exit.void)
      current = Option.none()
      let lastError: AgentConnectionError | undefined
      for (let attempt = 1; attempt <= policy.attempts; attempt++) {
        const result = yield* Effect.either(dialOnce)
        if (result._tag === "Right") {
          previous = result.right.scope
          current = Option.some(result.right.connection)
          const version = yield* result.right.connection.negotiated.pipe(Effect.mapError(Option.some))
          yield* SubscriptionRef.set(status, { _tag: "Connected", version, connections: ++connected })
          return result.right.connection
        }
        lastError = result.left
        yield* SubscriptionRef.set(status, { _tag: "Reconnecting", attempt, lastError })
        yield* Effect.sleep(Duration.decode(policy.delay))
      }
      const error = new AgentConnectionError({
        reason: "GaveUp",
        detail: `no agent after ${policy.attempts} attempts: ${lastError?.message ?? "?"}`,
        cause: lastError
      })
      yield* SubscriptionRef.set(status, { _tag: "GaveUp", error })
      return yield* Effect.fail(Option.some(error))
    })

    return Context.make(AgentSession, {
      connections: Stream.repeatEffectOption(next),
      status: status.changes,
      current: Effect.sync(() => current)
    }).pipe(Context.add(ProtocolVersion.ProtocolVersion, versionRef))
  }))
