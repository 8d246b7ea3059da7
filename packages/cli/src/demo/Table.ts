/**
 * Plain-text rendering of the demo report: one table per agent version, then the verdict line.
 *
 * @since 0.1.0
 */
import type { AgentReport, Row } from "./AgentRun.js"
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
 * The whole report: the tables, then the verdict line.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (report: DemoReport): string =>
  [...report.agents.map(renderAgent), renderVerdict(report.verdict, report)].join("\n\n") + "\n"
