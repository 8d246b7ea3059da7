/**
 * The proxy side of a pipeline benchmark: a real IncomingProxy (real LocalHttp, LocalTcp) with
 * one shared version ref, attached over real TCP (node:net, `NodeTransport`) to an agent (an agent-sim or a
 * raw agent) through a real AgentConnection, one connection at a time.
 */
import * as AgentConnection from "@mirrord-effect/client/AgentConnection"
import * as NodeTransport from "@mirrord-effect/client/NodeTransport"
import type { IncomingProxyError } from "@mirrord-effect/incoming/IncomingError"
import * as IncomingProxy from "@mirrord-effect/incoming/IncomingProxy"
import * as LocalHttp from "@mirrord-effect/incoming/LocalHttp"
import * as LocalTcp from "@mirrord-effect/incoming/LocalTcp"
import * as ProtocolVersion from "@mirrord-effect/protocol/ProtocolVersion"
import type * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as SubscriptionRef from "effect/SubscriptionRef"

export interface ProxyStack {
  readonly proxy: IncomingProxy.IncomingProxyService
  readonly localHttp: LocalHttp.LocalHttpService
  readonly localTcp: LocalTcp.LocalTcpService
  readonly versionRef: SubscriptionRef.SubscriptionRef<Option.Option<Version.SemVer>>
}

export const makeProxyStack = (
  options: IncomingProxy.IncomingProxyOptions = {}
): Effect.Effect<ProxyStack, never, Scope.Scope> =>
  Effect.gen(function*() {
    const versionRef = yield* ProtocolVersion.make()
    const localHttp = yield* LocalHttp.make()
    const localTcp = yield* LocalTcp.make()
    const proxy = yield* IncomingProxy.make(options).pipe(
      Effect.provideService(ProtocolVersion.ProtocolVersion, versionRef),
      Effect.provideService(LocalHttp.LocalHttp, localHttp),
      Effect.provideService(LocalTcp.LocalTcp, localTcp)
    )
    return { proxy, localHttp, localTcp, versionRef }
  })

/** One agent connection served by the proxy; closing `scope` ends it. */
export interface Attached {
  readonly connection: AgentConnection.LiveAgentConnection
  /** How `proxy.attach` ended (awaits it). */
  readonly ended: Effect.Effect<Exit.Exit<void, IncomingProxyError>>
  /** Ends this connection (and the attachment) now. */
  readonly detach: Effect.Effect<void>
}

export interface AttachOptions {
  /** For agents older than 1.3.0, which cannot negotiate. */
  readonly assumeVersion?: string | undefined
  readonly pingInterval?: number | undefined
}

/**
 * Connects to the agent at `address`, waits for the handshake, and attaches the proxy. The
 * connection lives in its own scope, closed by `detach` or by the enclosing scope.
 */
export const attach = (
  stack: ProxyStack,
  address: { readonly host: string; readonly port: number },
  options: AttachOptions = {}
): Effect.Effect<Attached, AgentConnection.AgentConnectionError, Scope.Scope> =>
  Effect.gen(function*() {
    const outer = yield* Effect.scope
    const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    const connection = yield* AgentConnection.make({
      address,
      versionRef: stack.versionRef,
      assumeVersion: options.assumeVersion,
      pingInterval: options.pingInterval
    }).pipe(
      Effect.provideService(AgentConnection.SocketConnector, NodeTransport.connect),
      Scope.extend(scope)
    )
    yield* connection.negotiated
    const fiber = yield* stack.proxy.attach(connection).pipe(Effect.forkIn(scope))
    return {
      connection,
      ended: Fiber.await(fiber),
      detach: Scope.close(scope, Exit.void)
    }
  })
