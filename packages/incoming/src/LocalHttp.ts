/**
 * `LocalHttp`: sends one stolen HTTP request to the user's local application and hands back
 * the streaming response (or, for `101 Switching Protocols`, the upgraded raw connection).
 *
 * - The TCP connection always goes to the given `target`, never to a host named in an
 *   absolute-form URI or a Host header (an absolute-form URI is sent as path and query).
 * - HTTP/1.0 and HTTP/1.1 are written byte for byte on a plain socket: method, target,
 *   version and headers go out exactly as given (repeated names, obs-text bytes included).
 *   HTTP/2.0 uses h2c with prior knowledge. HTTP/3.0 fails with `UnsupportedVersion`.
 * - Full duplex: the response head and body are delivered while the request body is still
 *   being written. Both bodies stream with backpressure; trailers are passed both ways.
 * - A keep-alive pool reuses connections per target (see {@link layer}).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { LocalHttpError } from "./internal/localHttpError.js"
import * as internal from "./internal/localHttpPool.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  isLocalHttpError,
  /**
   * @since 0.1.0
   * @category errors
   */
  LocalHttpError,
  /**
   * @since 0.1.0
   * @category errors
   */
  type LocalHttpErrorReason,
  /**
   * @since 0.1.0
   * @category type ids
   */
  LocalHttpErrorTypeId
} from "./internal/localHttpError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type HttpVersion = "HTTP/0.9" | "HTTP/1.0" | "HTTP/1.1" | "HTTP/2.0" | "HTTP/3.0"

/**
 * A header map as on the mirrord wire: lower-case names in first-insertion order, each with
 * one or more raw byte values (which may be non-UTF-8).
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderMap = ReadonlyArray<readonly [name: string, values: ReadonlyArray<Uint8Array>]>

/**
 * @since 0.1.0
 * @category models
 */
export type BodyFrame =
  | { readonly _tag: "Data"; readonly value: Uint8Array }
  | { readonly _tag: "Trailers"; readonly value: HeaderMap }

/**
 * What a {@link ReadySource} holds after a `drain`: more may come (`Open`), the end has been
 * reached (`End`, everything was drained), or the source failed.
 *
 * @since 0.1.0
 * @category models
 */
export type ReadyState<E> =
  | { readonly _tag: "Open" }
  | { readonly _tag: "End" }
  | { readonly _tag: "Fail"; readonly error: E }

/**
 * A body being received, read in batches: `drain` moves what has already arrived (never
 * waits), `ready` waits once until there is something to drain. This is how the proxy's data
 * plane reads a response: one fiber run per batch, no Stream per chunk. Taking items out is
 * what lets the source read more from its socket (backpressure).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadySource<A, E> {
  /** Moves up to `max` items already received into `into`; returns the state after them. */
  readonly drain: (into: Array<A>, max: number) => ReadyState<E>
  /** Completes once `drain` has something to give: an item, the end, or the failure. */
  readonly ready: Effect.Effect<void>
}

/**
 * A request for the local application. `body` frames may arrive over time; a `Trailers`
 * frame, if any, comes last. An array is a body that is complete already: it is written
 * together with the head, without a streaming writer.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalRequest<E = never> {
  readonly method: string
  readonly uri: string
  readonly version: HttpVersion
  readonly headers: HeaderMap
  readonly body: Stream.Stream<BodyFrame, E> | ReadonlyArray<BodyFrame>
  /**
   * More body frames may still arrive (a chunked upload in progress). An HTTP/1.1 request that
   * declares no framing is then sent at once with `transfer-encoding: chunked`, as hyper does
   * for an open body, instead of waiting to see whether the body has data.
   */
  readonly bodyOpen?: boolean | undefined
}

/**
 * The local application's response. `body` emits `Data` frames as they arrive, then a
 * `Trailers` frame if the app sent trailers; it can be consumed once. For a `101` answer to an
 * upgrade request, `body` is empty and `upgraded` holds the raw connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalResponse {
  readonly status: number
  readonly version: HttpVersion
  readonly headers: HeaderMap
  readonly body: Stream.Stream<BodyFrame, LocalHttpError>
  /** The same body as a batch source (consume the body once, through one of the two). */
  readonly bodySource: ReadySource<BodyFrame, LocalHttpError>
  readonly upgraded: Option.Option<UpgradedConnection>
}

/**
 * The raw connection after `101 Switching Protocols`. `read` starts with any bytes the app
 * wrote right after the 101 head. `endWrite` half-closes (the app sees EOF, `read` continues).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpgradedConnection {
  readonly read: Stream.Stream<Uint8Array, LocalHttpError>
  /** The same bytes as `read`, as a batch source (read through one of the two). */
  readonly readSource: ReadySource<Uint8Array, LocalHttpError>
  readonly write: (chunk: Uint8Array) => Effect.Effect<void, LocalHttpError>
  readonly endWrite: Effect.Effect<void>
}

/**
 * Where the local application listens. This is the only address ever connected to.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalTarget {
  readonly host: string
  readonly port: number
}

/**
 * Cheap counters for metrics.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalHttpStats {
  /** Connections (HTTP/1 sockets and HTTP/2 sessions) currently open, leased or idle. */
  readonly openConnections: number
  /** Connections waiting in the pool. */
  readonly idleConnections: number
  /** Connections opened since the service started. */
  readonly connectionsOpened: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalHttpService {
  /**
   * Sends `request` to `target` and succeeds with the response head once it has arrived; the
   * request body keeps streaming meanwhile. The connection lease lives in the scope: when the
   * scope closes the connection goes back to the pool only if the exchange succeeded, was not
   * an upgrade, its response body was completely received and the app kept the connection
   * open; otherwise it is destroyed. A failure of the request body stream before the response
   * head fails with `E`; after it, the response body fails with reason `RequestBody`.
   */
  readonly send: <E = never>(
    target: LocalTarget,
    request: LocalRequest<E>
  ) => Effect.Effect<LocalResponse, LocalHttpError | E, Scope.Scope>
  readonly stats: Effect.Effect<LocalHttpStats>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LocalHttp extends Context.Tag("@mirrord-effect/incoming/LocalHttp")<LocalHttp, LocalHttpService>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalHttpOptions {
  /** How long an idle pooled connection is kept. Default 3 seconds (the intproxy default). */
  readonly idleTimeout?: Duration.DurationInput
  /** How long a TCP connect may take before failing with reason `Timeout`. Default 10 seconds. */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * Builds the service; closing the scope closes every connection it opened.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: LocalHttpOptions) => Effect.Effect<LocalHttpService, never, Scope.Scope> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: LocalHttpOptions): Layer.Layer<LocalHttp> => Layer.scoped(LocalHttp, make(options))

/**
 * Sends a request with the `LocalHttp` service from the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const send = <E = never>(
  target: LocalTarget,
  request: LocalRequest<E>
): Effect.Effect<LocalResponse, LocalHttpError | E, LocalHttp | Scope.Scope> =>
  Effect.flatMap(LocalHttp, (service) => service.send(target, request))
