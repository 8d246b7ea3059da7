/**
 * The command line of both built bins: help with a description and a default for every option,
 * global options anywhere, one-line prefixed usage errors with their exit codes, no escape codes
 * in pipes, and agent-sim's own checks (unknown version, --http without --http-port, a busy port).
 */
import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@mirrord-effect/cli/ExitCode"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Demo from "@mirrord-effect/cli/demo/Demo"
import * as Effect from "effect/Effect"
import { DEMO_AGENT_VERSIONS, METHOD_FILTER_RANGE } from "../../packages/cli/src/internal/mirrordProgram.js"
import { cliSlot, runAgentSim, runCli, startAgentSim, TEST_MS } from "./support/process.js"

const COMMANDS = ["demo", "steal", "decode", "encode", "capabilities"] as const

/** The option lines of a help text's "Options:" section: `--name PLACEHOLDER  description`. */
const optionLines = (help: string): Array<string> => {
  const section = help.split("\n\n").find((p) => p.startsWith("Options:"))
  if (section === undefined) return []
  // a line starting an option; its description may continue on indented lines
  return section.split("\n").slice(1).reduce<Array<string>>((acc, line) => {
    if (/^ {2}--/.test(line)) acc.push(line.trim())
    // a label too long for its column has its description on the next lines
    else if (acc.length > 0) acc[acc.length - 1] += `${/ {2}/.test(acc[acc.length - 1]!) ? " " : "  "}${line.trim()}`
    return acc
  }, [])
}

/** The help line of one option (its wrapped description joined). */
const optionLine = (help: string, name: string): string | undefined =>
  optionLines(help).find((l) => l.startsWith(`--${name} `) || l === `--${name}`)

/** A one-line failure with the bin's prefix and no stack trace. */
const expectOneLine = (stderr: string, prefix: string) => {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr.startsWith(`${prefix}: `)).toBe(true)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe("mirrord-effect --help", () => {
  it.scopedLive("every option of every command has a description (no type boilerplate) and shows its default", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const results = yield* Effect.all(COMMANDS.map((c) => runCli([c, "--help"])), { concurrency: 2 })
      results.forEach((result, i) => {
        const command = COMMANDS[i]!
        expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: ExitCode.Ok, stderr: "" })
        expect(result.stdout).not.toContain("A user-defined piece of text")
        expect(result.stdout).toMatch(new RegExp(`^mirrord-effect ${command} — \\S`))
        const lines = optionLines(result.stdout)
        expect(lines.length).toBeGreaterThan(0)
        // each option: a name, then at least three words of description
        for (const line of lines) expect(line).toMatch(/^--[a-z-]+( \S+)? {2,}\S+ \S+ \S+/)
        expect(result.stdout).toContain("Global options (accepted anywhere on the command line):")
        expect(result.stdout).toMatch(/--log-level LEVEL +minimum level .*\n.*\(default: warning\)/)
        expect(result.stdout).toContain("Exit codes:")
      })
      const [demo, steal, decode] = results
      expect(optionLine(demo!.stdout, "agent-version")).toMatch(
        new RegExp(`\\(repeatable\\) \\(default: ${Demo.DEFAULT_AGENT_VERSIONS.join(", ").replace(/\./g, "\\.")}\\)$`)
      )
      expect(optionLine(demo!.stdout, "requests")).toMatch(/\(default: 1\)$/)
      expect(optionLine(steal!.stdout, "agent")).toMatch(/\(required\)$/)
      for (const [option, value] of [["reconnect-attempts", "30"], ["reconnect-timeout", "120"], ["reconnect-initial-delay", "100"], ["reconnect-max-delay", "5000"], ["negotiation-timeout", "10"]]) {
        expect(optionLine(steal!.stdout, option)).toMatch(new RegExp(`\\(default: ${value}\\)$`))
      }
      expect(steal!.stdout).toContain("--no-reconnect")
      expect(optionLine(decode!.stdout, "direction")).toMatch(/\(default: daemon\)$/)
      expect(decode!.stdout).toMatch(/FILE .*\(default: -\)/)
      // every documented exit code is listed
      for (const code of Object.values(ExitCode)) expect(steal!.stdout).toMatch(new RegExp(`^ +${code} {2}\\S`, "m"))
    }), TEST_MS)

  it("the help's copies of library constants are equal to them", () => {
    expect(DEMO_AGENT_VERSIONS).toEqual(Demo.DEFAULT_AGENT_VERSIONS)
    expect(METHOD_FILTER_RANGE).toBe(Version.HTTP_METHOD_FILTER_VERSION.range)
  })

  it.scopedLive("global options anywhere: --log-level and --help after the command's options, --version", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const [late, lateHelp, version] = yield* Effect.all([
        runCli(["capabilities", "--protocol-version", "1.7.0", "--log-level", "error"]),
        runCli(["steal", "--agent", "127.0.0.1:1", "--port", "80", "--help"]),
        runCli(["--version"])
      ], { concurrency: 2 })
      expect(late.code).toBe(ExitCode.Ok)
      expect(late.stdout).toContain("mirrord-protocol 1.7.0")
      expect(lateHelp.code).toBe(ExitCode.Ok)
      expect(lateHelp.stdout).toMatch(/^mirrord-effect steal — /)
      expect(version.stdout).toBe("mirrord-effect 0.1.0\n")
    }), TEST_MS)

  it.scopedLive("no escape codes when stdout is a pipe, or with --no-color; --color forces them", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const env = { ...process.env, NO_COLOR: "", FORCE_COLOR: "1" }
      const [piped, noColor, forced] = yield* Effect.all([
        runCli(["--help"], { env }),
        runCli(["steal", "--help", "--no-color", "--color", "--no-color"], { env }),
        runCli(["--help", "--color"], { env })
      ], { concurrency: 2 })
      expect(piped.stdout).not.toContain("\x1b")
      expect(noColor.stdout).not.toContain("\x1b")
      // the check above can fail: forced colour does put escape codes in the same text
      expect(forced.stdout).toContain("\x1b[1mUsage\x1b[0m")
    }), TEST_MS)

  it.scopedLive("usage errors: one prefixed line naming the problem, exit Usage", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [[], /^mirrord-effect: no command given; commands: demo, steal, decode, encode, capabilities/],
        [["stel"], /^mirrord-effect: unknown command "stel" \(did you mean steal\?\)/],
        [["steal", "--agent", "127.0.0.1:1", "--to", "127.0.0.1:2"], /^mirrord-effect: --port PORT is required \(see: mirrord-effect steal --help\)/],
        [["steal", "--agent", "127.0.0.1:1", "--to", "127.0.0.1:2", "--port", "eighty"], /^mirrord-effect: --port: expected an integer from 1 to 65535, got "eighty"/],
        [["steal", "--agent", "nowhere", "--to", "127.0.0.1:2", "--port", "80"], /^mirrord-effect: --agent: expected HOST:PORT, got "nowhere"/],
        [["steal", "--agnet", "127.0.0.1:1"], /^mirrord-effect: unknown option --agnet \(did you mean --agent\?\)/],
        [["decode", "--direction", "sideways"], /^mirrord-effect: --direction: expected one of client, daemon, got "sideways"/],
        [["demo", "--requests"], /^mirrord-effect: --requests needs a value \(N\)/],
        [["capabilities", "--log-level", "loud"], /^mirrord-effect: --log-level: expected one of trace, debug, info, warning, error, none/],
        [["capabilities", "--protocol-version", "one"], /^mirrord-effect: invalid --protocol-version: /],
        [["encode", "a", "b"], /^mirrord-effect: unexpected argument "b"/]
      ]
      const results = yield* Effect.all(cases.map(([args]) => runCli(args)), { concurrency: 2 })
      results.forEach((result, i) => {
        const [args, pattern] = cases[i]!
        expect({ args, code: result.code }).toEqual({ args, code: ExitCode.Usage })
        expect(result.stderr).toMatch(pattern)
        expectOneLine(result.stderr, "mirrord-effect")
        expect(result.stdout).toBe("")
      })
    }), TEST_MS)
})

describe("agent-sim command line", () => {
  it.scopedLive("--help describes every option with its default and the exit codes", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const result = yield* runAgentSim(["--help"])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^agent-sim 0\.1\.0 — /)
      const lines = optionLines(result.stdout)
      expect(lines.map((l) => l.split(" ")[0])).toEqual([
        "--protocol-version",
        "--listen",
        "--http-port",
        "--http",
        "--trace",
        "--steal-result",
        "--close-after",
        "--close-reason"
      ])
      for (const line of lines) expect(line).toMatch(/^--[a-z-]+( \S+)? {2,}\S+ \S+ \S+/)
      expect(optionLine(result.stdout, "protocol-version")).toMatch(/\(default: 1\.29\.0\)$/)
      expect(optionLine(result.stdout, "listen")).toMatch(/\(default: 127\.0\.0\.1:0\)$/)
      expect(result.stdout).toMatch(/^ +3 {2}--listen or --http could not be bound/m)
    }), TEST_MS)

  it.scopedLive("bad flags, an unknown protocol version, --http without --http-port: one line, exit 2", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["--bogus"], /^agent-sim: unknown option --bogus/],
        [["--listen", "somewhere"], /^agent-sim: --listen: expected HOST:PORT, got "somewhere"/],
        [["--protocol-version", "9.9.9"], /^agent-sim: --protocol-version 9\.9\.9: not a mirrord-protocol release this simulator knows; known: 1\.0\.0 … 1\.29\.0/],
        [["--protocol-version", "banana"], /^agent-sim: --protocol-version banana: not a version/],
        [["--http", "127.0.0.1:0"], /^agent-sim: --http needs --http-port/],
        [["--steal-result", "80=Maybe"], /^agent-sim: --steal-result: expected PORT=PortAlreadyStolen\|Forbidden\|Ok/]
      ]
      const results = yield* Effect.all(cases.map(([args]) => runAgentSim(["--listen", "127.0.0.1:0", ...args])), { concurrency: 2 })
      results.forEach((result, i) => {
        const [args, pattern] = cases[i]!
        expect({ args, code: result.code }).toEqual({ args, code: 2 })
        expect(result.stderr).toMatch(pattern)
        expectOneLine(result.stderr, "agent-sim")
      })
    }), TEST_MS)

  it.scopedLive("a busy port: one line, exit 3", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const first = yield* startAgentSim([])
      const second = yield* runAgentSim(["--listen", first.agent])
      expect(second.code).toBe(3)
      expect(second.stderr).toMatch(/^agent-sim: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)
      expectOneLine(second.stderr, "agent-sim")
    }), TEST_MS)
})
