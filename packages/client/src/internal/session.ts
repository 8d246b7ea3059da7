/**
 * The reconnecting agent session: one supervisor fiber dials, negotiates, hands the connection
 * out, waits for its end, then re-dials with capped exponential backoff until the policy gives up.
 * Each connection lives in its own child scope, closed before the next dial, so nothing of one
 * connection (fibers, socket) outlives it.
 * @internal
 */
import * as Version from "@mirrord-effect/protocol/Version"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AgentConnectionError as AgentConnectionErrorType, LiveAgentConnection, Options } from "../AgentConnection.js"
import { AgentConnectionError } from "../AgentConnection.js"
import type { AgentSessionShape, ReconnectPolicy, SessionOptions, SessionStatus } from "../AgentSession.js"

/** A policy with every default filled in. */
export interface ResolvedPolicy {
  readonly initialDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly factor: number
  readonly maxAttempts: number
  readonly maxElapsed: Duration.Duration
}

export const resolvePolicy = (reconnect: ReconnectPolicy | boolean | undefined): Option.Option<ResolvedPolicy> => {
  if (reconnect === false) return Option.none()
  const p: ReconnectPolicy = reconnect === true || reconnect === undefined ? {} : reconnect
  const factor = p.factor !== undefined && Number.isFinite(p.factor) && p.factor >= 1 ? p.factor : 2
  const maxAttempts = p.maxAttempts !== undefined && Number.isFinite(p.maxAttempts)
    ? Math.max(1, Math.floor(p.maxAttempts))
    : p.maxAttempts === Infinity
    ? Infinity
    : 30
  return Option.some({
    initialDelay: Duration.decode(p.initialDelay ?? Duration.millis(100)),
    maxDelay: Duration.decode(p.maxDelay ?? Duration.seconds(5)),
    factor,
    maxAttempts,
    maxElapsed: Duration.decode(p.maxElapsed ?? Duration.minutes(2))
  })
}

/** The delay before re-dial attempt `attempt` (1-based): initial × factor^(attempt-1), capped. */
export const backoffDelay = (policy: ResolvedPolicy, attempt: number): Duration.Duration => {
  const initial = Duration.toMillis(policy.initialDelay)
  const cap = Duration.toMillis(policy.maxDelay)
  return Duration.millis(Math.min(cap, initial * Math.pow(policy.factor, attempt - 1)))
}

export interface Session extends AgentSessionShape {
  readonly versionRef: SubscriptionRef.SubscriptionRef<Option.Option<Version.SemVer>>
}

/**
 * Dials once (the failure fails this effect), then supervises re-dials in the background.
 * `dial` runs one connection in the scope it is given and succeeds once it has negotiated.
 */
export const make = (
  options: SessionOptions,
  dial: (options: Options) => Effect.Effect<LiveAgentConnection, AgentConnectionErrorType, Scope.Scope>
): Effect.Effect<Session, AgentConnectionErrorType, Scope.Scope> =>
  Effect.gen(function*() {
    const policy = resolvePolicy(options.reconnect)
    const address = `${options.address.host}:${options.address.port}`
    const sessionScope = yield* Effect.scope
    const versionRef = yield* SubscriptionRef.make(Option.none<Version.SemVer>())
    const status = yield* SubscriptionRef.make<SessionStatus>({ _tag: "Connecting", attempt: 1 })
    const current = yield* Ref.make(Option.none<LiveAgentConnection>())
    const connections = yield* Mailbox.make<LiveAgentConnection, AgentConnectionErrorType>()
    let connected = 0

    /** One connection in a scope of its own: closed again when dialling or negotiating fails. */
    const attempt = Effect.gen(function*() {
      const scope = yield* Scope.fork(sessionScope, ExecutionStrategy.sequential)
      const connection = yield* dial({ ...options, versionRef }).pipe(
        Effect.tap((c) => c.negotiated),
        Scope.extend(scope),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
      )
      return { connection, scope } as const
    })

    const publish = (connection: LiveAgentConnection) =>
      Effect.gen(function*() {
        connected++
        const version = yield* connection.negotiated
        yield* Ref.set(current, Option.some(connection))
        yield* SubscriptionRef.set(status, { _tag: "Connected", version, connections: connected })
        yield* connections.offer(connection)
      })

    /** The connection ended: close its scope, stop advertising it and its version. */
    const retire = (scope: Scope.CloseableScope, error: AgentConnectionErrorType) =>
      Effect.gen(function*() {
        yield* Ref.set(current, Option.none())
        yield* Scope.close(scope, Exit.fail(error))
        yield* SubscriptionRef.set(versionRef, Option.none())
      })

    const giveUp = (error: AgentConnectionErrorType) =>
      Effect.gen(function*() {
        yield* SubscriptionRef.set(status, { _tag: "GaveUp", error })
        yield* connections.fail(error)
      })

    /** Re-dials after a loss until a connection negotiates or the policy gives up. */
    const reconnect = (policy: ResolvedPolicy, loss: AgentConnectionErrorType) =>
      Effect.gen(function*() {
        const lostAt = yield* Clock.currentTimeMillis
        const maxElapsed = Duration.toMillis(policy.maxElapsed)
        let lastError = loss
        for (let n = 1;; n++) {
          const elapsed = (yield* Clock.currentTimeMillis) - lostAt
          if (n > policy.maxAttempts || elapsed >= maxElapsed) {
            const tried = n - 1
            return yield* Effect.fail(
              new AgentConnectionError({
                reason: "GaveUp",
                detail: `gave up reconnecting to ${address} after ${tried} attempt${tried === 1 ? "" : "s"} in ${
                  Duration.format(Duration.millis(elapsed))
                }; last error: ${lastError.message}`,
                cause: lastError
              })
            )
          }
          yield* SubscriptionRef.set(status, { _tag: "Reconnecting", attempt: n, lastError })
          const delay = Math.min(Duration.toMillis(backoffDelay(policy, n)), maxElapsed - elapsed)
          yield* Effect.sleep(Duration.millis(delay))
          const result = yield* Effect.either(attempt)
          if (result._tag === "Right") return result.right
          lastError = result.left
          yield* Effect.logDebug(`reconnect attempt ${n} to ${address} failed: ${lastError.message}`)
        }
      })

    // a consumer still pulling when the session's scope closes ends too, instead of waiting forever
    yield* Effect.addFinalizer(() =>
      connections.fail(new AgentConnectionError({ reason: "Shutdown", detail: "the agent session's scope closed" }))
    )
    const first = yield* attempt
    yield* publish(first.connection)

    const supervise = Effect.gen(function*() {
      let live = first
      for (;;) {
        const loss = yield* Effect.flip(live.connection.closed)
        yield* retire(live.scope, loss)
        if (loss.reason === "Shutdown") return yield* giveUp(loss)
        if (Option.isNone(policy)) return yield* giveUp(loss)
        yield* Effect.logWarning(`agent connection to ${address} ended (${loss.message}); reconnecting`)
        const next = yield* Effect.either(reconnect(policy.value, loss))
        if (next._tag === "Left") return yield* giveUp(next.left)
        live = next.right
        yield* publish(live.connection)
        const version = yield* live.connection.negotiated
        yield* Effect.logInfo(`reconnected to ${address}, protocol ${Version.format(version)}`)
      }
    })
    yield* Effect.forkIn(supervise, sessionScope)

    return {
      connections: Mailbox.toStream(connections),
      status: status.changes,
      current: Ref.get(current),
      versionRef
    } satisfies Session
  })
