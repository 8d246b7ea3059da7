import { describe, expect, it } from "@effect/vitest"
import * as Capability from "@mirrord-effect/protocol/Capability"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const docPath = path.join(repoRoot, "docs", "capabilities.md")
const historyPath = path.resolve(repoRoot, "..", "shared", "spec", "version-history.md")
const v = Version.unsafeParseVersion

describe("capability table", () => {
  it("uses every mirrord VersionReq constant exactly once", () => {
    const used = Capability.capabilityTable.flatMap((c) => (c.constant === undefined ? [] : [c.constant]))
    expect([...used].sort()).toEqual(Version.requirements.map((r) => r.name).sort())
    for (const c of Capability.capabilityTable) {
      if (c.constant !== undefined) expect(Version.requirements).toContain(c.requirement)
    }
  })

  it("has the gates named in the brief with their requirements", () => {
    const expected: ReadonlyArray<readonly [Capability.Capability, string]> = [
      ["HttpFramed", ">=1.3.0"],
      ["HttpChunkedRequest", ">=1.7.0"],
      ["HttpChunkedResponse", ">=1.8.1"],
      ["HttpChunkedRequestV2", ">=1.19.0"],
      ["HttpFilteredUpgrade", ">=1.5.0"],
      ["CompositeFilter", ">=1.11.0"],
      ["MethodFilter", ">=1.20.0"],
      ["BodyJsonFilter", ">=1.23.0"],
      ["HeaderJqFilter", ">=1.26.0"],
      ["ModeAgnosticHttpRequests", ">=1.19.4"],
      ["MirrorHttpFilter", ">=1.21.1"],
      ["ReadyForLogs", ">=1.3.1"],
      ["VersionNegotiation", ">=1.3.0"],
      ["MinNegotiation", ">=1.6.0"]
    ]
    for (const [cap, range] of expected) expect(Capability.requirementOf(cap).range, cap).toBe(range)
    expect(Capability.info("HttpFramed").constant).toBe("HTTP_FRAMED_VERSION")
    expect(Capability.info("MinNegotiation").constant).toBeUndefined()
  })

  it("wire items exist and their latest 'since' is the capability's decodableSince", () => {
    for (const c of Capability.capabilityTable) {
      const sinces = c.wireItems.map((item) => {
        const [enumName, variant] = item.split("::") as [string, string]
        const index = VariantHistory.indexOf(enumName, variant)
        expect(index, `${c.capability}: ${item}`).toBeDefined()
        return v(VariantHistory.sinceOf(enumName, index!)!)
      })
      const decodable = v(c.decodableSince)
      if (sinces.length > 0) {
        expect(Version.format(sinces.reduce((a, b) => Version.max(a, b))), c.capability).toBe(c.decodableSince)
      }
      expect(Version.compare(decodable, c.requirement.minimum), c.capability).toBeLessThanOrEqual(0)
    }
    expect(Capability.info("HttpChunkedResponse").decodableSince).toBe("1.8.0")
  })

  it("is sorted by required version", () => {
    const mins = Capability.capabilityTable.map((c) => c.requirement.minimum)
    for (let i = 1; i < mins.length; i++) expect(Version.compare(mins[i - 1]!, mins[i]!)).toBeLessThanOrEqual(0)
  })

  it.skipIf(!fs.existsSync(historyPath))("covers every 'decodable since' of version-history.md §5", () => {
    const text = fs.readFileSync(historyPath, "utf8")
    const section = text.slice(text.indexOf("## 5."), text.indexOf("## 6."))
    const rows = [...section.matchAll(/^\| [^|]+ \| [^|]+ \| (\d+\.\d+\.\d+) \|/gm)].map((m) => m[1]!)
    expect(rows.length).toBeGreaterThanOrEqual(38)
    const ours = new Set(Capability.capabilityTable.map((c) => c.decodableSince))
    for (const r of rows) expect(ours.has(r), r).toBe(true)
  })
})

describe("supports / capabilitiesAt", () => {
  it.each([
    ["1.2.2", "VersionNegotiation", false],
    ["1.3.0", "VersionNegotiation", true],
    ["1.3.0", "ReadyForLogs", false],
    ["1.3.1", "ReadyForLogs", true],
    ["1.5.5", "MinNegotiation", false],
    ["1.6.0", "MinNegotiation", true],
    ["1.8.0", "HttpChunkedResponse", false],
    ["1.8.1", "HttpChunkedResponse", true],
    ["1.19.3", "ModeAgnosticHttpRequests", false],
    ["1.19.4", "ModeAgnosticHttpRequests", true],
    ["1.9.0-rc.1", "HttpFramed", false],
    ["1.29.0", "ShareLink", true],
    ["1.28.9", "ShareLink", false],
    ["not-a-version", "StealHeaderRegexFilter", false]
  ] as const)("supports(%s, %s) = %s", (version, cap, expected) => {
    expect(Capability.supports(version, cap)).toBe(expected)
    if (version !== "not-a-version") expect(Capability.supports(v(version), cap)).toBe(expected)
  })

  it("lists capabilities at a version", () => {
    expect(Capability.capabilitiesAt("1.0.0")).toEqual(["StealHeaderRegexFilter"])
    expect(Capability.capabilitiesAt("1.3.0")).toEqual([
      "StealHeaderRegexFilter",
      "HttpFilterEx",
      "BadHttpFilterExRegexError",
      "VersionNegotiation",
      "HttpFramed"
    ])
    expect(Capability.capabilitiesAt("1.29.0")).toEqual(Capability.capabilities)
    expect(Capability.capabilities.length).toBe(41)
    expect(Capability.capabilitiesAt("1.9.0-rc.1")).toEqual([])
  })

  it("is monotone over the known versions", () => {
    let previous: ReadonlyArray<Capability.Capability> = []
    for (const known of VariantHistory.knownVersions) {
      const now = Capability.capabilitiesAt(known)
      for (const c of previous) expect(now, `${known} lost ${c}`).toContain(c)
      previous = now
    }
  })

  it("change versions include every capability minimum and every variant 'since'", () => {
    const versions = Capability.changeVersions()
    expect(versions).toContain("1.5.0")
    expect(versions).toContain("1.8.0")
    expect(versions).toContain("1.8.1")
    expect(versions).not.toContain("1.8.2")
    expect(versions[0]).toBe("1.0.0")
    expect(versions[versions.length - 1]).toBe("1.29.0")
  })
})

describe("capabilityMatrixMarkdown", () => {
  const md = Capability.capabilityMatrixMarkdown()
  const lines = md.split("\n")

  it("renders the ✓/– grid per capability and version", () => {
    const header = lines.find((l) => l.startsWith("| Capability | 1.0.0 |"))!
    expect(header).toBeDefined()
    const cols = header.split("|").map((s) => s.trim())
    const row = lines.find((l) => l.startsWith("| `HttpChunkedResponse` |"))!.split("|").map((s) => s.trim())
    expect(row[cols.indexOf("1.8.0")]).toBe("–")
    expect(row[cols.indexOf("1.8.1")]).toBe("✓")
    expect(row[cols.indexOf("1.29.0")]).toBe("✓")
    const gridRows = lines.filter((l) => /^\| `\w+` \| [✓–] \|/.test(l))
    expect(gridRows.length).toBe(Capability.capabilities.length)
  })

  it("lists the variants added at each version in the timeline", () => {
    const row180 = lines.find((l) => l.startsWith("| 1.8.0 |"))!
    expect(row180).toContain("`LayerTcpSteal` [6] HttpResponseChunked")
    expect(row180).toContain("`ChunkedResponse` (new enum: Start, Body, Error)")
    const row181 = lines.find((l) => l.startsWith("| 1.8.1 |"))!
    expect(row181).toBe("| 1.8.1 | `HttpChunkedResponse` | – |")
    expect(lines.find((l) => l.startsWith("| 1.19.4 |"))).toContain("`DaemonTcp` [7] NewConnectionV2")
  })

  it("the committed docs/capabilities.md is up to date", () => {
    const committed = fs.existsSync(docPath) ? fs.readFileSync(docPath, "utf8") : "<missing>"
    expect(committed === md, "docs/capabilities.md is stale: run `pnpm docs:capabilities`").toBe(true)
  })
})
