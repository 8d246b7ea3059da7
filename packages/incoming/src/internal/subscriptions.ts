/**
 * The port subscriptions, keyed by remote port, and their life cycle with the agent:
 * sent once the proxy is attached to an agent and the protocol version is known, confirmed by
 * `SubscribeResult`, re-sent (built with the new version) after a re-attach, unsubscribed when
 * the last handle for a port goes.
 *
 * Several handles may share a port (the newest is active and receives traffic; when it goes,
 * the previous one is active again), as the intproxy's active and queued sources do.
 *
 * Failure isolation: an agent refusal fails the subscription it answers and nothing else. Most
 * refusals name their port; one that does not (e.g. `Remote(BadHttpFilterExRegex)`, which names
 * the filter) is matched by its filter, else to the oldest unanswered subscription on its channel
 * (the agent answers each channel's subscriptions in the order they were sent).
 *
 * @internal
 */
import type { ClientMessage, ResponseError } from "@mirrord-effect/protocol/Message"
import type { SemVer } from "@mirrord-effect/protocol/Version"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { IncomingProxyError } from "../IncomingError.js"
import { SubscribeError } from "../IncomingError.js"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import type { Subscription, SubscriptionMode, SubscriptionRequest } from "../Subscription.js"
import { subscribeMessage, unsubscribeMessage } from "../Subscription.js"
import { describeRefusal, refusedFilter } from "./agentRefusal.js"

interface PortEntry {
  readonly port: number
  readonly mode: SubscriptionMode
  /** Oldest first; the last one is active. */
  readonly sources: Array<Subscription>
  /** The source whose request built the agent message (the first one). */
  readonly request: SubscriptionRequest
  sent: boolean
  /** Order of sending on the current link (matches refusals that name no port). */
  sentSeq: number
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
  /**
   * The agent's `SubscribeResult` on the channel of `mode`: settles the subscription it answers.
   * Never fails: a refusal fails that subscription's `subscribe` only.
   */
  readonly agentResponded: (result: SubscribeResult, mode?: SubscriptionMode) => Effect.Effect<void>
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
  let nextSentSeq = 1
  let link: { readonly send: (message: ClientMessage) => Effect.Effect<void>; version: SemVer | undefined } | undefined
  let failed: IncomingProxyError | undefined

  const settle = (entry: PortEntry, result: Either.Either<void, SubscribeError>): Effect.Effect<void> =>
    Effect.forEach(entry.waiters.values(), (d) => Deferred.complete(d, result), { discard: true }).pipe(
      Effect.zipRight(Effect.sync(() => entry.waiters.clear()))
    )

  const remove = (entry: PortEntry, error: SubscribeError): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (entries.get(entry.port) === entry) entries.delete(entry.port)
      // Nobody waits when a subscription confirmed on an earlier connection is refused on re-send.
      const unnoticed = entry.waiters.size === 0
        ? Effect.logError(`port ${entry.port} is no longer subscribed (${entry.mode}): ${error.detail}`)
        : Effect.void
      return Effect.zipRight(unnoticed, settle(entry, Either.left(error)))
    })

  /** Sends the subscribe message of `entry` if the link is ready; refuses it if it cannot be built. */
  const sendEntry = (entry: PortEntry): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (link === undefined || link.version === undefined || entry.sent) return Effect.void
      const built = subscribeMessage(entry.request, Option.some(link.version))
      if (Either.isLeft(built)) return remove(entry, built.left)
      entry.sent = true
      entry.sentSeq = nextSentSeq++
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
          sentSeq: 0,
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

  /** Subscriptions sent on this link and not answered yet, oldest first. */
  const unanswered = (mode: SubscriptionMode | undefined): Array<PortEntry> =>
    [...entries.values()]
      .filter((e) => e.sent && !e.confirmed && (mode === undefined || e.mode === mode))
      .sort((a, b) => a.sentSeq - b.sentSeq)

  const entryFor = (port: number, mode: SubscriptionMode | undefined): PortEntry | undefined => {
    const entry = entries.get(port)
    return entry === undefined || (mode !== undefined && entry.mode !== mode) ? undefined : entry
  }

  const agentResponded = (result: SubscribeResult, mode?: SubscriptionMode): Effect.Effect<void> =>
    lock.withPermits(1)(Effect.suspend((): Effect.Effect<void> => {
      if (result._tag === "Ok") {
        const entry = entryFor(result.value, mode)
        if (entry === undefined || entry.confirmed) return Effect.void
        entry.confirmed = true
        return settle(entry, Either.right(undefined))
      }
      const error = result.value
      switch (error._tag) {
        case "PortAlreadyStolen": {
          const entry = entryFor(error.value, mode)
          // A late refusal of a confirmed subscription is ignored (intproxy `with_double_response`).
          if (entry === undefined || entry.confirmed) return Effect.void
          return remove(
            entry,
            new SubscribeError({ reason: "PortAlreadyStolen", port: entry.port, detail: describeRefusal(error), cause: error })
          )
        }
        case "Forbidden":
        case "ForbiddenWithReason": {
          const target = portOfBlockedAction(error.blocked_action)
          if (target === undefined) {
            return Effect.logWarning(`the agent reported a policy block unrelated to incoming traffic: ${error.blocked_action._tag}`)
          }
          const entry = entryFor(target.port, target.mode)
          if (entry === undefined) return Effect.void
          if (entry.confirmed) {
            return Effect.logWarning(`ignoring a late refusal of the confirmed subscription of port ${entry.port}: ${describeRefusal(error)}`)
          }
          return remove(entry, new SubscribeError({ reason: "Forbidden", port: entry.port, detail: describeRefusal(error), cause: error }))
        }
        default: {
          const candidates = unanswered(mode)
          const named = refusedFilter(error)
          const entry = (named === undefined
            ? undefined
            : candidates.find((e) => e.request.filter !== undefined && sameFilter(e.request.filter, named))) ??
            candidates[0]
          if (entry === undefined) {
            return Effect.logWarning(`the agent refused a subscription that is no longer pending: ${describeRefusal(error)}`)
          }
          return remove(entry, new SubscribeError({ reason: "Refused", port: entry.port, detail: describeRefusal(error), cause: error }))
        }
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

/** Structural equality of two filters (the agent echoes the filter it could not compile). */
const sameFilter = (a: HttpFilter, b: HttpFilter): boolean => {
  switch (a._tag) {
    case "Composite":
      return b._tag === "Composite" && a.all === b.all && a.filters.length === b.filters.length &&
        a.filters.every((f, i) => sameFilter(f, b.filters[i]!))
    case "Method":
      return b._tag === "Method" && a.value._tag === b.value._tag &&
        (a.value._tag !== "Other" || (b.value._tag === "Other" && a.value.value === b.value.value))
    case "Body":
      return b._tag === "Body" && a.value.query === b.value.query && a.value.matches === b.value.matches
    default:
      return a._tag === b._tag && a.value === (b as { readonly value: unknown }).value
  }
}
