import { describe, expect, it } from "@effect/vitest"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const sharedRoot = path.resolve(repoRoot, "..", "shared")
const gatesPath = path.join(sharedRoot, "vectors", "version-gates.json")
const historyPath = path.join(sharedRoot, "spec", "version-history.md")
const v = Version.unsafeParseVersion

describe("variant history data", () => {
  it("has 39 enums, ClientMessage and DaemonMessage first", () => {
    expect(VariantHistory.enumNames.length).toBe(39)
    expect(Object.keys(VariantHistory.variantHistory)).toEqual(VariantHistory.enumNames)
    expect(VariantHistory.enumNames.slice(0, 2)).toEqual(["ClientMessage", "DaemonMessage"])
  })

  it("is append-only: 'since' never decreases with the index", () => {
    for (const name of VariantHistory.enumNames) {
      const variants = VariantHistory.variantHistory[name]!
      expect(variants.length, name).toBeGreaterThan(0)
      for (let i = 1; i < variants.length; i++) {
        expect(Version.compare(v(variants[i - 1]!.since), v(variants[i]!.since)), `${name}[${i}]`).toBeLessThanOrEqual(0)
      }
    }
  })

  it("the variants every known version decodes are a prefix of the enum", () => {
    for (const known of VariantHistory.knownVersions) {
      for (const name of VariantHistory.enumNames) {
        const variants = VariantHistory.variantHistory[name]!
        const decodable = variants.flatMap((x, i) => (Version.compare(v(x.since), v(known)) <= 0 ? [i] : []))
        const n = VariantHistory.variantCountAt(name, known)
        expect(decodable, `${name} at ${known}`).toEqual(Array.from({ length: n }, (_, i) => i))
      }
    }
  })

  it.each([
    ["LayerTcpSteal", "1.2.2", 5],
    ["LayerTcpSteal", "1.3.0", 6],
    ["LayerTcpSteal", "1.7.0", 6],
    ["LayerTcpSteal", "1.8.0", 7],
    ["DaemonTcp", "1.7.0", 7],
    ["DaemonTcp", "1.19.3", 7],
    ["DaemonTcp", "1.19.4", 8],
    ["ClientMessage", "1.2.2", 10],
    ["ClientMessage", "1.3.0", 11],
    ["ClientMessage", "1.29.0", 18],
    ["HttpFilter", "1.0.0", 0],
    ["HttpFilter", "1.11.0", 3],
    ["ChunkedRequest", "1.18.2", 3],
    ["ChunkedRequest", "1.19.0", 5],
    ["NoSuchEnum", "1.29.0", 0]
  ] as const)("%s at %s has %i variants", (name, version, count) => {
    expect(VariantHistory.variantCountAt(name, version)).toBe(count)
    expect(VariantHistory.variantCountAt(name, v(version))).toBe(count)
  })

  it("a pre-release counts variants by plain semver order", () => {
    expect(VariantHistory.variantCountAt("LayerTcpSteal", "1.8.0-rc.1")).toBe(6)
    expect(VariantHistory.variantCountAt("LayerTcpSteal", "1.8.1-rc.1")).toBe(7)
  })

  it("sinceOf / indexOf / isDecodableAt", () => {
    expect(VariantHistory.sinceOf("LayerTcpSteal", 6)).toBe("1.8.0")
    expect(VariantHistory.sinceOf("LayerTcpSteal", 7)).toBeUndefined()
    expect(VariantHistory.sinceOf("NoSuchEnum", 0)).toBeUndefined()
    expect(VariantHistory.sinceOf("toString", 0)).toBeUndefined()
    expect(VariantHistory.sinceOf("constructor", 0)).toBeUndefined()
    expect(VariantHistory.indexOf("DaemonTcp", "NewConnectionV2")).toBe(7)
    expect(VariantHistory.indexOf("DaemonTcp", "Nope")).toBeUndefined()
    expect(VariantHistory.variantNames("LayerTcpSteal")?.slice(4)).toEqual([
      "HttpResponse",
      "HttpResponseFramed",
      "HttpResponseChunked"
    ])
    expect(VariantHistory.variantNames("NoSuchEnum")).toBeUndefined()
    expect(VariantHistory.variantNames("hasOwnProperty")).toBeUndefined()
    expect(VariantHistory.isDecodableAt("DaemonTcp", 7, "1.19.4")).toBe(true)
    expect(VariantHistory.isDecodableAt("DaemonTcp", 7, "1.19.3")).toBe(false)
    expect(VariantHistory.isDecodableAt("DaemonTcp", -1, "1.29.0")).toBe(false)
  })

  it("variantsAt lists the decodable names of every enum", () => {
    const at130 = VariantHistory.variantsAt("1.3.0")
    expect(Object.keys(at130)).toEqual(VariantHistory.enumNames)
    expect(at130["DaemonTcp"]).toEqual(["NewConnectionV1", "Data", "Close", "SubscribeResult", "HttpRequest", "HttpRequestFramed"])
    expect(at130["HttpFilter"]).toEqual(["Header", "Path"])
    expect(at130["ChunkedRequest"]).toEqual([])
    expect(VariantHistory.variantsAt("1.29.0")["ClientMessage"]!.at(-1)).toBe("ShareLink")
  })

  it("rejects invalid version strings", () => {
    expect(() => VariantHistory.variantCountAt("DaemonTcp", "v1.2.3")).toThrow(/invalid protocol version/)
  })
})

describe("known versions and releaseBefore", () => {
  it("knownVersions is strictly ascending from 1.0.0 to 1.29.0 and contains every 'since'", () => {
    const known = VariantHistory.knownVersions
    expect(known.length).toBe(86)
    expect(known[0]).toBe("1.0.0")
    expect(known.at(-1)).toBe("1.29.0")
    for (let i = 1; i < known.length; i++) expect(Version.compare(v(known[i - 1]!), v(known[i]!))).toBe(-1)
    for (const since of VariantHistory.changeVersions()) expect(known).toContain(since)
  })

  it.each([
    ["1.0.0", undefined],
    ["1.1.0", "1.0.0"],
    ["1.3.0", "1.2.2"],
    ["1.8.0", "1.7.0"],
    ["1.8.1-rc.1", "1.8.0"],
    ["1.19.4", "1.19.3"],
    ["1.20.0", "1.19.8"],
    ["1.29.0", "1.28.0"],
    ["1.30.0", "1.29.0"],
    ["0.9.0", undefined]
  ] as const)("releaseBefore(%s) = %s", (version, expected) => {
    expect(VariantHistory.releaseBefore(version)).toBe(expected)
  })

  it("the release before each variant's 'since' cannot decode it; 'since' itself can", () => {
    for (const name of VariantHistory.enumNames) {
      VariantHistory.variantHistory[name]!.forEach((variant, index) => {
        expect(VariantHistory.isDecodableAt(name, index, variant.since), `${name}[${index}]`).toBe(true)
        const before = VariantHistory.releaseBefore(variant.since)
        if (before !== undefined) expect(VariantHistory.isDecodableAt(name, index, before), `${name}[${index}]`).toBe(false)
        else expect(variant.since).toBe("1.0.0")
      })
    }
  })

  it("introducedAt lists the variants added in a version", () => {
    expect(VariantHistory.introducedAt("1.8.0")).toEqual([
      ["LayerTcpSteal", 6, "HttpResponseChunked"],
      ["ChunkedResponse", 0, "Start"],
      ["ChunkedResponse", 1, "Body"],
      ["ChunkedResponse", 2, "Error"]
    ])
    expect(VariantHistory.introducedAt("1.8.1")).toEqual([])
  })
})

describe("generated data matches ../shared", () => {
  it.skipIf(!fs.existsSync(gatesPath))("matches version-gates.json", () => {
    const gates = JSON.parse(fs.readFileSync(gatesPath, "utf8")) as Record<
      string,
      Array<{ index: number; name: string; since: string }>
    >
    expect(Object.keys(VariantHistory.variantHistory)).toEqual(Object.keys(gates))
    for (const [name, entries] of Object.entries(gates)) {
      expect(VariantHistory.variantHistory[name], name).toEqual(entries.map(({ name, since }) => ({ name, since })))
      entries.forEach((e, i) => expect(e.index).toBe(i))
    }
  })

  it.skipIf(!fs.existsSync(historyPath))("knownVersions matches version-history.md §2.1", () => {
    const text = fs.readFileSync(historyPath, "utf8")
    const section = text.slice(text.indexOf("### 2.1"), text.indexOf("### 2.2"))
    const versions = new Set(
      [...section.matchAll(/^\| \d+ \| `[0-9a-f]+` \| [\d-]+ \| (?:(\d+\.\d+\.\d+)|\((\d+\.\d+\.\d+), unchanged\)) \|/gm)].map(
        (m) => m[1] ?? m[2]!
      )
    )
    expect([...versions].sort((a, b) => Version.compare(v(a), v(b)))).toEqual(VariantHistory.knownVersions)
  })
})
