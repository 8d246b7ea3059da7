/**
 * The demo as a reusable Effect: the sample app, then, per agent version, a simulator + the real
 * connection and proxy (`AgentRun`), every endpoint driven through it; the result is a report
 * with one verdict.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as AgentRun from "./AgentRun.js"
import * as Counterfactual from "./Counterfactual.js"
import type { DemoError } from "./DemoError.js"
import * as Endpoints from "./Endpoints.js"
import * as Outcome from "./Outcome.js"
import * as SampleApp from "./SampleApp.js"

/**
 * The agent versions of the demo: before negotiation (assumed), an echoing agent, the last
 * Framed-only agent, the first Chunked ones, and the newest.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_AGENT_VERSIONS: ReadonlyArray<string> = ["1.2.2", "1.4.0", "1.7.0", "1.8.0", "1.8.1", "1.29.0"]

/**
 * @since 0.1.0
 * @category models
 */
export interface DemoOptions {
  /** default {@link DEFAULT_AGENT_VERSIONS} */
  readonly agentVersions?: ReadonlyArray<string>
  /** repetitions of each endpoint (default 1) */
  readonly requests?: number
  readonly app?: SampleApp.SampleAppOptions
  /** also run the counterfactual: a naive always-Chunked proxy against a 1.7.0 agent (default true) */
  readonly counterfactual?: boolean
  readonly onProgress?: (progress: Progress) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly agentVersion: string
  readonly endpoint: string
  readonly attempt: number
  /** requests started so far, of `total` */
  readonly done: number
  readonly total: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Verdict {
  readonly ok: boolean
  /** one line per problem; empty when `ok` */
  readonly problems: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DemoReport {
  readonly agents: ReadonlyArray<AgentRun.AgentReport>
  /** the naive proxy against a 1.7.0 agent, next to ours (absent with `counterfactual: false`) */
  readonly counterfactual: Counterfactual.CounterfactualReport | undefined
  readonly verdict: Verdict
  readonly wallMs: number
}

/**
 * Every response decodable by its agent, no connection dropped, every body intact (the dying
 * endpoint being an expected error); and, in the counterfactual, our proxy served while the
 * naive one was dropped.
 *
 * @since 0.1.0
 * @category utils
 */
export const verdictOf = (
  agents: ReadonlyArray<AgentRun.AgentReport>,
  counterfactual?: Counterfactual.CounterfactualReport
): Verdict => {
  const problems: Array<string> = counterfactual === undefined ? [] : [...Counterfactual.problemsOf(counterfactual)]
  for (const agent of agents) {
    for (const drop of agent.undecodable) {
      problems.push(`agent ${agent.agentVersion} could not decode ${drop.variantName ?? drop.reason}: ${drop.detail}`)
    }
    if (agent.connectionLost !== undefined) problems.push(`agent ${agent.agentVersion}: connection lost: ${agent.connectionLost}`)
    for (const row of agent.rows) {
      if (!Outcome.isGood(row.outcome)) {
        problems.push(`agent ${agent.agentVersion} ${row.endpoint} #${row.attempt}: ${Outcome.describe(row.outcome)}`)
      }
    }
  }
  return { ok: problems.length === 0, problems }
}

/**
 * Runs the whole demo; everything it starts is closed when it ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (options: DemoOptions = {}): Effect.Effect<DemoReport, DemoError> =>
  Effect.scoped(Effect.gen(function*() {
    const started = performance.now()
    const versions = options.agentVersions ?? DEFAULT_AGENT_VERSIONS
    const requests = Math.max(1, options.requests ?? 1)
    const app = yield* SampleApp.make(options.app)
    // the counterfactual mostly waits (for a response that never comes): run it beside the tables
    const counterfactualFiber = options.counterfactual === false
      ? undefined
      : yield* Effect.forkScoped(Counterfactual.run(app))
    const total = versions.length * Endpoints.all.length * requests
    let done = 0
    const agents: Array<AgentRun.AgentReport> = []
    for (const agentVersion of versions) {
      agents.push(
        yield* AgentRun.run({
          agentVersion,
          app,
          endpoints: Endpoints.all,
          requests,
          onProgress: (endpoint, attempt) => {
            done++
            options.onProgress?.({ agentVersion, endpoint, attempt, done, total })
          }
        })
      )
    }
    const counterfactual = counterfactualFiber === undefined ? undefined : yield* Fiber.join(counterfactualFiber)
    return { agents, counterfactual, verdict: verdictOf(agents, counterfactual), wallMs: performance.now() - started }
  }))
