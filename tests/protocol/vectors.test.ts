/**
 * Runs the shared codec vectors (../shared/vectors/*.jsonl, when that folder exists next to the
 * repository) through the same checker as `pnpm vectors:check`; one test per file.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { checkFile, defaultVectorsDir, describeFailures, vectorFiles } from "../tools/vectorsCheck.js"

const files = vectorFiles(defaultVectorsDir)

describe.skipIf(files.length === 0)(`shared vectors (${defaultVectorsDir})`, () => {
  for (const file of files) {
    it.effect(path.basename(file), () =>
      Effect.gen(function*() {
        const report = yield* checkFile(file)
        expect(report.passed + report.failed).toBeGreaterThan(0)
        expect(report.failed, `first failing vectors:\n${describeFailures(report)}`).toBe(0)
      }))
  }
})
