/**
 * What a pipeline benchmark hands back, and the figures and formatting they share.
 */
import * as Effect from "effect/Effect"

/** One line of the summary table: `| bench | subject | baseline | ratio | target | met |`. */
export interface Row {
  readonly bench: string
  readonly subject: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  /** undefined: no target, reported for comparison only */
  readonly met: boolean | undefined
  /** Why the target was missed (measured figure + reason); required when `met` is false. */
  readonly note?: string
}

/**
 * One machine-readable figure (`pnpm bench --json FILE`): `ratio` = value / baseline of the same
 * run (null without a baseline), `target` a readable bound, `met` null when there is none.
 */
export interface Metric {
  readonly id: string
  readonly value: number
  readonly baseline: number | null
  readonly unit: string
  readonly ratio: number | null
  readonly target: string | null
  readonly met: boolean | null
}

/** A metric with its ratio computed from `value` and `baseline`. */
export const metric = (
  id: string,
  value: number,
  baseline: number | null,
  unit: string,
  target: { readonly text: string; readonly met: boolean } | null = null
): Metric => ({
  id,
  value: round3(value),
  baseline: baseline === null ? null : round3(baseline),
  unit,
  ratio: baseline === null || !Number.isFinite(value / baseline) ? null : round3(value / baseline),
  target: target?.text ?? null,
  met: target?.met ?? null
})

const round3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x)

export interface BenchResult {
  readonly rows: ReadonlyArray<Row>
  /** The figures of `rows` (and extra ones) for `--json`. */
  readonly metrics: ReadonlyArray<Metric>
  /** Extra markdown (detail tables, settings) printed under the summary. */
  readonly details: string
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile; NaN for no values. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export const MiB = 1024 * 1024

export const fmtSize = (bytes: number): string =>
  bytes >= 1024 * MiB
    ? `${bytes / (1024 * MiB)} GiB`
    : bytes >= MiB
    ? `${bytes / MiB} MiB`
    : bytes >= 1024
    ? `${bytes / 1024} KiB`
    : `${bytes} B`

export const fmtRate = (bytesPerSecond: number): string => `${(bytesPerSecond / MiB).toFixed(0)} MiB/s`
export const fmtMs = (ms: number): string =>
  Number.isNaN(ms) ? "–" : ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`
export const fmtMiB = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`
export const fmtRatio = (ratio: number): string => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–")

export const markdownTable = (header: ReadonlyArray<string>, lines: ReadonlyArray<ReadonlyArray<string>>): string =>
  [header, header.map(() => "---"), ...lines].map((cells) => `| ${cells.join(" | ")} |`).join("\n")

/**
 * Runs `subject` and `baseline` alternately, `rounds` times each, flipping which goes first
 * every round (so neither always runs on a warmer or colder machine); returns both lists.
 */
export const interleave = <A, B, E, R>(
  rounds: number,
  subject: (round: number) => Effect.Effect<A, E, R>,
  baseline: (round: number) => Effect.Effect<B, E, R>
): Effect.Effect<{ readonly subject: Array<A>; readonly baseline: Array<B> }, E, R> =>
  Effect.gen(function*() {
    const s: Array<A> = []
    const b: Array<B> = []
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        s.push(yield* subject(round))
        b.push(yield* baseline(round))
      } else {
        b.push(yield* baseline(round))
        s.push(yield* subject(round))
      }
    }
    return { subject: s, baseline: b }
  })

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
