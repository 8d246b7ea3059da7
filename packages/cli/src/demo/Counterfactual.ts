/**
 * The counterfactual: the same SSE request, against a 1.7.0 agent, through our proxy and through
 * a naive one that always answers `HttpResponseChunked` (`unsafeResponseModeOverride`, a
 * test/demo-only switch). The 1.7.0 agent cannot decode that variant and drops the connection;
 * the HTTP client in front of it waits for an answer that never comes.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as AgentRun from "./AgentRun.js"
import type { DemoError } from "./DemoError.js"
import type { Endpoint } from "./Endpoints.js"
import * as HttpExchange from "./HttpExchange.js"
import * as Outcome from "./Outcome.js"
import { paths, type SampleApp } from "./SampleApp.js"

/**
 * The agent version of the counterfactual: the newest that cannot decode `HttpResponseChunked`.
 *
 * @since 0.2.0
 * @category constants
 */
export const AGENT_VERSION = "1.7.0"

/**
 * How long the client waits for the naive proxy's answer before the demo calls it hung.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_WAIT_MS = 2000

/**
 * One proxy's run of the request.
 *
 * @since 0.2.0
 * @category models
 */
export interface Side {
  readonly proxy: string
  /** the response variant the proxy sent (the undecodable one included) */
  readonly responseVariant: string | undefined
  /** what the agent did with it: decoded, or dropped the connection (the simulator's record) */
  readonly agent: string
  /** what the HTTP client saw (the naive proxy's client waits `waitMs`) */
  readonly client: string
  readonly dropped: boolean
  readonly clientServed: boolean
}

/**
 * @since 0.2.0
 * @category models
 */
export interface CounterfactualReport {
  readonly agentVersion: string
  readonly waitMs: number
  readonly ours: Side
  readonly naive: Side
}

const sse = (waitMs: number): Endpoint => ({
  name: "GET /events (SSE)",
  skipFor: () => undefined,
  drive: (ctx) =>
    Effect.map(
      HttpExchange.send({
        host: ctx.front.host,
        port: ctx.front.port,
        method: "GET",
        path: paths.events,
        headers: { accept: "text/event-stream" },
        timeoutMs: waitMs
      }),
      (r) => ({
        firstByteMs: r.firstByteMs,
        totalMs: r.totalMs,
        bytes: r.body.length,
        judge: () =>
          r.failure === undefined && r.status === 200
            ? Outcome.ok(`${r.status}, ${r.body.length} B, first byte after ${r.firstByteMs?.toFixed(0) ?? "?"} ms`)
            : Outcome.fail(
              r.status === undefined
                ? `no response within ${(waitMs / 1000).toFixed(1)} s: the request hangs`
                : `${r.status}: ${r.failure ?? "incomplete"}`
            )
      })
  )
})

const sideOf = (proxy: string, report: AgentRun.AgentReport): Side => {
  const row = report.rows[0]
  const drop = report.undecodable[0]
  return {
    proxy,
    responseVariant: row?.responseVariant ?? drop?.variantName,
    agent: drop === undefined
      ? report.connectionLost === undefined ? "decoded it; connection up" : `connection lost: ${report.connectionLost}`
      : `could not decode ${drop.variantName ?? drop.reason} (since ${drop.since ?? "?"}): dropped the connection`,
    client: row === undefined ? "–" : Outcome.describe(row.outcome).replace(/^(ok|FAIL) \((.*)\)$/s, "$2"),
    dropped: drop !== undefined,
    clientServed: row !== undefined && Outcome.isGood(row.outcome)
  }
}

/**
 * Runs the SSE request through both proxies, one after the other, each with its own simulator.
 *
 * @since 0.2.0
 * @category constructors
 */
export const run = (
  app: SampleApp,
  options: { readonly waitMs?: number } = {}
): Effect.Effect<CounterfactualReport, DemoError> =>
  Effect.gen(function*() {
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS
    // ours must complete however busy the machine is: only the naive request's wait is short
    const OURS_WAIT_MS = 60_000
    // a failed request gets no answer from the front, as from a real agent that lost its client
    const front = { onFailure: "hang" } as const
    const ours = yield* AgentRun.run({ agentVersion: AGENT_VERSION, app, endpoints: [sse(OURS_WAIT_MS)], requests: 1, front })
    const naive = yield* AgentRun.run({
      agentVersion: AGENT_VERSION,
      app,
      endpoints: [sse(waitMs)],
      requests: 1,
      front,
      proxy: { unsafeResponseModeOverride: "Chunked" }
    })
    return {
      agentVersion: AGENT_VERSION,
      waitMs,
      ours: sideOf("ours (variant by negotiated version)", ours),
      naive: sideOf("naive (always HttpResponseChunked)", naive)
    }
  })

/**
 * What must hold for the story to be told: ours served, the naive one dropped with a hung client.
 *
 * @since 0.2.0
 * @category utils
 */
export const problemsOf = (report: CounterfactualReport): ReadonlyArray<string> => [
  ...(report.ours.clientServed && !report.ours.dropped ? [] : [`counterfactual: our proxy was not served by agent ${report.agentVersion}: ${report.ours.agent}; ${report.ours.client}`]),
  ...(report.naive.dropped && !report.naive.clientServed
    ? []
    : [`counterfactual: the naive proxy was expected to be dropped by agent ${report.agentVersion}, but: ${report.naive.agent}; ${report.naive.client}`])
]
