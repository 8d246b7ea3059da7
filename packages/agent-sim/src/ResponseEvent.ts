/**
 * A stolen request's response as the simulated agent sees it: reassembled from `HttpResponse`,
 * `HttpResponseFramed` or `HttpResponseChunked` messages into timestamped events.
 *
 * @since 0.1.0
 */
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import type { TcpDuplex } from "./TcpDuplex.js"

/**
 * Which message carried the response head; `NotStolen` = no client subscription matched and
 * the simulator answered by itself (where a real agent passes the request through).
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseVariant = "HttpResponse" | "HttpResponseFramed" | "HttpResponseChunked" | "NotStolen"

/**
 * `at` is `performance.now()` when the simulator received the message.
 *
 * A `Head` with status 101 carries `upgrade`: once the response is complete (after `End`) the
 * connection carries raw `Data` both ways through it.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseEvent =
  | {
    readonly _tag: "Head"
    readonly status: number
    readonly version: Tcp.HttpVersion
    readonly headers: Tcp.HeaderMap
    readonly variant: ResponseVariant
    readonly connectionId: bigint
    readonly requestId: number
    readonly upgrade?: TcpDuplex
    readonly at: number
  }
  | { readonly _tag: "Data"; readonly bytes: Uint8Array; readonly at: number }
  | { readonly _tag: "Trailers"; readonly headers: Tcp.HeaderMap; readonly at: number }
  | { readonly _tag: "End"; readonly at: number }
  | { readonly _tag: "Error"; readonly reason: string; readonly at: number }

/**
 * The body bytes of a list of events, concatenated (a test helper).
 *
 * @since 0.1.0
 * @category utils
 */
export const bodyOf = (events: Iterable<ResponseEvent>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  let length = 0
  for (const e of events) {
    if (e._tag === "Data") {
      parts.push(e.bytes)
      length += e.bytes.length
    }
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/**
 * The body of a list of events as UTF-8 text.
 *
 * @since 0.1.0
 * @category utils
 */
export const textOf = (events: Iterable<ResponseEvent>): string => new TextDecoder().decode(bodyOf(events))
