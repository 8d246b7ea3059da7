/**
 * Plain-text rendering of the demo report: one table per agent version, then the verdict line.
 *
 * @since 0.1.0
 */
import * as Version from "@mirrord-effect/protocol/Version"
import type { AgentReport, Row } from "./AgentRun.js"
import type { CounterfactualReport } from "./Counterfactual.js"
import type { DemoReport, Verdict } from "./Demo.js"
import * as Outcome from "./Outcome.js"

const COLUMNS = ["endpoint", "request variant (agent→proxy)", "response variant (proxy→agent)", "first byte", "total", "bytes", "outcome"] as const

const ms = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(1)} ms`)

const byteCount = (n: number) =>
  n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`

const cells = (row: Row, repeated: boolean): ReadonlyArray<string> => [
  repeated ? `${row.endpoint} #${row.attempt}` : row.endpoint,
  row.requestVariant ?? "–",
  row.responseVariant ?? "–",
  ms(row.firstByteMs),
  ms(row.totalMs),
  row.outcome._tag === "Skipped" ? "–" : byteCount(row.bytes),
  Outcome.describe(row.outcome)
]

const RIGHT_ALIGNED = new Set([3, 4, 5])

/**
 * A table with padded columns (the last one unpadded).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderRows = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) =>
    r.map((c, i) =>
      i === r.length - 1 ? c : RIGHT_ALIGNED.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)
    ).join("  ").trimEnd()
  return [line(header), widths.map((w, i) => "─".repeat(i === widths.length - 1 ? Math.max(w, 7) : w)).join("  "), ...rows.map(line)]
    .join("\n")
}

/**
 * @since 0.1.0
 * @category rendering
 */
export const renderAgent = (agent: AgentReport): string => {
  const repeated = agent.rows.some((r) => r.attempt > 1)
  const lines = [
    `agent ${agent.agentVersion} — ${agent.handshake}`,
    renderRows(COLUMNS, agent.rows.map((r) => cells(r, repeated)))
  ]
  for (const drop of agent.undecodable) {
    lines.push(`  ! the agent could not decode ${drop.variantName ?? drop.reason} (since ${drop.since ?? "?"}): ${drop.detail}`)
  }
  if (agent.connectionLost !== undefined) lines.push(`  ! connection lost: ${agent.connectionLost}`)
  return lines.join("\n")
}

/**
 * The one-line verdict.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderVerdict = (verdict: Verdict, report: Pick<DemoReport, "agents" | "wallMs">): string => {
  const requests = report.agents.reduce((n, a) => n + a.rows.filter((r) => r.outcome._tag !== "Skipped").length, 0)
  const seconds = (report.wallMs / 1000).toFixed(1)
  return verdict.ok
    ? `verdict: OK — ${requests} requests through ${report.agents.length} agent versions in ${seconds} s: every response decodable by its agent, no connection dropped, every body intact`
    : `verdict: FAIL — ${verdict.problems.length} problem(s): ${verdict.problems.join("; ")}`
}

/**
 * What the tables show, in a few lines: the agent, negotiation, the three response variants.
 *
 * @since 0.2.0
 * @category rendering
 */
export const legend = (): string =>
  [
    "What this shows",
    "  agent        mirrord's process next to the target pod: it steals the pod's incoming HTTP traffic and sends each",
    "               request over the mirrord protocol to a client (this proxy), which asks the local app and sends",
    "               the answer back. Each table below is one simulated agent version; each row one request through it.",
    "  negotiation  the client offers its protocol version (SwitchProtocolVersion) and the agent answers with the one",
    "               they share; agents before 1.3.0 cannot negotiate (the version is assumed), and 1.3.0–1.5.5 echo",
    "               the client's offer. An agent drops the connection on any message variant newer than its version.",
    "  response     how the proxy answers a request, the newest variant the agent can decode:",
    "  variants       HttpResponse         all agents         whole response in one message, no trailers",
    `                 HttpResponseFramed   agents ${Version.HTTP_FRAMED_VERSION.range.padEnd(10)}  whole response in one message, with trailers`,
    `                 HttpResponseChunked  agents ${Version.HTTP_CHUNKED_RESPONSE_VERSION.range.padEnd(10)}  head first, then the body as it comes (streams SSE)`,
    "  first byte   when the HTTP client saw the first body byte: buffered variants show it only after the whole body."
  ].join("\n")

/**
 * The counterfactual: the naive proxy next to ours.
 *
 * @since 0.2.0
 * @category rendering
 */
export const renderCounterfactual = (c: CounterfactualReport): string =>
  [
    `counterfactual — the same SSE request to agent ${c.agentVersion} through a naive proxy that always answers HttpResponseChunked`,
    renderRows(
      ["proxy", "response variant sent", "the agent", "the HTTP client"],
      [c.ours, c.naive].map((s) => [s.proxy, s.responseVariant ?? "–", s.agent, s.client])
    ),
    c.naive.dropped && !c.naive.clientServed
      ? `  → the naive proxy loses the agent connection and every request on it; the user sees a request that hangs. Ours answers ${c.agentVersion} in ${c.ours.responseVariant ?? "?"}.`
      : "  ! the naive proxy was not dropped: the simulator no longer behaves as a 1.7.0 agent"
  ].join("\n")

/**
 * The whole report: the tables, then the verdict line.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (report: DemoReport): string =>
  [
    legend(),
    ...report.agents.map(renderAgent),
    ...(report.counterfactual === undefined ? [] : [renderCounterfactual(report.counterfactual)]),
    renderVerdict(report.verdict, report)
  ].join("\n\n") + "\n"
