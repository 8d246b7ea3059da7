/**
 * Checks codec test vector files (format: ../shared/vectors/README.md).
 *
 * Usage: `pnpm vectors:check [--seed N] [FILE...]` — no files: every *.jsonl in ../shared/vectors.
 * Prints `<file>: N passed, N failed` per file (and the first failures), exits 1 on any failure.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { checkFile, defaultVectorsDir, describeFailures, vectorFiles } from "./vectorsCheck.js"

const args = process.argv.slice(2)
let seed = 1
const files: Array<string> = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--seed") seed = Number(args[++i])
  else files.push(path.resolve(args[i]!))
}
if (!Number.isInteger(seed)) {
  process.stderr.write("--seed takes an integer\n")
  process.exit(2)
}
if (files.length === 0) files.push(...vectorFiles())
if (files.length === 0) {
  process.stderr.write(`no vector files given and none found in ${defaultVectorsDir}\n`)
  process.exit(2)
}

let anyFailed = false
for (const file of files) {
  const started = performance.now()
  const report = Effect.runSync(checkFile(file, seed))
  const ms = Math.round(performance.now() - started)
  process.stdout.write(`${path.basename(file)}: ${report.passed} passed, ${report.failed} failed (${ms} ms)\n`)
  if (report.failed > 0) {
    anyFailed = true
    process.stdout.write(describeFailures(report, 20).replace(/^/gm, "  ") + "\n")
  }
}
process.exit(anyFailed ? 1 : 0)
