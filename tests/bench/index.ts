/**
 * `pnpm bench [--quick] [--only B2,B5] [--json FILE] [--profile] [--before] [--docs|--no-docs]`:
 * the codec benchmark (B1, run as a child process, its output included verbatim) and the
 * pipeline benchmarks B2–B5, each against a baseline measured in the same run (interleaved
 * rounds, medians). Prints one summary table; `--json FILE` writes every figure as
 * `{"rows":[{"id","value","baseline","unit","ratio","target","met"}]}`; `--profile` adds a CPU
 * profile of the proxy process during B2 and B5 (shares of Effect runtime, GC, our code, Node
 * internals). docs/BENCHMARKS.md is written by full runs (no `--only`, or with `--docs`): the
 * run goes to the top section, and the "before the data-plane rewrite" section is kept as it
 * is — or, with `--before`, replaced by this run. Progress goes to stderr; the report to stdout.
 */
import * as Effect from "effect/Effect"
import * as cp from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Concurrency from "./pipeline/concurrency.js"
import { type Category, CATEGORIES, categoryLabel, type ProfileShares } from "./pipeline/cpuProfile.js"
import * as FirstByte from "./pipeline/firstByte.js"
import * as Memory from "./pipeline/memory.js"
import { type BenchResult, log, markdownTable, type Metric, MiB, type Row } from "./pipeline/report.js"
import * as Throughput from "./pipeline/throughput.js"

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const valueOf = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  if (i < 0) return undefined
  const value = argv[i + 1]
  if (value === undefined || value.startsWith("--")) {
    process.stderr.write(`bench: ${name} needs a value\n`)
    process.exit(2)
  }
  return value
}
const known = new Set(["--quick", "--only", "--json", "--profile", "--before", "--docs", "--no-docs"])
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!
  if (!known.has(a)) {
    process.stderr.write(`bench: unknown argument ${a}\n`)
    process.exit(2)
  }
  if (a === "--only" || a === "--json") i++
}
const quick = flag("--quick")
const profile = flag("--profile")
const recordBefore = flag("--before")
const jsonFile = valueOf("--json")
const ALL = ["B1", "B2", "B3", "B4", "B5"] as const
const onlyArg = valueOf("--only")
const only = onlyArg === undefined ? [...ALL] : onlyArg.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "")
for (const id of only) {
  if (!(ALL as ReadonlyArray<string>).includes(id)) {
    process.stderr.write(`bench: --only takes ${ALL.join(",")}; got ${id}\n`)
    process.exit(2)
  }
}
const selected = (id: string) => only.includes(id)
const writeDocs = flag("--docs") || (!flag("--no-docs") && onlyArg === undefined)
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

const settings = quick
  ? {
    codecArgs: ["--rounds", "3", "--round-ms", "40"],
    throughput: { size: 64 * MiB, rounds: 3, simRounds: 1, profile },
    firstByte: { events: 10, rounds: 1, largeBuffered: false },
    memory: { size: 256 * MiB, readRate: 128 * MiB, rounds: 1 },
    concurrency: { connections: 200, requests: 5, bodySize: 1024, rounds: 1, simRounds: 1, profile }
  }
  : {
    codecArgs: [] as Array<string>,
    throughput: { size: 256 * MiB, rounds: 5, simRounds: 2, profile },
    firstByte: { events: 30, rounds: 2, largeBuffered: true },
    memory: { size: 1024 * MiB, readRate: 128 * MiB, rounds: 2 },
    concurrency: { connections: 1000, requests: 10, bodySize: 1024, rounds: 3, simRounds: 1, profile }
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

type Profiles = Partial<Record<"B2" | "B5", ProfileShares>>

const benches: ReadonlyArray<
  readonly [string, string, Effect.Effect<BenchResult & { readonly profile?: ProfileShares | undefined }, never, import("effect/Scope").Scope>]
> = [
  ["B2", "B2 throughput", Throughput.run(settings.throughput)],
  ["B3", "B3 first byte", FirstByte.run(settings.firstByte)],
  ["B4", "B4 memory", Memory.run(settings.memory)],
  ["B5", "B5 concurrency", Concurrency.run(settings.concurrency)]
]

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(0)} %`)

/** The shares table: one line per profiled bench (and per era, when a before is known). */
const sharesTable = (lines: ReadonlyArray<readonly [string, ProfileShares | undefined]>) =>
  markdownTable(
    ["proxy process during", ...CATEGORIES.map((c) => categoryLabel[c]), "busy ms sampled"],
    lines.map(([label, p]) => [
      label,
      ...CATEGORIES.map((c: Category) => pct(p?.shares[c])),
      p === undefined ? "–" : p.busyMs.toFixed(0)
    ])
  )

const topTable = (label: string, p: ProfileShares) =>
  [
    `Top self time in the proxy process during ${label}:`,
    "",
    markdownTable(["function", "share", "category"], p.top.map((t) => [t.name.replaceAll("|", "\\|"), pct(t.share), categoryLabel[t.category]]))
  ].join("\n")

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

const BEFORE_START = "<!-- before:start -->"
const BEFORE_END = "<!-- before:end -->"
const BEFORE_DATA = /<!-- before-data: (.*?) -->/

interface RunData {
  readonly date: string
  readonly commit: string
  readonly command: string
  readonly metrics: ReadonlyArray<Metric>
  readonly profiles: Profiles
}

const gitCommit = (): string => {
  try {
    return cp.execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
  } catch {
    return "?"
  }
}

const gitDirty = (): boolean => {
  try {
    return cp.execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== ""
  } catch {
    return false
  }
}

/** The kept "before" block of the existing docs/BENCHMARKS.md, and its figures. */
const readBefore = (file: string): { block: string; data: RunData | undefined } | undefined => {
  if (!fs.existsSync(file)) return undefined
  const text = fs.readFileSync(file, "utf8")
  const a = text.indexOf(BEFORE_START)
  const b = text.indexOf(BEFORE_END)
  if (a < 0 || b < a) return undefined
  const block = text.slice(a, b + BEFORE_END.length)
  const json = BEFORE_DATA.exec(block)?.[1]
  let data: RunData | undefined
  try {
    data = json === undefined ? undefined : (JSON.parse(json) as RunData)
  } catch {
    data = undefined
  }
  return { block, data }
}

const fmtValue = (m: Metric | undefined) =>
  m === undefined ? "–" : `${m.value} ${m.unit}${m.ratio === null ? "" : ` (${m.ratio}×)`}`

/** Every metric id of either run: before → after, with each run's same-run ratio. */
const comparisonTable = (before: RunData, after: RunData) => {
  const ids = [...new Set([...before.metrics.map((m) => m.id), ...after.metrics.map((m) => m.id)])]
  return markdownTable(
    ["id", "before (ratio)", "after (ratio)", "target", "met after"],
    ids.map((id) => {
      const b = before.metrics.find((m) => m.id === id)
      const a = after.metrics.find((m) => m.id === id)
      return [id, fmtValue(b), fmtValue(a), a?.target ?? b?.target ?? "–", a?.met === null || a === undefined ? "n/a" : a.met ? "yes" : "**no**"]
    })
  )
}

const main = Effect.gen(function*() {
  // the code measured is the code at the start (commits during a long run do not count)
  const commit = `${gitCommit()}${gitDirty() ? " + uncommitted changes" : ""}`
  const started = performance.now()
  const date = new Date().toISOString()
  const codec = selected("B1") ? runCodec() : undefined
  if (codec !== undefined) process.stdout.write(`${codec}\n\n`)
  const results: Array<readonly [string, BenchResult & { readonly profile?: ProfileShares | undefined }]> = []
  for (const [id, name, bench] of benches) {
    if (!selected(id)) continue
    log(`${name} …`)
    const t0 = performance.now()
    const result = yield* Effect.scoped(bench)
    log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    results.push([id, result])
  }
  const profiles: Profiles = {}
  for (const [id, r] of results) if ((id === "B2" || id === "B5") && r.profile !== undefined) profiles[id] = r.profile
  const rows = results.flatMap(([, r]) => r.rows)
  const metrics = results.flatMap(([, r]) => r.metrics)
  const misses = rows.filter((r) => r.met === false)
  const elapsed = (performance.now() - started) / 1000
  const command = `pnpm bench${argv.length > 0 ? ` ${argv.join(" ")}` : ""}`
  const machine = `${nproc()} CPUs (nproc), ${os.cpus()[0]?.model ?? "?"}, node ${process.version}, ${
    (os.totalmem() / 1024 ** 3).toFixed(0)
  } GiB RAM, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`
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
  const profileSection = Object.keys(profiles).length === 0 ? "" : [
    "### Profile shares of the proxy process",
    "",
    "A CPU profile (V8 sampling, 200 µs, node:inspector inside the proxy process) during one extra",
    "light-receiver run of B2 and of B5; shares of the busy (non-idle) time by script: the Effect",
    "runtime (effect's own modules), GC, our code (packages/*/src), socket writes and other Node",
    "internals (node: modules and native builtins), other (bench harness, loader, semver, `(program)`).",
    "",
    sharesTable((["B2", "B5"] as const).filter((id) => profiles[id] !== undefined).map((id) => [id, profiles[id]])),
    "",
    ...(["B2", "B5"] as const).flatMap((id) => (profiles[id] === undefined ? [] : [topTable(id, profiles[id]!), ""]))
  ].join("\n")
  process.stdout.write(`Pipeline benchmarks (B2–B5) — ${machine}, ${date}\n\n${table}\n\nTargets not met:\n${notes}\n\n`)
  if (profileSection !== "") process.stdout.write(`${profileSection}\n`)
  process.stdout.write(`${results.map(([, r]) => r.details).join("\n\n")}\n\ntotal ${elapsed.toFixed(0)} s\n`)

  if (jsonFile !== undefined) {
    fs.writeFileSync(
      path.resolve(process.env["INIT_CWD"] ?? process.cwd(), jsonFile),
      `${JSON.stringify({ date, commit, command, machine, rows: metrics, profiles }, null, 2)}\n`
    )
    log(`wrote ${jsonFile}`)
  }
  if (!writeDocs) return

  const thisRun: RunData = { date, commit, command, metrics, profiles }
  const runSection = [
    `- Machine: ${machine}`,
    `- Date: ${date}, commit ${thisRun.commit}`,
    `- Command: \`${command}\` (total ${elapsed.toFixed(0)} s)${quick ? " — a reduced run; see below for the sizes" : ""}`,
    "",
    "Every pipeline figure is measured against its baseline in the same process run: subject and",
    "baseline rounds alternate (which one goes first flips every round) and the figure is the median",
    "of the rounds. The machine is small and shared; expect ±30 % between runs (more under load).",
    "",
    "## Pipeline (B2–B5)",
    "",
    table,
    "",
    "### Targets not met",
    "",
    notes,
    "",
    ...(profileSection === "" ? [] : [profileSection]),
    "### Setup",
    "",
    "- Real parts only, all on 127.0.0.1: the local app is a node:http server (`tests/bench/pipeline/app.ts`),",
    "  the proxy is `IncomingProxy` with the real `LocalHttp`/`LocalTcp`, attached through a real",
    "  `AgentConnection` (NodeSocket) to an agent: the light agent (`tests/bench/pipeline/lightAgent.ts`:",
    "  raw protocol bytes, plain callbacks, decodes only what it must), agent-sim, or for B4 a raw agent",
    "  that reads slowly.",
    "- The proxy always runs in a process of its own (`tests/bench/pipeline/proxyChild.ts`); the",
    "  baselines run in that same process slot: B2, B4 node's `http.get(…).pipe(socket)`, B5 a plain",
    "  node:http keep-alive reverse proxy (http.createServer + http.request with a keep-alive agent)",
    "  driven by a light raw-HTTP/1.1 load generator over as many keep-alive sockets as connections.",
    "  CPU figures are `process.cpuUsage()` deltas read inside that process around each run.",
    "- B2, B5: the app in a child process, the receiver / load generator in the main process. B3: the",
    "  app and agent-sim share the main process, so the event timestamps and the simulator's `at` use",
    "  one clock. B4: the app and the slow reader in the main process, the proxy's RSS sampled every",
    "  50 ms in its own.",
    `- Sizes of this run: B2 ${JSON.stringify(settings.throughput)}; B3 ${JSON.stringify(settings.firstByte)};`,
    `  B4 ${JSON.stringify(settings.memory)}; B5 ${JSON.stringify(settings.concurrency)}.`,
    "",
    "### Details",
    "",
    results.map(([, r]) => r.details).join("\n\n"),
    "",
    ...(codec === undefined ? [] : [
      "## Codec (B1)",
      "",
      `Output of \`pnpm bench:codec${settings.codecArgs.length > 0 ? ` ${settings.codecArgs.join(" ")}` : ""}\`,`,
      "run as a child process of this run, verbatim:",
      "",
      codec,
      ""
    ])
  ].join("\n")
  const docFile = path.join(root, "docs", "BENCHMARKS.md")
  const kept = readBefore(docFile)
  const beforeBlock = recordBefore
    ? [
      BEFORE_START,
      `<!-- before-data: ${JSON.stringify(thisRun)} -->`,
      "",
      runSection.replace(/^## /gm, "### ").replace(/^### (Targets|Profile|Setup|Details)/gm, "#### $1"),
      BEFORE_END
    ].join("\n")
    : kept?.block
  const comparison = !recordBefore && kept?.data !== undefined
    ? [
      "## Before → after",
      "",
      `Before: ${kept.data.date}, commit ${kept.data.commit} (\`${kept.data.command}\`); after: this run. Each`,
      "ratio is against the baseline of its own run.",
      "",
      comparisonTable(kept.data, thisRun),
      "",
      ...(Object.keys(kept.data.profiles).length === 0 && Object.keys(profiles).length === 0 ? [] : [
        "Profile shares of the proxy process:",
        "",
        sharesTable((["B2", "B5"] as const).flatMap((id) => [
          [`${id} before`, kept.data!.profiles[id]] as const,
          [`${id} after`, profiles[id]] as const
        ])),
        ""
      ])
    ].join("\n")
    : undefined
  const doc = [
    "# Benchmarks",
    "",
    "`pnpm bench` writes this file: the latest full run at the top; the section \"Before the data-plane",
    "rewrite\" is kept from run to run (`pnpm bench --before` replaces it), and a run after it shows",
    "both side by side. `pnpm bench:profile` = `pnpm bench --profile`.",
    "",
    ...(recordBefore
      ? ["## Latest run", "", "This file was last written by a `--before` run: see the section below.", ""]
      : [...(comparison === undefined ? [] : [comparison, ""]), "## Latest run", "", runSection.replace(/^## Pipeline/m, "### Pipeline").replace(/^## Codec/m, "### Codec"), ""]),
    "## Before the data-plane rewrite",
    "",
    beforeBlock ?? "(not recorded yet: `pnpm bench --profile --before` on the code before the rewrite)",
    ""
  ].join("\n")
  fs.writeFileSync(docFile, doc)
  log(`wrote docs/BENCHMARKS.md (${elapsed.toFixed(0)} s)`)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
