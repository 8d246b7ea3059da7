/**
 * Port subscriptions: what the host asks for, and the pure rule that turns a request into the
 * agent message for a given protocol version (with the filter version gates).
 *
 * @since 0.1.0
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"
import * as Tcp from "@mirrord-effect/protocol/Tcp"
import type { SemVer } from "@mirrord-effect/protocol/Version"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { SubscribeError } from "./IncomingError.js"
import type { LocalTarget } from "./LocalHttp.js"

/**
 * `steal`: the agent hands over matching traffic and the proxy answers it; `mirror`: the agent
 * sends a copy and the proxy discards the local app's answers.
 *
 * @since 0.1.0
 * @category models
 */
export type SubscriptionMode = "steal" | "mirror"

/**
 * @since 0.1.0
 * @category models
 */
export interface SubscriptionRequest {
  /** The remote port (in the target pod). */
  readonly port: number
  readonly mode: SubscriptionMode
  /** Only HTTP requests matching this filter (steal: `FilteredHttpEx`; mirror: from 1.21.1). */
  readonly filter?: HttpFilter | undefined
  /** Where the local application listens: the only address traffic is forwarded to. */
  readonly target: LocalTarget
}

/**
 * A live subscription handle. Several handles may share one remote port; the newest one
 * receives the traffic, and the port is unsubscribed at the agent when the last handle goes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Subscription extends SubscriptionRequest {
  readonly id: number
}

/**
 * The agent message for a subscription, and a warning when part of the request had to be
 * dropped for this version.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscribeMessage {
  readonly message: ClientMessage
  readonly warning: string | undefined
}

const filterGates: ReadonlyArray<readonly [HttpFilter["_tag"], Version.VersionRequirement]> = [
  ["Composite", Version.HTTP_COMPOSITE_FILTER_VERSION],
  ["Method", Version.HTTP_METHOD_FILTER_VERSION],
  ["Body", Version.HTTP_BODY_JSON_FILTER_VERSION],
  ["HeaderJq", Version.HTTP_HEADER_JQ_FILTER_VERSION]
]

/**
 * The first filter variant (at any depth) an agent of `version` cannot decode, with the
 * version that introduced it. An unknown version is treated as mirrord's default client
 * version (1.2.2): only `Header` and `Path` pass.
 *
 * @since 0.1.0
 * @category versions
 */
export const unsupportedFilterVariant = (
  filter: HttpFilter,
  version: Option.Option<SemVer>
): { readonly name: string; readonly since: string } | undefined => {
  const v = Option.getOrElse(version, () => Version.CLIENT_DEFAULT_VERSION)
  // Depth-first in document order with an explicit stack: filters may nest thousands deep.
  const pending: Array<HttpFilter> = [filter]
  while (pending.length > 0) {
    const f = pending.pop()!
    for (const [tag, gate] of filterGates) {
      if (f._tag === tag && !gate.matches(v)) return { name: `HttpFilter::${tag}`, since: gate.range }
    }
    if (f._tag === "Composite") {
      for (let i = f.filters.length - 1; i >= 0; i--) pending.push(f.filters[i]!)
    }
  }
  return undefined
}

/**
 * Builds the subscribe message for `version`:
 * - steal without a filter: `LayerTcpSteal::PortSubscribe(StealType::All(port))`;
 * - steal with a filter: `PortSubscribe(StealType::FilteredHttpEx(port, filter))`;
 * - mirror without a filter: `LayerTcp::PortSubscribe(port)`;
 * - mirror with a filter: `LayerTcp::PortSubscribeFilteredHttp(port, filter)` from 1.21.1
 *   (`MIRROR_HTTP_FILTER_VERSION`); below that, or with an unknown version, it degrades to
 *   `PortSubscribe(port)` with a warning (the filter is ignored, as mirrord does).
 *
 * A filter variant the agent cannot decode fails with `SubscribeError{reason:"UnsupportedFilter"}`.
 * Whatever this returns as `Left` fails that `subscribe` call only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const subscribeMessage = (
  request: SubscriptionRequest,
  version: Option.Option<SemVer>
): Either.Either<SubscribeMessage, SubscribeError> => {
  const { filter, port } = request
  const refuse = (bad: { readonly name: string; readonly since: string }) =>
    Either.left(
      new SubscribeError({
        reason: "UnsupportedFilter",
        port,
        detail: `${bad.name} needs agent protocol ${bad.since}, the agent speaks ${
          Option.match(version, { onNone: () => "an unknown version", onSome: Version.format })
        }`
      })
    )
  if (request.mode === "mirror") {
    if (filter === undefined) {
      return Either.right({ message: { _tag: "Tcp", value: { _tag: "PortSubscribe", value: port } }, warning: undefined })
    }
    if (Option.isNone(version) || !Version.MIRROR_HTTP_FILTER_VERSION.matches(version.value)) {
      return Either.right({
        message: { _tag: "Tcp", value: { _tag: "PortSubscribe", value: port } },
        warning: `the agent protocol (${
          Option.match(version, { onNone: () => "unknown", onSome: Version.format })
        }) cannot mirror with an HTTP filter (needs ${Version.MIRROR_HTTP_FILTER_VERSION.range}); port ${port} is mirrored without its filter`
      })
    }
  }
  if (filter !== undefined) {
    // A filter nested beyond the codec's limit cannot be encoded, and no agent would decode it:
    // refuse it before anything walks it recursively (filterDepth itself is iterative).
    const depth = Tcp.filterDepth(filter)
    if (depth > Codec.defaultMaxDepth) {
      return Either.left(
        new SubscribeError({
          reason: "FilterUnencodable",
          port,
          detail: `the filter is nested ${depth} levels deep; at most ${Codec.defaultMaxDepth} can be encoded (a real agent aborts beyond about 4,600)`
        })
      )
    }
    const bad = unsupportedFilterVariant(filter, version)
    if (bad !== undefined) return refuse(bad)
  }
  const message: ClientMessage = request.mode === "mirror"
    ? { _tag: "Tcp", value: { _tag: "PortSubscribeFilteredHttp", values: [port, filter!] } }
    : {
      _tag: "TcpSteal",
      value: {
        _tag: "PortSubscribe",
        value: filter === undefined
          ? { _tag: "All", value: port }
          : { _tag: "FilteredHttpEx", values: [port, filter] }
      }
    }
  // Belt and braces: anything else in the message the agent could not decode is refused too.
  if (Option.isSome(version)) {
    const undecodable = Codec.firstUndecodableVariant("ClientMessage", message, Version.format(version.value))
    if (undecodable !== undefined) {
      return refuse({ name: `${undecodable.enumName}::${undecodable.name}`, since: `>=${undecodable.since}` })
    }
  }
  return Either.right({ message, warning: undefined })
}

/**
 * `LayerTcpSteal::PortUnsubscribe(port)` or `LayerTcp::PortUnsubscribe(port)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsubscribeMessage = (port: number, mode: SubscriptionMode): ClientMessage =>
  mode === "steal"
    ? { _tag: "TcpSteal", value: { _tag: "PortUnsubscribe", value: port } }
    : { _tag: "Tcp", value: { _tag: "PortUnsubscribe", value: port } }
