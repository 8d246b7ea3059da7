/**
 * Fuzzing in the test suite: ≥ 100,000 random and mutated inputs (seeded from the worked
 * examples and, when present, the shared vectors) against both roots and per-version decoders,
 * plus a few hundred Channel runs under random chunking. Each run uses a fresh seed, printed on
 * failure; set MIRRORD_FUZZ_SEED to replay one. Unbounded runs are `pnpm fuzz`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { describeFindings, fuzzChannel, fuzzDecoders, loadCorpus } from "../tools/fuzzing.js"

const seed = process.env.MIRRORD_FUZZ_SEED !== undefined
  ? Number(process.env.MIRRORD_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31)

const corpus = loadCorpus()

describe(`codec fuzzing (seed ${seed})`, () => {
  it.effect("100,000 inputs: every result is Complete / Incomplete / Invalid, consistent, never a throw", () =>
    Effect.sync(() => {
      const started = performance.now()
      const stats = fuzzDecoders({ seed, inputs: 100_000, corpus, deadline: started + 12_000 })
      expect(stats.findings, `seed ${seed}:\n${describeFindings(stats)}`).toEqual([])
      // the time bound must not have cut the run short, and every outcome must be reached
      expect(stats.inputs).toBe(100_000)
      expect(stats.complete).toBeGreaterThan(1000)
      expect(stats.incomplete).toBeGreaterThan(1000)
      expect(stats.invalid).toBeGreaterThan(1000)
      // a decode that slow would mean super-linear work on some input
      expect(stats.slowestMs).toBeLessThan(1000)
    }))

  it.effect("Channel runs under random chunking agree with message-by-message decoding", () =>
    Effect.sync(() => {
      const stats = fuzzChannel({ seed, inputs: 300, corpus, deadline: performance.now() + 8_000 })
      expect(stats.findings, `seed ${seed}:\n${describeFindings(stats)}`).toEqual([])
      expect(stats.channelRuns).toBe(300)
    }))
})
