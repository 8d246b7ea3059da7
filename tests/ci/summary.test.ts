import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { command, tempDir } from "../consumer/support/process.js"

const root = path.resolve(__dirname, "../..")

describe(".ci/run closing lines (.ci/summary.mjs)", () => {
  it.scoped("count failed tests only; failed test files, also one that cannot load, go on the line before", () =>
    Effect.gen(function*() {
      const report = path.join(yield* tempDir("ci-summary-"), "report.json")
      // a real vitest JSON report of three fixture files: 2 tests pass, 1 fails, 1 file cannot load
      const nested = yield* command(process.execPath, [
        path.join(root, "node_modules/vitest/vitest.mjs"),
        "run",
        "--root",
        path.join(__dirname, "fixtures"),
        "--reporter=json",
        `--outputFile=${report}`
      ], { cwd: root, env: { ...process.env, CI: "true" }, allowFailure: true })
      expect(nested.code).toBe(1) // the run itself fails, as it must
      const { stdout } = yield* command(process.execPath, [path.join(root, ".ci/summary.mjs"), report], { cwd: root })
      expect(stdout.trimEnd().split("\n")).toEqual([
        "test files: 1 passed, 2 failed (1 could not run)",
        "2 passed, 1 failed"
      ])
    }), 300_000)
})
