/**
 * `pnpm bench [--quick]`: the codec benchmark (B1, run as a child process, its output included
 * verbatim) and the pipeline benchmarks B2–B5, each against a baseline measured in the same
 * run (interleaved rounds, medians). Prints one summary table and writes docs/BENCHMARKS.md.
 * Progress goes to stderr; the report to stdout.
 */
import * as Effect from "effect/Effect"
import * as cp from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Concurrency from "./pipeline/concurrency.js"
import * as FirstByte from "./pipeline/firstByte.js"
import * as Memory from "./pipeline/memory.js"
import { type BenchResult, log, markdownTable, MiB, type Row } from "./pipeline/report.js"
import * as Throughput from "./pipeline/throughput.js"

const quick = process.argv.includes("--quick")
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

const settings = quick
  ? {
    codecArgs: ["--rounds", "3", "--round-ms", "40"],
    throughput: { size: 64 * MiB, rounds: 3 },
    firstByte: { events: 10, rounds: 1, largeBuffered: false },
    memory: { size: 256 * MiB, readRate: 128 * MiB, rounds: 1 },
    concurrency: { connections: 200, requests: 5, bodySize: 1024, rounds: 1 }
  }
  : {
    codecArgs: [] as Array<string>,
    throughput: { size: 256 * MiB, rounds: 5 },
    firstByte: { events: 30, rounds: 2, largeBuffered: true },
    memory: { size: 1024 * MiB, readRate: 128 * MiB, rounds: 2 },
    concurrency: { connections: 1000, requests: 10, bodySize: 1024, rounds: 2 }
  }

/** B1 in a child process (same node + tsx loader); its stdout verbatim, or why it failed. */
const runCodec = (): string => {
  log("B1 codec (child process) …")
  const result = cp.spawnSync(
    process.execPath,
    [...process.execArgv, path.join(here, "codec.ts"), ...settings.codecArgs],
    { cwd: root, encoding: "utf8", maxBuffer: 16 * MiB, timeout: 240_000 }
  )
  const out = result.stdout ?? ""
  if (result.status === 0) return out.trimEnd()
  return `${out}\n(the codec benchmark failed: exit ${String(result.status)} ${String(result.error ?? "")}\n${
    result.stderr ?? ""
  })`.trimEnd()
}

const benches: ReadonlyArray<readonly [string, Effect.Effect<BenchResult, never, import("effect/Scope").Scope>]> = [
  ["B2 throughput", Throughput.run(settings.throughput)],
  ["B3 first byte", FirstByte.run(settings.firstByte)],
  ["B4 memory", Memory.run(settings.memory)],
  ["B5 concurrency", Concurrency.run(settings.concurrency)]
]

const metText = (met: boolean | undefined) => (met === undefined ? "n/a" : met ? "yes" : "**no**")

const summaryTable = (rows: ReadonlyArray<Row>) =>
  markdownTable(
    ["bench", "subject", "baseline", "ratio", "target", "met"],
    rows.map((r) => [r.bench, r.subject, r.baseline, r.ratio, r.target, metText(r.met)])
  )

const nproc = (): string => {
  try {
    return cp.execFileSync("nproc", { encoding: "utf8" }).trim()
  } catch {
    return String(os.availableParallelism())
  }
}

const main = Effect.gen(function*() {
  const started = performance.now()
  const date = new Date().toISOString()
  const codec = runCodec()
  process.stdout.write(`${codec}\n\n`)
  const results: Array<readonly [string, BenchResult]> = []
  for (const [name, bench] of benches) {
    log(`${name} …`)
    const t0 = performance.now()
    const result = yield* Effect.scoped(bench)
    log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    results.push([name, result])
  }
  const rows = results.flatMap(([, r]) => r.rows)
  const misses = rows.filter((r) => r.met === false)
  const elapsed = (performance.now() - started) / 1000
  const command = quick ? "pnpm bench --quick" : "pnpm bench"
  const machine = `${nproc()} CPUs (nproc), ${os.cpus()[0]?.model ?? "?"}, node ${process.version}, ${
    (os.totalmem() / 1024 ** 3).toFixed(0)
  } GiB RAM, ${os.platform()} ${os.release()}`
  const table = summaryTable(rows)
  const observations = rows.filter((r) => r.met === undefined && r.note !== undefined)
  const notes = [
    misses.length === 0 ? "Every target was met." : misses.map((r) => `- **${r.bench}**: ${r.note ?? "(no note)"}`).join("\n"),
    ...(observations.length === 0 ? [] : [
      "",
      "Reported without a target:",
      "",
      observations.map((r) => `- **${r.bench}**: ${r.note}`).join("\n")
    ])
  ].join("\n")
  process.stdout.write(`Pipeline benchmarks (B2–B5) — ${machine}, ${date}\n\n${table}\n\nTargets not met:\n${notes}\n\n`)
  process.stdout.write(`${results.map(([, r]) => r.details).join("\n\n")}\n\ntotal ${elapsed.toFixed(0)} s\n`)

  const doc = [
    "# Benchmarks",
    "",
    `- Machine: ${machine}`,
    `- Date: ${date}`,
    `- Command: \`${command}\` (total ${elapsed.toFixed(0)} s)${quick ? " — a reduced run; see below for the sizes" : ""}`,
    "",
    "Every pipeline figure is measured against its baseline in the same process run: subject and",
    "baseline rounds alternate (which one goes first flips every round) and the figure is the median",
    "of the rounds. The machine is small and noisy; expect ±30 % between runs.",
    "",
    "## Pipeline (B2–B5)",
    "",
    table,
    "",
    "### Targets not met",
    "",
    notes,
    "",
    "### Setup",
    "",
    "- Real parts only, all on 127.0.0.1: the local app is a node:http server (`tests/bench/pipeline/app.ts`),",
    "  the proxy is `IncomingProxy` with the real `LocalHttp`/`LocalTcp`, attached through a real",
    "  `AgentConnection` (NodeSocket) to agent-sim (or, for B4, a raw agent that reads slowly).",
    "- The proxy always runs in a process of its own (`tests/bench/pipeline/proxyChild.ts`); baselines",
    "  that relay (B2, B4) run node's `http.get(…).pipe(socket)` in that same process.",
    "- B2, B5: the app in a child process, the receiver (agent-sim or sink / node:http client) in the",
    "  main process. B3: the app and agent-sim share the main process, so the event timestamps",
    "  (`performance.timeOrigin + performance.now()`) and the simulator's `at` use one clock. B4: the",
    "  app and the slow reader in the main process, the proxy's RSS sampled every 50 ms in its own.",
    `- Sizes of this run: B2 ${JSON.stringify(settings.throughput)}; B3 ${JSON.stringify(settings.firstByte)};`,
    `  B4 ${JSON.stringify(settings.memory)}; B5 ${JSON.stringify(settings.concurrency)}.`,
    "",
    "### Details",
    "",
    results.map(([, r]) => r.details).join("\n\n"),
    "",
    "## Codec (B1)",
    "",
    `Output of \`pnpm bench:codec${settings.codecArgs.length > 0 ? ` ${settings.codecArgs.join(" ")}` : ""}\`,`,
    "run as a child process of this run, verbatim:",
    "",
    codec,
    ""
  ].join("\n")
  fs.writeFileSync(path.join(root, "docs", "BENCHMARKS.md"), doc)
  log(`wrote docs/BENCHMARKS.md (${elapsed.toFixed(0)} s)`)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
