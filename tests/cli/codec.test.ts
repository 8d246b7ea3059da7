/**
 * `decode`, `encode` and `capabilities` of the built bin.
 *
 * The round trip uses the shared vectors' `concatenated.jsonl` streams when ../shared exists
 * (all streams of one root back to back are one longer stream), else the worked examples.
 */
import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@mirrord-effect/cli/ExitCode"
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { workedExamples } from "../protocol/fixtures/worked-examples.js"
import { cliSlot, repoRoot, runCli, TEST_MS } from "./support/process.js"

type Root = "ClientMessage" | "DaemonMessage"

interface Stream {
  readonly hex: string
  readonly count: number
}

const concatenatedPath = path.resolve(repoRoot, "..", "shared", "vectors", "concatenated.jsonl")

const streamsOf = (root: Root): Stream => {
  if (fs.existsSync(concatenatedPath)) {
    const lines = fs.readFileSync(concatenatedPath, "utf8").split("\n").filter((l) => l.trim() !== "")
    const streams = lines.map((l) => JSON.parse(l) as { root: Root; hex: string; count: number }).filter((s) => s.root === root)
    return { hex: streams.map((s) => s.hex).join(""), count: streams.reduce((n, s) => n + s.count, 0) }
  }
  const examples = workedExamples.filter((e) => e.root === root)
  return { hex: examples.map((e) => e.hex.replace(/\s+/g, "").toLowerCase()).join(""), count: examples.length }
}

const tempFile = (name: string, content: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrord-cli-test-"))
      const file = path.join(dir, name)
      fs.writeFileSync(file, content)
      return { dir, file }
    }),
    ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ file }) => file))

describe("mirrord-effect decode / encode", () => {
  for (const [root, direction] of [["ClientMessage", "client"], ["DaemonMessage", "daemon"]] as const) {
    it.scopedLive(`decode --hex then encode --hex reproduces a ${root} stream`, () =>
      Effect.gen(function*() {
        yield* cliSlot
        const stream = streamsOf(root)
        expect(stream.count).toBeGreaterThan(1)
        const hexFile = yield* tempFile("stream.hex", stream.hex)
        const decoded = yield* runCli(["decode", "--direction", direction, "--hex", hexFile])
        expect(decoded.stderr).toBe("")
        expect(decoded.code).toBe(ExitCode.Ok)
        const lines = decoded.stdout.split("\n").filter((l) => l !== "")
        expect(lines).toHaveLength(stream.count)
        // encode reads the same JSON lines from stdin
        const encoded = yield* runCli(["encode", "--direction", direction, "--hex"], { input: decoded.stdout })
        expect(encoded.code).toBe(ExitCode.Ok)
        expect(encoded.stdout.trim()).toBe(stream.hex)
      }), TEST_MS)
  }

  it.scopedLive("decode --protocol-version 1.7.0 names the HttpResponseChunked message it cannot read", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const lines = [
        { _tag: "Ping" } as const,
        {
          _tag: "TcpSteal",
          value: { _tag: "HttpResponseChunked", value: { _tag: "Error", value: { connection_id: 7n, request_id: 0 } } }
        } as const
      ].map((m) => JSON.stringify(Canonical.toCanonical("ClientMessage", m)))
      const encoded = yield* runCli(["encode", "--direction", "client", "--hex"], { input: lines.join("\n") })
      expect(encoded.code).toBe(ExitCode.Ok)
      const hexFile = yield* tempFile("chunked.hex", encoded.stdout)
      const asCurrent = yield* runCli(["decode", "--direction", "client", "--hex", hexFile])
      expect(asCurrent.code).toBe(ExitCode.Ok)
      const asOld = yield* runCli(["decode", "--direction", "client", "--hex", "--protocol-version", "1.7.0", hexFile])
      expect(asOld.code).toBe(ExitCode.InvalidInput)
      expect(asOld.stdout).toBe(`${lines[0]}\n`)
      expect(asOld.stderr).toMatch(
        /^mirrord-effect: message 2 \(at byte 1\) could not be decoded \(as a 1\.7\.0 peer\): UnknownVariant .*HttpResponseChunked/m
      )
    }), TEST_MS)

  it.scopedLive("decode of bytes that are not hex: exit InvalidInput", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const result = yield* runCli(["decode", "--hex"], { input: "zz" })
      expect(result.code).toBe(ExitCode.InvalidInput)
      expect(result.stderr).toBe("mirrord-effect: input is not hex\n")
    }), TEST_MS)
})

describe("mirrord-effect capabilities", () => {
  it.scopedLive("prints the matrix, and what one version supports", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const [matrix, one] = yield* Effect.all([
        runCli(["capabilities"]),
        runCli(["capabilities", "--protocol-version", "1.7.0"])
      ], { concurrency: 2 })
      expect(matrix.code).toBe(ExitCode.Ok)
      expect(matrix.stdout).toMatch(/^\|.*\|$/m)
      expect(one.code).toBe(ExitCode.Ok)
      expect(one.stdout).toContain("mirrord-protocol 1.7.0")
      expect(one.stdout).toContain("HTTP responses sent to this agent: HttpResponseFramed (Framed)")
      expect(one.stdout).toMatch(/LayerTcpSteal: .*HttpResponseFramed/)
      expect(one.stdout).not.toMatch(/LayerTcpSteal: .*HttpResponseChunked/)
    }), TEST_MS)
})
