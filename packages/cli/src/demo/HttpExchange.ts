/**
 * One request from a real HTTP client (node:http) to a server, timed: when the first body byte
 * arrived, when the response ended, what body and trailers came, and how it failed if it did.
 * A failure of the exchange (reset, truncated body, timeout) is a result, not an error.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as http from "node:http"

/**
 * @since 0.1.0
 * @category models
 */
export interface HttpExchangeRequest {
  readonly host: string
  readonly port: number
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  /** Written one chunk at a time with chunked transfer encoding. */
  readonly bodyChunks?: ReadonlyArray<Uint8Array>
  /** Give up after this long (default 10 s). */
  readonly timeoutMs?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HttpExchangeResult {
  /** undefined when no response head arrived */
  readonly status: number | undefined
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: Uint8Array
  readonly trailers: Readonly<Record<string, string | undefined>>
  /** ms from sending to the first body byte (or to the end of a bodiless response) */
  readonly firstByteMs: number | undefined
  /** ms from sending to the end of the response (or to the failure) */
  readonly totalMs: number
  /** why the exchange did not complete (reset, truncated body, timeout); undefined when it did */
  readonly failure: string | undefined
}

const concat = (parts: ReadonlyArray<Buffer>): Uint8Array => {
  const all = Buffer.concat(parts)
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength)
}

/**
 * Sends the request on a fresh connection and collects the response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const send = (request: HttpExchangeRequest): Effect.Effect<HttpExchangeResult> =>
  Effect.async<HttpExchangeResult>((resume) => {
    const started = performance.now()
    const parts: Array<Buffer> = []
    let status: number | undefined
    let headers: HttpExchangeResult["headers"] = {}
    let firstByteMs: number | undefined
    let settled = false
    let response: http.IncomingMessage | undefined

    const finish = (failure: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const totalMs = performance.now() - started
      if (failure !== undefined) req.destroy()
      resume(Effect.succeed({
        status,
        headers,
        body: concat(parts),
        trailers: response?.trailers ?? {},
        firstByteMs: firstByteMs ?? (failure === undefined ? totalMs : undefined),
        totalMs,
        failure
      }))
    }

    const req = http.request({
      host: request.host,
      port: request.port,
      method: request.method,
      path: request.path,
      headers: request.bodyChunks === undefined
        ? { ...request.headers }
        : { ...request.headers, "transfer-encoding": "chunked" },
      // a fresh connection per exchange: no request waits behind another one's socket
      agent: false
    })
    const timer = setTimeout(() => finish(`no complete response within ${request.timeoutMs ?? 10_000} ms`), request.timeoutMs ?? 10_000)
    req.on("error", (error) => finish(`request failed: ${error.message}`))
    req.on("response", (res) => {
      response = res
      status = res.statusCode
      headers = res.headers
      res.on("data", (chunk: Buffer) => {
        firstByteMs ??= performance.now() - started
        parts.push(chunk)
      })
      res.on("error", (error) => finish(`response failed: ${error.message}`))
      res.on("end", () => finish(undefined))
      res.on("close", () => {
        if (!res.complete) finish("the connection closed before the response was complete")
      })
    })

    const chunks = request.bodyChunks ?? []
    let next = 0
    const writeNext = () => {
      while (next < chunks.length) {
        if (!req.write(chunks[next++]!)) {
          req.once("drain", writeNext)
          return
        }
      }
      req.end()
    }
    writeNext()

    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      req.destroy()
    })
  })
