/**
 * Codec fuzzer: `pnpm fuzz [--seed N] [--seconds S] [--inputs N]`.
 *
 * Runs ≥ 1,000,000 random/mutated inputs through every decoder (newest and per-version) and
 * Channel-level runs with random chunking (see tests/tools/fuzzing.ts). Deterministic for a seed.
 * The work happens in a child process that reports progress; if it stops reporting for 15 s
 * (a synchronous hang) the parent kills it. Exits 1 on any finding or hang.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { FuzzStats } from "./fuzzing.js"
import { describeFindings, emptyStats, fuzzChannel, fuzzDecoders, loadCorpus } from "./fuzzing.js"

interface Settings {
  readonly seed: number
  readonly seconds: number
  readonly inputs: number
}

const parseArgs = (args: ReadonlyArray<string>): Settings => {
  const get = (name: string): string | undefined => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const num = (name: string, fallback: number): number => {
    const raw = get(name)
    const v = raw === undefined ? fallback : Number(raw)
    if (!Number.isFinite(v) || v < 0) {
      process.stderr.write(`${name} takes a non-negative number\n`)
      process.exit(2)
    }
    return v
  }
  return {
    seed: Math.floor(num("--seed", Math.floor(Math.random() * 2 ** 31))),
    seconds: num("--seconds", 120),
    inputs: Math.floor(num("--inputs", 1_000_000))
  }
}

type ChildMessage = { readonly kind: "progress"; readonly stats: FuzzStats } | {
  readonly kind: "done"
  readonly stats: FuzzStats
  readonly elapsedMs: number
}

/** The fuzzing itself (in the child process). */
const runChild = (settings: Settings): void => {
  const send = (m: ChildMessage) => process.send?.(m)
  const started = performance.now()
  const deadline = started + settings.seconds * 1000
  const corpus = loadCorpus()
  const stats = emptyStats()
  const onProgress = (s: FuzzStats) => send({ kind: "progress", stats: s })
  // most of the time budget to single messages, the rest to whole streams through the Channel
  fuzzDecoders({ seed: settings.seed, inputs: settings.inputs, corpus, onProgress, deadline: started + settings.seconds * 800 }, stats)
  fuzzChannel({ seed: settings.seed, inputs: Math.max(1000, Math.floor(settings.inputs / 200)), corpus, onProgress, deadline }, stats)
  send({ kind: "done", stats, elapsedMs: performance.now() - started })
}

const STALL_MS = 15_000

const runParent = (settings: Settings): void => {
  process.stdout.write(`fuzz: seed ${settings.seed}, up to ${settings.inputs} inputs, ${settings.seconds} s\n`)
  const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
    env: { ...process.env, MIRRORD_FUZZ_CHILD: "1", MIRRORD_FUZZ_SEED: String(settings.seed) }
  })
  let last: FuzzStats | undefined
  let finished = false
  let lastBeat = Date.now()
  const watchdog = setInterval(() => {
    if (Date.now() - lastBeat < STALL_MS) return
    clearInterval(watchdog)
    process.stdout.write(
      `HANG: no progress for ${STALL_MS / 1000} s after ${last?.inputs ?? 0} inputs / ${last?.channelRuns ?? 0} channel runs; replay with --seed ${settings.seed}\n`
    )
    child.kill("SIGKILL")
    process.exit(1)
  }, 1000)
  child.on("message", (m: ChildMessage) => {
    lastBeat = Date.now()
    last = m.stats
    if (m.kind !== "done") return
    finished = true
    clearInterval(watchdog)
    const s = m.stats
    process.stdout.write(
      [
        `seed ${settings.seed}: ${s.inputs} inputs (${s.complete} complete, ${s.incomplete} incomplete, ${s.invalid} invalid), ` +
        `${s.channelRuns} channel runs, in ${(m.elapsedMs / 1000).toFixed(1)} s; slowest decode ${s.slowestMs.toFixed(2)} ms`,
        `findings: ${s.findings.length}`,
        describeFindings(s, 20)
      ].filter((l) => l.length > 0).join("\n") + "\n"
    )
    process.exitCode = s.findings.length > 0 ? 1 : 0
  })
  child.on("exit", (code, signal) => {
    clearInterval(watchdog)
    if (!finished) {
      process.stdout.write(`fuzz child died (code ${code}, signal ${signal}); replay with --seed ${settings.seed}\n`)
      process.exit(1)
    }
  })
}

const settings = parseArgs(process.argv.slice(2))
if (process.env.MIRRORD_FUZZ_CHILD === "1") {
  runChild({ ...settings, seed: Number(process.env.MIRRORD_FUZZ_SEED) })
} else runParent(settings)
