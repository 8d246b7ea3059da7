/**
 * A mirrord agent simulator of any protocol version, over real TCP.
 *
 * It accepts client (intproxy) connections, decodes their bytes as an agent of `version` does
 * (an unknown variant at any depth drops that connection without `Close`, and is recorded),
 * negotiates as agents of that era did, answers subscriptions, and injects stolen traffic:
 * HTTP requests in the variant that agent uses for that client (`request`), raw TCP connections
 * (`connect`), and real HTTP clients through a local HTTP front (`serveHttp`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import type * as Version from "@mirrord-effect/protocol/Version"
import type { AgentSimError } from "./AgentSimError.js"
import * as internal from "./internal/sim.js"
import type { DropReason, Recorded, SimEvent } from "./Recording.js"
import type { ResponseEvent } from "./ResponseEvent.js"
import type { TcpDuplex } from "./TcpDuplex.js"

/**
 * A configured answer to a port subscription (default: `Ok(port)`).
 *
 * @since 0.1.0
 * @category models
 */
export type SubscribeOutcome = "Ok" | "PortAlreadyStolen" | "Forbidden"

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentSimOptions {
  /** the protocol version the simulated agent speaks, e.g. `"1.7.0"` */
  readonly version: string | Version.SemVer
  /** where to accept client connections; default `127.0.0.1`, port 0 (any free port) */
  readonly listen?: { readonly host?: string; readonly port?: number }
  /** per remote port, the answer to subscriptions on it (steal and mirror); default Ok */
  readonly subscribeResults?: Readonly<Record<number, SubscribeOutcome>>
  /** the IP of the simulated pod (destination of requests and connections); default 10.0.0.2 */
  readonly podAddress?: string
  /** called synchronously for every recorded message (e.g. to trace them) */
  readonly onRecord?: (recorded: Recorded) => void
  /**
   * keep every message in `recording` (default true); turn off for long or heavy runs, where the
   * bodies would otherwise stay in memory (`onRecord` and `drops` still work)
   */
  readonly record?: boolean
  /** largest client message accepted (default 1 GiB; a real agent has no limit) */
  readonly maxMessageBytes?: number
}

/**
 * An HTTP request arriving at the simulated pod.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpRequestInput {
  readonly method: string
  /** request target as sent by the original client, e.g. `/api/items?x=1` */
  readonly uri: string
  /** lower-case names */
  readonly headers?: Tcp.HeaderMap
  /** default `HTTP/1.1` */
  readonly version?: Tcp.HttpVersion
  /** the body: bytes available at once, or a stream whose chunks are sent as they come */
  readonly body?: Stream.Stream<Uint8Array, unknown> | Uint8Array
  /** request trailers, or an effect giving them once the body has ended (dropped by the legacy variant) */
  readonly trailers?: Tcp.HeaderMap | Effect.Effect<Tcp.HeaderMap | undefined>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** the original client's socket address, in the request metadata (`StartV2`); default `10.0.0.1:40000` */
  readonly source?: string
}

/**
 * A subscription as the simulator holds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscriptionInfo {
  readonly clientId: number
  readonly port: number
  readonly mode: "steal" | "mirror"
  /** `All` (unfiltered), an `HttpFilter`, or the legacy header regex of `StealType::FilteredHttp` */
  readonly filter:
    | { readonly _tag: "All" }
    | { readonly _tag: "Filter"; readonly filter: Tcp.HttpFilter }
    | { readonly _tag: "LegacyHeader"; readonly regex: string }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientInfo {
  readonly id: number
  readonly remote: string
  /** what the client announced in `SwitchProtocolVersion`; undefined before */
  readonly clientVersion: string | undefined
  /** min(agent, client), the client counting as 1.2.2 before negotiation: what gates what it is sent */
  readonly effectiveVersion: string
  readonly subscriptions: ReadonlyArray<SubscriptionInfo>
}

/**
 * An HTTP connection kept open across requests, as agents before mid-2025 did: one connection
 * id, request ids 0, 1, 2, … The simulator does not send `Close` after each response; `close`
 * (or the scope) sends it to every client that got a request on it.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpConnection {
  readonly connectionId: bigint
  readonly request: (request: HttpRequestInput, options?: RequestOptions) => Stream.Stream<ResponseEvent, AgentSimError>
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentSim {
  /** the simulated agent's protocol version */
  readonly version: Version.SemVer
  /** where clients connect */
  readonly address: { readonly host: string; readonly port: number }
  /**
   * Injects an HTTP request for remote `port`. The first steal subscription that selects it
   * (filters, era gates) gets it, in the variant this agent uses for that client:
   * `HttpRequest` below 1.3.0, `HttpRequestFramed` to 1.6.x (body buffered), `StartV1` + `Body`
   * to 1.18.x, `StartV2` + `Body` from 1.19.0 (version = min(agent, client)). A fresh
   * connection id and request id 0 per request; `Close` is sent once the response is complete
   * (for a 101, once the upgraded connection is over). When no steal subscription selects it,
   * mirror subscribers (1.19.4+) get a copy and the simulator answers 404 itself (`NotStolen`).
   *
   * The stream emits the reassembled response; it fails with `ClientDropped` when the client's
   * response was undecodable for this agent, `ClientGone`, `ConnectionUnsubscribed`, … Ending
   * the stream early sends `Close` for the connection (the original client went away).
   */
  readonly request: (
    port: number,
    request: HttpRequestInput,
    options?: RequestOptions
  ) => Stream.Stream<ResponseEvent, AgentSimError>
  /** A connection with request ids 0, 1, … (old-agent behaviour). */
  readonly httpConnection: (port: number) => Effect.Effect<HttpConnection, never, Scope.Scope>
  /**
   * Opens a raw stolen TCP connection to the client holding an unfiltered steal on `port`
   * (`NewConnectionV1`, or `NewConnectionV2` with transport Tcp from 1.19.4). Closing the scope
   * sends `Close`.
   */
  readonly connect: (port: number, options?: RequestOptions) => Effect.Effect<TcpDuplex, AgentSimError, Scope.Scope>
  /**
   * A local HTTP server (node:http) turning each request it receives into `request(port, …)`,
   * streaming both bodies. Returns the bound address.
   */
  readonly serveHttp: (
    port: number,
    options?: { readonly listen?: { readonly host?: string; readonly port?: number } }
  ) => Effect.Effect<{ readonly host: string; readonly port: number }, AgentSimError, Scope.Scope>
  /** Sends `DaemonMessage::Close(reason)` to one client (or all) and closes its connection. */
  readonly closeClient: (reason: string, clientId?: number) => Effect.Effect<void>
  /** The connected clients. */
  readonly clients: Effect.Effect<ReadonlyArray<ClientInfo>>
  /** Waits until some client holds a subscription on `port` (of `mode`, if given). */
  readonly awaitSubscription: (port: number, mode?: "steal" | "mirror") => Effect.Effect<SubscriptionInfo>
  /** Every message in both directions, in order. */
  readonly recording: Effect.Effect<ReadonlyArray<Recorded>>
  /** Notable events (negotiation, drops, ignored responses, pass-throughs), in order. */
  readonly events: Effect.Effect<ReadonlyArray<SimEvent>>
  /** Why client connections were dropped. */
  readonly drops: Effect.Effect<ReadonlyArray<DropReason & { readonly clientId: number }>>
  /** Short variant paths of sent messages (`TcpSteal/HttpRequestChunked/StartV2`). */
  readonly sentVariants: (clientId?: number) => Effect.Effect<ReadonlyArray<string>>
  /** Short variant paths of received messages (`TcpSteal/HttpResponseChunked/Start`). */
  readonly receivedVariants: (clientId?: number) => Effect.Effect<ReadonlyArray<string>>
  /** The decode failures that dropped clients, from the recording. */
  readonly undecodable: (clientId?: number) => Effect.Effect<ReadonlyArray<DropReason>>
}

/**
 * Starts a simulator listening on `options.listen` (127.0.0.1, any port by default); closing
 * the scope closes every client connection and the listener.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: AgentSimOptions) => Effect.Effect<AgentSim, AgentSimError, Scope.Scope> = internal.make
