/**
 * `mirrord-effect demo`: the built bin exits 0 with the legend, the tables, the counterfactual
 * and the verdict; the demo Effect (in process) shows each agent era's request and response
 * variants, and the naive proxy dropped by a 1.7.0 agent while ours is served.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Demo from "@mirrord-effect/cli/demo/Demo"
import { ExitCode } from "@mirrord-effect/cli/ExitCode"
import * as Effect from "effect/Effect"
import { cliSlot, runCli, TEST_MS } from "./support/process.js"

describe("mirrord-effect demo", () => {
  it.scopedLive("the built bin runs every default agent version, prints the tables and an OK verdict, exits 0", () =>
    Effect.gen(function*() {
      yield* cliSlot
      const result = yield* runCli(["demo"])
      expect(result.code).toBe(ExitCode.Ok)
      // the legend comes first: the agent, negotiation, the three response variants
      expect(result.stdout).toMatch(/^What this shows\n {2}agent {8}mirrord's process/)
      for (const variant of ["HttpResponse ", "HttpResponseFramed ", "HttpResponseChunked "]) {
        expect(result.stdout).toMatch(new RegExp(`^ +(variants +)?${variant} +(all agents|agents >=)`, "m"))
      }
      expect(result.stdout.indexOf("What this shows")).toBeLessThan(result.stdout.indexOf("agent 1.2.2 — "))
      // the echo era says why its negotiated version is ours
      expect(result.stdout).toMatch(/^agent 1\.4\.0 — negotiated 1\.29\.0: an echo of our own offer .*request variants the agent sends$/m)
      // the counterfactual: ours served in Framed, the naive proxy dropped and its client left hanging
      expect(result.stdout).toMatch(/^counterfactual — the same SSE request to agent 1\.7\.0 through a naive proxy/m)
      expect(result.stdout).toMatch(/^ours \(variant by negotiated version\) +HttpResponseFramed +decoded it; connection up +200, 180 B/m)
      expect(result.stdout).toMatch(
        /^naive \(always HttpResponseChunked\) +HttpResponseChunked +could not decode HttpResponseChunked \(since 1\.8\.0\): dropped the connection +no response within 2\.0 s: the request hangs$/m
      )
      for (const version of Demo.DEFAULT_AGENT_VERSIONS) expect(result.stdout).toMatch(new RegExp(`^agent ${version.replace(/\./g, "\\.")} — `, "m"))
      expect(result.stdout).toMatch(/^verdict: OK — 40 requests through 6 agent versions in [\d.]+ s: every response decodable by its agent, no connection dropped, every body intact$/m)
      expect(result.stdout).not.toContain("FAIL")
      // stderr is not a terminal here: plain progress lines
      expect(result.stderr).toMatch(/^demo \[42\/42\] agent 1\.29\.0: GET \/upgrade \(101 echo\)$/m)
      expect(result.stderr + result.stdout).not.toContain("\x1b")
    }), TEST_MS)

  it.live("in process: each era's variants, streaming only with chunked responses, upgrades skipped before 1.5.0", () =>
    Effect.gen(function*() {
      const report = yield* Demo.run({
        agentVersions: ["1.2.2", "1.4.0", "1.8.1", "1.29.0"],
        app: { downloadBytes: 512 * 1024, sseIntervalMs: 100 }
      })
      expect(report.verdict).toEqual({ ok: true, problems: [] })
      const row = (version: string, endpoint: string) => {
        const found = report.agents.find((a) => a.agentVersion === version)?.rows.find((r) => r.endpoint.startsWith(endpoint))
        if (found === undefined) throw new Error(`no row ${version} ${endpoint}`)
        return found
      }
      const variants = (version: string, endpoint: string) => {
        const r = row(version, endpoint)
        return [r.requestVariant, r.responseVariant]
      }
      expect(variants("1.2.2", "GET /download")).toEqual(["HttpRequest", "HttpResponse"])
      expect(variants("1.4.0", "GET /download")).toEqual(["HttpRequestFramed", "HttpResponseFramed"])
      expect(variants("1.8.1", "GET /download")).toEqual(["HttpRequestChunked/StartV1", "HttpResponseChunked/Start"])
      expect(variants("1.29.0", "GET /download")).toEqual(["HttpRequestChunked/StartV2", "HttpResponseChunked/Start"])
      // 5 events 100 ms apart: a buffered response shows its first byte after the last event
      expect(row("1.4.0", "GET /events").firstByteMs!).toBeGreaterThan(400)
      expect(row("1.29.0", "GET /events").firstByteMs!).toBeLessThan(350)
      expect(row("1.2.2", "GET /trailers").outcome).toEqual({ _tag: "Ok", note: "trailers dropped: HttpResponse has none" })
      expect(row("1.29.0", "GET /trailers").outcome).toEqual({ _tag: "Ok", note: "trailer intact" })
      expect(row("1.4.0", "GET /upgrade").outcome._tag).toBe("Skipped")
      expect(row("1.29.0", "GET /upgrade").outcome).toEqual({ _tag: "Ok" })
      for (const version of ["1.2.2", "1.29.0"]) expect(row(version, "GET /dies").outcome._tag).toBe("ExpectedError")
      expect(report.agents.find((a) => a.agentVersion === "1.4.0")?.handshake).toContain("echo")
      const counterfactual = report.counterfactual!
      expect(counterfactual.ours).toMatchObject({ responseVariant: "HttpResponseFramed", dropped: false, clientServed: true })
      expect(counterfactual.naive).toMatchObject({ responseVariant: "HttpResponseChunked", dropped: true, clientServed: false })
    }), TEST_MS)

  it.live("without the counterfactual: no such section, and the verdict does not depend on it", () =>
    Effect.gen(function*() {
      const report = yield* Demo.run({ agentVersions: ["1.29.0"], counterfactual: false, app: { downloadBytes: 64 * 1024 } })
      expect(report.counterfactual).toBeUndefined()
      expect(report.verdict.ok).toBe(true)
    }), TEST_MS)
})
