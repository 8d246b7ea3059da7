/**
 * The proxy's Effect metrics. Every metric carries the proxy's `metricTags` (so several proxies
 * in one process, or concurrent tests, can be told apart).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

const responses = Metric.counter("mirrord_incoming_responses_total", {
  description: "HTTP responses sent to the agent, by framing (Basic, Framed, Chunked, BadGateway, ChunkedError)",
  incremental: true
})
const requests = Metric.counter("mirrord_incoming_requests_total", {
  description: "HTTP requests received from the agent, by channel (steal, mirror)",
  incremental: true
})
const bytesIn = Metric.counter("mirrord_incoming_bytes_in_total", {
  description: "Body and TCP payload bytes received from the agent",
  incremental: true
})
const bytesOut = Metric.counter("mirrord_incoming_bytes_out_total", {
  description: "Body and TCP payload bytes sent to the agent",
  incremental: true
})
const errors = Metric.counter("mirrord_incoming_errors_total", {
  description: "Failures talking to the local application, by reason",
  incremental: true
})
const inFlight = Metric.gauge("mirrord_incoming_requests_in_flight", {
  description: "HTTP requests currently being handled"
})
const connections = Metric.gauge("mirrord_incoming_connections_open", {
  description: "Raw TCP (and upgraded) connections currently relayed"
})

/** The metrics of one proxy instance. @internal */
export interface ProxyMetrics {
  readonly response: (kind: string) => Effect.Effect<void>
  readonly request: (channel: "steal" | "mirror") => Effect.Effect<void>
  readonly bytesIn: (n: number) => Effect.Effect<void>
  readonly bytesOut: (n: number) => Effect.Effect<void>
  readonly error: (reason: string) => Effect.Effect<void>
  /** One request more / less in flight (for callers that hold their own acquire/release). */
  readonly requestStarted: Effect.Effect<void>
  readonly requestEnded: Effect.Effect<void>
  /** Runs `effect` counted as one request in flight. */
  readonly trackRequest: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Runs `effect` counted as one open relayed connection. */
  readonly trackConnection: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** @internal */
export const make = (tags: Record<string, string>): ProxyMetrics => {
  const withTags = <M extends Metric.Metric<any, any, any>>(metric: M): M => {
    let m: any = metric
    for (const [key, value] of Object.entries(tags)) m = Metric.tagged(m, key, value)
    return m as M
  }
  const responsesT = withTags(responses)
  const requestsT = withTags(requests)
  const bytesInT = withTags(bytesIn)
  const bytesOutT = withTags(bytesOut)
  const errorsT = withTags(errors)
  const inFlightT = withTags(inFlight)
  const connectionsT = withTags(connections)
  const around = (gauge: Metric.Metric.Gauge<number>) => {
    const up = Metric.incrementBy(gauge, 1)
    const down = Metric.incrementBy(gauge, -1)
    return <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.acquireUseRelease(up, () => effect, () => down)
  }
  const requestStarted = Metric.incrementBy(inFlightT, 1)
  const requestEnded = Metric.incrementBy(inFlightT, -1)
  // Tagging a metric costs several µs: each tagged variant is made once and its increment reused.
  const cachedIncrements = (metric: Metric.Metric.Counter<number>, tag: string) => {
    const cache = new Map<string, Effect.Effect<void>>()
    return (value: string): Effect.Effect<void> => {
      let increment = cache.get(value)
      if (increment === undefined) {
        increment = Metric.increment(Metric.tagged(metric, tag, value))
        cache.set(value, increment)
      }
      return increment
    }
  }
  const response = cachedIncrements(responsesT, "mode")
  const request = cachedIncrements(requestsT, "channel")
  const error = cachedIncrements(errorsT, "reason")
  return {
    response,
    request,
    bytesIn: (n) => (n === 0 ? Effect.void : Metric.incrementBy(bytesInT, n)),
    bytesOut: (n) => (n === 0 ? Effect.void : Metric.incrementBy(bytesOutT, n)),
    error,
    requestStarted,
    requestEnded,
    trackRequest: around(inFlightT),
    trackConnection: around(connectionsT)
  }
}

/** The metric definitions, for readers (e.g. tests or exporters). @internal */
export const definitions = { responses, requests, bytesIn, bytesOut, errors, inFlight, connections }
