/**
 * `IncomingProxy`: the incoming-traffic side of a mirrord client. It subscribes ports at the
 * agent (steal or mirror), receives the stolen or mirrored HTTP requests and TCP connections,
 * forwards them to the local application, and sends the answers back in the newest response
 * variant the agent's protocol version can decode.
 *
 * Shape: agent messages in → a router (one message at a time, in order) → a fiber per HTTP
 * request (gateway) and per raw connection (relay) → messages out. Everything a connection
 * sends comes from the fiber that owns it, so its messages leave in the order produced (an
 * upgrade's `101` always precedes its first `Data`). The response mode comes from the
 * `ProtocolVersion` service, snapshotted per request (`ResponseMode.responseModeFor`, capped by
 * the request variant).
 *
 * The proxy outlives agent connections: `attach` serves one connection until it ends; on loss
 * everything in flight is cancelled silently (the agent is gone, so nothing can be answered: the
 * local connections of those requests are closed), and the next `attach` re-sends every
 * subscription, built for the protocol version of the new connection (older or newer).
 *
 * Three ways to run it:
 * - `layerSession`: attached to every connection of an `AgentSession` in turn (reconnecting);
 *   `awaitFailure` fails with `AgentGaveUp` once the session gives up.
 * - `layer`: attached to the one `AgentConnection` of the context; `awaitFailure` fails with
 *   `AgentLost` when that connection ends (nothing reconnects).
 * - `layerDetached` / `make`: call `attach` yourself, once per connection.
 *
 * A refused subscription fails its own `subscribe` call only; only a broken agent connection
 * ends an attachment.
 *
 * @since 0.1.0
 */
import type { AgentConnectionError, AgentConnectionShape, LiveAgentConnection } from "@mirrord-effect/client/AgentConnection"
import { AgentConnection } from "@mirrord-effect/client/AgentConnection"
import { AgentSession } from "@mirrord-effect/client/AgentSession"
import type { ResponseMode } from "@mirrord-effect/protocol/ResponseMode"
import type { SemVer } from "@mirrord-effect/protocol/Version"
import { ProtocolVersion } from "@mirrord-effect/protocol/ProtocolVersion"
import * as ProtocolVersionModule from "@mirrord-effect/protocol/ProtocolVersion"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { IncomingProxyError } from "./IncomingError.js"
import type { SubscribeError } from "./IncomingError.js"
import type { Attachment, ProxyContext, ResolvedOptions } from "./internal/attachment.js"
import * as Metrics from "./internal/metrics.js"
import * as Router from "./internal/router.js"
import * as Subscriptions from "./internal/subscriptions.js"
import { LocalHttp } from "./LocalHttp.js"
import { LocalTcp } from "./LocalTcp.js"
import type { Subscription, SubscriptionMode, SubscriptionRequest } from "./Subscription.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface IncomingProxyOptions {
  /**
   * Delays between attempts to reach the local app, while the request cannot have reached it
   * (`LocalHttpError.retryable`); attempts = delays + 1. Default 50, 100, 200, 400, then
   * 500 ms × 5 (10 attempts, 3.25 s), as the intproxy.
   */
  readonly retryBackoff?: ReadonlyArray<Duration.DurationInput>
  /**
   * Request body frames buffered per request before the router waits for the local app (which
   * pushes back on the agent connection). Default 512 (the intproxy uses 128).
   */
  readonly requestBodyBufferFrames?: number
  /** Agent `Data` messages buffered per connection before the router waits. Default 512. */
  readonly tcpDataBufferMessages?: number
  /**
   * Response body frames read ahead of the agent per response (Chunked mode); with a slow
   * agent, reading from the app stops there. Default 16.
   */
  readonly responseReadyFrames?: number
  /** How long a mirrored connection keeps reading after the agent closed it. Default 1 second. */
  readonly mirrorLinger?: Duration.DurationInput
  /** The version in the 502 body prefix `mirrord-effect v<version>: `. Default the package version. */
  readonly badGatewayVersion?: string
  /** Tags added to every metric of this proxy. */
  readonly metricTags?: Record<string, string>
  /**
   * TEST AND DEMO ONLY — never set it in a real proxy. Ignores the negotiated version and the
   * request variant and frames every response in this mode: the naive proxy this library exists
   * to avoid (`"Chunked"` gets a 1.7.0 agent to drop the connection). Used by the counter-proofs.
   */
  readonly unsafeResponseModeOverride?: ResponseMode | undefined
}

/**
 * Live counts, cheap to read (e.g. to check that nothing leaks).
 *
 * @since 0.1.0
 * @category models
 */
export interface IncomingStats {
  readonly attached: boolean
  /** Agent connections attached so far (the current one included). */
  readonly attachments: number
  /** HTTP requests in flight. */
  readonly gateways: number
  /** Raw and upgraded connections being relayed. */
  readonly relays: number
  /** Connection ids with live state (steal + mirror). */
  readonly connections: number
  /** Fibers of the current attachment (gateways and relays). */
  readonly fibers: number
  readonly subscriptions: ReadonlyArray<{
    readonly port: number
    readonly mode: SubscriptionMode
    readonly confirmed: boolean
    readonly handles: number
  }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface IncomingProxyService {
  /**
   * Subscribes a remote port and waits for the agent's confirmation. Nothing is sent before the
   * proxy is attached and the protocol version is known. A refusal (`SubscribeError`, with the
   * agent's own reason) fails this call only; every other subscription keeps serving.
   */
  readonly subscribe: (request: SubscriptionRequest) => Effect.Effect<Subscription, SubscribeError>
  /** `subscribe`, unsubscribed when the scope closes. */
  readonly subscribeScoped: (request: SubscriptionRequest) => Effect.Effect<Subscription, SubscribeError, Scope.Scope>
  /** Drops a handle; the port is unsubscribed at the agent when its last handle goes. */
  readonly unsubscribe: (subscription: Subscription) => Effect.Effect<void>
  /**
   * Serves one agent connection until it ends (success) or is lost (`AgentLost`), or the proxy
   * has failed for good (its `awaitFailure` error). Interrupting it detaches. Subscriptions are
   * (re-)sent once the version is known: the connection's own `negotiated` version when it is
   * a `LiveAgentConnection`, else the first version published in `ProtocolVersion`.
   */
  readonly attach: (connection: AgentConnectionShape) => Effect.Effect<void, IncomingProxyError>
  readonly stats: Effect.Effect<IncomingStats>
  /**
   * Waits until the proxy has stopped for good: `AgentGaveUp` (`layerSession`), `AgentLost`
   * (`layer`, when its one connection ends). Never fails for a detached proxy driven by `attach`.
   * A program should wait on this instead of `Effect.never`, so that it exits (non-zero) with the
   * reason rather than serving nothing.
   */
  readonly awaitFailure: Effect.Effect<never, IncomingProxyError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class IncomingProxy extends Context.Tag("@mirrord-effect/incoming/IncomingProxy")<
  IncomingProxy,
  IncomingProxyService
>() {}

/**
 * The version of this package, used in synthesized 502 bodies.
 *
 * @since 0.1.0
 * @category constants
 */
export const PACKAGE_VERSION = "0.1.0"

const defaultBackoff: ReadonlyArray<Duration.DurationInput> = [50, 100, 200, 400, 500, 500, 500, 500, 500]

const resolve = (options: IncomingProxyOptions): ResolvedOptions => ({
  retryBackoff: (options.retryBackoff ?? defaultBackoff).map((d) => Duration.decode(d)),
  requestBodyBufferFrames: options.requestBodyBufferFrames ?? 512,
  tcpDataBufferMessages: options.tcpDataBufferMessages ?? 512,
  responseReadyFrames: options.responseReadyFrames ?? 16,
  mirrorLinger: Duration.decode(options.mirrorLinger ?? Duration.seconds(1)),
  badGatewayVersion: options.badGatewayVersion ?? PACKAGE_VERSION
})

/** A proxy and the switch that stops it for good (used by the layers that own its connections). */
interface ControlledProxy {
  readonly service: IncomingProxyService
  /** Fails `awaitFailure`, every pending and later `subscribe`, and the current attachment. */
  readonly stop: (error: IncomingProxyError) => Effect.Effect<void>
}

const hasNegotiated = (connection: AgentConnectionShape): connection is LiveAgentConnection =>
  "negotiated" in connection && Effect.isEffect((connection as LiveAgentConnection).negotiated)

const makeControlled = (
  options: IncomingProxyOptions
): Effect.Effect<ControlledProxy, never, Scope.Scope | ProtocolVersion | LocalHttp | LocalTcp> =>
  Effect.gen(function*() {
    const versionRef = yield* ProtocolVersion
    const ctx: ProxyContext = {
      options: resolve(options),
      localHttp: yield* LocalHttp,
      localTcp: yield* LocalTcp,
      metrics: Metrics.make(options.metricTags ?? {}),
      counters: { gateways: 0, relays: 0 }
    }
    const subscriptions = yield* Subscriptions.make
    const failure = yield* Deferred.make<never, IncomingProxyError>()
    let current: Attachment | undefined
    let attaching = false
    let attachments = 0

    const override = options.unsafeResponseModeOverride
    const responseMode = (variant: Parameters<typeof ProtocolVersionModule.responseMode>[0]) =>
      override !== undefined
        ? Effect.succeed(override)
        : Effect.provideService(ProtocolVersionModule.responseMode(variant), ProtocolVersion, versionRef)

    const stop = (error: IncomingProxyError) =>
      Effect.zipRight(Deferred.fail(failure, error), subscriptions.fail(error))

    const lost = (cause: AgentConnectionError) =>
      new IncomingProxyError({ reason: "AgentLost", detail: cause.message, cause })

    const serve = (
      connection: AgentConnectionShape,
      version: Effect.Effect<SemVer, AgentConnectionError>
    ): Effect.Effect<void, IncomingProxyError, Scope.Scope> =>
      Effect.gen(function*() {
        attachments++
        const fibers = yield* FiberSet.make<void, never>()
        const attachment: Attachment = {
          send: (message) => Effect.catchAll(connection.send(message), () => Effect.interrupt),
          post: (message) => Effect.ignore(connection.send(message)),
          fibers,
          connections: { steal: new Map(), mirror: new Map() }
        }
        current = attachment
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (current === attachment) current = undefined
          })
        )
        yield* subscriptions.attach(attachment.post)
        yield* Effect.addFinalizer(() => subscriptions.detach)
        // Subscriptions go out once the version of this connection is known (a failed
        // negotiation is a lost connection).
        const subscribeWhenKnown = version.pipe(
          Effect.mapError(lost),
          Effect.flatMap(subscriptions.ready),
          Effect.zipRight(Effect.never)
        )
        const router = Router.make(ctx, attachment, subscriptions, responseMode)
        const routed = connection.messages.pipe(Stream.mapError(lost), Stream.runForEach(router.handle))
        // The first to end, by success or failure, ends the attachment; a proxy stopped for good
        // stops it as well.
        yield* Effect.raceFirst(routed, Effect.raceFirst(subscribeWhenKnown, Deferred.await(failure)))
      })

    const publishedVersion: Effect.Effect<SemVer> = Effect.provideService(
      ProtocolVersionModule.awaitKnown,
      ProtocolVersion,
      versionRef
    )

    const attach = (connection: AgentConnectionShape): Effect.Effect<void, IncomingProxyError> =>
      Effect.flatMap(Deferred.poll(failure), (failed) => {
        if (failed._tag === "Some") return failed.value
        if (attaching) {
          return Effect.fail(
            new IncomingProxyError({ reason: "AlreadyAttached", detail: "the proxy is already attached to an agent" })
          )
        }
        attaching = true
        const version = hasNegotiated(connection) ? connection.negotiated : publishedVersion
        return Effect.scoped(serve(connection, version)).pipe(
          Effect.ensuring(Effect.sync(() => {
            attaching = false
          }))
        )
      })

    const stats: Effect.Effect<IncomingStats> = Effect.gen(function*() {
      const attachment = current
      return {
        attached: attachment !== undefined,
        attachments,
        gateways: ctx.counters.gateways,
        relays: ctx.counters.relays,
        connections: attachment === undefined
          ? 0
          : attachment.connections.steal.size + attachment.connections.mirror.size,
        fibers: attachment === undefined ? 0 : yield* FiberSet.size(attachment.fibers),
        subscriptions: subscriptions.info()
      }
    })

    const service: IncomingProxyService = {
      subscribe: subscriptions.subscribe,
      subscribeScoped: (request) =>
        Effect.acquireRelease(subscriptions.subscribe(request), subscriptions.unsubscribe),
      unsubscribe: subscriptions.unsubscribe,
      attach,
      stats,
      awaitFailure: Deferred.await(failure)
    }
    return { service, stop }
  })

/**
 * Builds a detached proxy; see {@link IncomingProxyService.attach}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: IncomingProxyOptions = {}
): Effect.Effect<IncomingProxyService, never, Scope.Scope | ProtocolVersion | LocalHttp | LocalTcp> =>
  Effect.map(makeControlled(options), (proxy) => proxy.service)

/** Stops the proxy for good, and says so in the log (for programs that do not await the failure). */
const stopLogged = (proxy: ControlledProxy, error: IncomingProxyError) =>
  Effect.zipRight(Effect.logError(`the incoming proxy stopped: ${error.message}`), proxy.stop(error))

/**
 * A proxy that is not attached to any agent yet (call `attach`, e.g. once per connection).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDetached = (
  options?: IncomingProxyOptions
): Layer.Layer<IncomingProxy, never, ProtocolVersion | LocalHttp | LocalTcp> =>
  Layer.scoped(IncomingProxy, make(options))

/**
 * A proxy attached to the `AgentConnection` of the context for the layer's lifetime; nothing
 * reconnects. When that connection ends or is lost, the proxy stops for good: `awaitFailure`
 * fails with `AgentLost` (its `cause` is the connection's error), and so does every pending and
 * later `subscribe` (`ProxyFailed`). Use `layerSession` to survive agent loss.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: IncomingProxyOptions
): Layer.Layer<IncomingProxy, never, AgentConnection | ProtocolVersion | LocalHttp | LocalTcp> =>
  Layer.scoped(
    IncomingProxy,
    Effect.gen(function*() {
      const proxy = yield* makeControlled(options ?? {})
      const connection = yield* AgentConnection
      yield* proxy.service.attach(connection).pipe(
        Effect.matchEffect({
          onFailure: (error) => stopLogged(proxy, error),
          onSuccess: () =>
            stopLogged(proxy, new IncomingProxyError({ reason: "AgentLost", detail: "the agent connection ended" }))
        }),
        Effect.forkScoped
      )
      return proxy.service
    })
  )

/**
 * A proxy attached to every connection of the `AgentSession` of the context in turn: on each
 * (re)connection it re-subscribes every live subscription, built for that connection's
 * negotiated version; requests in flight at a loss are cancelled (see the module doc). When the
 * session gives up, the proxy stops for good: `awaitFailure` fails with `AgentGaveUp` (its
 * `cause` is the session's `GaveUp` error; with reconnect disabled, `AgentLost` with the error
 * that ended the connection), and so does every pending and later `subscribe` (`ProxyFailed`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSession = (
  options?: IncomingProxyOptions
): Layer.Layer<IncomingProxy, never, AgentSession | ProtocolVersion | LocalHttp | LocalTcp> =>
  Layer.scoped(
    IncomingProxy,
    Effect.gen(function*() {
      const proxy = yield* makeControlled(options ?? {})
      const session = yield* AgentSession
      yield* session.connections.pipe(
        Stream.runForEach((connection) =>
          proxy.service.attach(connection).pipe(
            // The session re-dials after a loss; the next connection arrives on the stream.
            Effect.catchAll((error) => Effect.logWarning(`agent connection ended: ${error.message}`))
          )
        ),
        Effect.matchEffect({
          onFailure: (error) =>
            stopLogged(
              proxy,
              new IncomingProxyError({
                reason: error.reason === "GaveUp" ? "AgentGaveUp" : "AgentLost",
                detail: error.message,
                cause: error
              })
            ),
          onSuccess: () =>
            stopLogged(proxy, new IncomingProxyError({ reason: "AgentLost", detail: "the agent session ended" }))
        }),
        Effect.forkScoped
      )
      return proxy.service
    })
  )

/**
 * Waits until the proxy of the context has stopped for good, and fails with the reason; see
 * {@link IncomingProxyService.awaitFailure}. Run a program with it instead of `Effect.never`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const awaitFailure: Effect.Effect<never, IncomingProxyError, IncomingProxy> = Effect.flatMap(
  IncomingProxy,
  (proxy) => proxy.awaitFailure
)

/**
 * @since 0.1.0
 * @category accessors
 */
export const subscribe = (request: SubscriptionRequest): Effect.Effect<Subscription, SubscribeError, IncomingProxy> =>
  Effect.flatMap(IncomingProxy, (proxy) => proxy.subscribe(request))

/**
 * @since 0.1.0
 * @category accessors
 */
export const stats: Effect.Effect<IncomingStats, never, IncomingProxy> = Effect.flatMap(IncomingProxy, (p) => p.stats)

