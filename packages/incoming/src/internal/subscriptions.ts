/**
 * The port subscriptions, keyed by remote port, and their life cycle with the agent:
 * sent once the proxy is attached to an agent and the protocol version is known, confirmed by
 * `SubscribeResult`, re-sent (built with the new version) after a re-attach, unsubscribed when
 * the last handle for a port goes.
 *
 * Several handles may share a port (the newest is active and receives traffic; when it goes,
 * the previous one is active again), as the intproxy's active and queued sources do.
 *
 * @internal
 */
import type { ClientMessage, ResponseError } from "@mirrord-effect/protocol/Message"
import type { SemVer } from "@mirrord-effect/protocol/Version"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { IncomingProxyError, SubscribeError } from "../IncomingError.js"
import type { Subscription, SubscriptionMode, SubscriptionRequest } from "../Subscription.js"
import { subscribeMessage, unsubscribeMessage } from "../Subscription.js"

interface PortEntry {
  readonly port: number
  readonly mode: SubscriptionMode
  /** Oldest first; the last one is active. */
  readonly sources: Array<Subscription>
  /** The source whose request built the agent message (the first one). */
  readonly request: SubscriptionRequest
  sent: boolean
  confirmed: boolean
  readonly waiters: Map<number, Deferred.Deferred<void, SubscribeError>>
}

/** What the proxy does with the agent's `SubscribeResult`. @internal */
export type SubscribeResult = { readonly _tag: "Ok"; readonly value: number } | {
  readonly _tag: "Err"
  readonly value: ResponseError
}

/** A snapshot for `stats`. @internal */
export interface SubscriptionInfo {
  readonly port: number
  readonly mode: SubscriptionMode
  readonly confirmed: boolean
  readonly handles: number
}

/** @internal */
export interface Subscriptions {
  readonly subscribe: (request: SubscriptionRequest) => Effect.Effect<Subscription, SubscribeError>
  readonly unsubscribe: (subscription: Subscription) => Effect.Effect<void>
  /** The active handle for a port in a mode (what requests and connections are routed by). */
  readonly lookup: (port: number, mode: SubscriptionMode) => Subscription | undefined
  /** A new agent link: nothing is sent until `ready`. */
  readonly attach: (send: (message: ClientMessage) => Effect.Effect<void>) => Effect.Effect<void>
  /** The link's protocol version is known: (re-)send every subscription built for it. */
  readonly ready: (version: SemVer) => Effect.Effect<void>
  /** The link is gone: every subscription becomes unconfirmed and unsent. */
  readonly detach: Effect.Effect<void>
  readonly agentResponded: (result: SubscribeResult) => Effect.Effect<void, IncomingProxyError>
  /** The proxy failed: pending and later subscriptions fail. */
  readonly fail: (error: IncomingProxyError) => Effect.Effect<void>
  readonly info: () => ReadonlyArray<SubscriptionInfo>
}

const portOfBlockedAction = (
  action: Extract<ResponseError, { readonly _tag: "Forbidden" }>["blocked_action"]
): { readonly port: number; readonly mode: SubscriptionMode } | undefined => {
  switch (action._tag) {
    case "Steal":
      return { port: action.value._tag === "All" ? action.value.value : action.value.values[0], mode: "steal" }
    case "Mirror":
      return { port: action.value, mode: "mirror" }
    default:
      return undefined
  }
}

/** @internal */
export const make: Effect.Effect<Subscriptions> = Effect.gen(function*() {
  const lock = yield* Effect.makeSemaphore(1)
  const entries = new Map<number, PortEntry>()
  let nextId = 1
  let link: { readonly send: (message: ClientMessage) => Effect.Effect<void>; version: SemVer | undefined } | undefined
  let failed: IncomingProxyError | undefined

  const settle = (entry: PortEntry, result: Either.Either<void, SubscribeError>): Effect.Effect<void> =>
    Effect.forEach(entry.waiters.values(), (d) => Deferred.complete(d, result), { discard: true }).pipe(
      Effect.zipRight(Effect.sync(() => entry.waiters.clear()))
    )

  const remove = (entry: PortEntry, error: SubscribeError): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (entries.get(entry.port) === entry) entries.delete(entry.port)
      return settle(entry, Either.left(error))
    })

  /** Sends the subscribe message of `entry` if the link is ready; refuses it if it cannot be built. */
  const sendEntry = (entry: PortEntry): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (link === undefined || link.version === undefined || entry.sent) return Effect.void
      const built = subscribeMessage(entry.request, Option.some(link.version))
      if (Either.isLeft(built)) return remove(entry, built.left)
      entry.sent = true
      const send = link.send
      return Effect.zipRight(
        built.right.warning === undefined ? Effect.void : Effect.logWarning(built.right.warning),
        send(built.right.message)
      )
    })

  const subscribe = (request: SubscriptionRequest): Effect.Effect<Subscription, SubscribeError> =>
    Effect.flatMap(
      lock.withPermits(1)(Effect.gen(function*() {
        if (failed !== undefined) {
          return yield* new SubscribeError({ reason: "ProxyFailed", port: request.port, detail: failed.message, cause: failed })
        }
        const handle: Subscription = { ...request, id: nextId++ }
        const existing = entries.get(request.port)
        if (existing !== undefined && existing.mode !== request.mode) {
          return yield* new SubscribeError({
            reason: "ModeConflict",
            port: request.port,
            detail: `port ${request.port} is already subscribed in ${existing.mode} mode`
          })
        }
        const entry: PortEntry = existing ?? {
          port: request.port,
          mode: request.mode,
          sources: [],
          request,
          sent: false,
          confirmed: false,
          waiters: new Map()
        }
        entry.sources.push(handle)
        if (existing === undefined) entries.set(request.port, entry)
        if (entry.confirmed) return { handle, wait: Effect.void }
        const waiter = yield* Deferred.make<void, SubscribeError>()
        entry.waiters.set(handle.id, waiter)
        yield* sendEntry(entry)
        return { handle, wait: Deferred.await(waiter) }
      })),
      ({ handle, wait }) =>
        wait.pipe(
          Effect.as(handle),
          // An interrupted caller leaves nothing behind.
          Effect.onInterrupt(() => unsubscribe(handle))
        )
    )

  const unsubscribe = (subscription: Subscription): Effect.Effect<void> =>
    lock.withPermits(1)(Effect.suspend(() => {
      const entry = entries.get(subscription.port)
      if (entry === undefined) return Effect.void
      const index = entry.sources.findIndex((s) => s.id === subscription.id)
      if (index === -1) return Effect.void
      entry.sources.splice(index, 1)
      const waiter = entry.waiters.get(subscription.id)
      entry.waiters.delete(subscription.id)
      const settleWaiter = waiter === undefined ? Effect.void : Deferred.interrupt(waiter)
      if (entry.sources.length > 0) return settleWaiter
      entries.delete(entry.port)
      const sendUnsubscribe = entry.sent && link !== undefined
        ? link.send(unsubscribeMessage(entry.port, entry.mode))
        : Effect.void
      return Effect.zipRight(settleWaiter, sendUnsubscribe)
    }))

  const lookup = (port: number, mode: SubscriptionMode): Subscription | undefined => {
    const entry = entries.get(port)
    if (entry === undefined || entry.mode !== mode) return undefined
    return entry.sources[entry.sources.length - 1]
  }

  const attach = (send: (message: ClientMessage) => Effect.Effect<void>) =>
    lock.withPermits(1)(Effect.sync(() => {
      link = { send, version: undefined }
      for (const entry of entries.values()) {
        entry.sent = false
        entry.confirmed = false
      }
    }))

  const ready = (version: SemVer) =>
    lock.withPermits(1)(Effect.suspend(() => {
      if (link === undefined) return Effect.void
      link.version = version
      return Effect.forEach([...entries.values()], sendEntry, { discard: true })
    }))

  const detach = lock.withPermits(1)(Effect.sync(() => {
    link = undefined
    for (const entry of entries.values()) {
      entry.sent = false
      entry.confirmed = false
    }
  }))

  const agentResponded = (result: SubscribeResult): Effect.Effect<void, IncomingProxyError> =>
    lock.withPermits(1)(Effect.suspend((): Effect.Effect<void, IncomingProxyError> => {
      if (result._tag === "Ok") {
        const entry = entries.get(result.value)
        if (entry === undefined || entry.confirmed) return Effect.void
        entry.confirmed = true
        return settle(entry, Either.right(undefined))
      }
      const error = result.value
      switch (error._tag) {
        case "PortAlreadyStolen": {
          const entry = entries.get(error.value)
          // A late refusal of a confirmed subscription is ignored (intproxy `with_double_response`).
          if (entry === undefined || entry.confirmed) return Effect.void
          return remove(
            entry,
            new SubscribeError({ reason: "PortAlreadyStolen", port: entry.port, detail: "another client steals this port", cause: error })
          )
        }
        case "Forbidden":
        case "ForbiddenWithReason": {
          const target = portOfBlockedAction(error.blocked_action)
          if (target === undefined) {
            return Effect.logWarning(`the agent reported a policy block unrelated to incoming traffic: ${error.blocked_action._tag}`)
          }
          const entry = entries.get(target.port)
          if (entry === undefined) return Effect.void
          const detail = `blocked by policy ${error.policy_name ?? "(unnamed)"}${
            error._tag === "ForbiddenWithReason" ? `: ${error.reason}` : ""
          }`
          if (entry.confirmed) {
            return Effect.fail(
              new IncomingProxyError({
                reason: "SubscriptionFailed",
                detail: `the confirmed subscription of port ${entry.port} was ${detail}`,
                cause: error
              })
            )
          }
          return remove(entry, new SubscribeError({ reason: "Forbidden", port: entry.port, detail, cause: error }))
        }
        default:
          return Effect.fail(
            new IncomingProxyError({
              reason: "SubscriptionFailed",
              detail: `the agent refused a subscription with ${error._tag}`,
              cause: error
            })
          )
      }
    }))

  const fail = (error: IncomingProxyError) =>
    lock.withPermits(1)(Effect.suspend(() => {
      failed = error
      const all = [...entries.values()]
      entries.clear()
      return Effect.forEach(
        all,
        (entry) =>
          settle(entry, Either.left(new SubscribeError({ reason: "ProxyFailed", port: entry.port, detail: error.message, cause: error }))),
        { discard: true }
      )
    }))

  const info = (): ReadonlyArray<SubscriptionInfo> =>
    [...entries.values()].map((e) => ({ port: e.port, mode: e.mode, confirmed: e.confirmed, handles: e.sources.length }))

  return { subscribe, unsubscribe, lookup, attach, ready, detach, agentResponded, fail, info } satisfies Subscriptions
})
