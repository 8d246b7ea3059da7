import { describe, expect, it } from "@effect/vitest"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Range } from "semver"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const historyPath = path.resolve(repoRoot, "..", "shared", "spec", "version-history.md")

/** version-history.md §1, transcribed. */
const expected: ReadonlyArray<readonly [string, string]> = [
  ["HTTP_FRAMED_VERSION", ">=1.3.0"],
  ["HTTP_CHUNKED_REQUEST_VERSION", ">=1.7.0"],
  ["HTTP_CHUNKED_RESPONSE_VERSION", ">=1.8.1"],
  ["HTTP_CHUNKED_REQUEST_V2_VERSION", ">=1.19.0"],
  ["HTTP_FILTERED_UPGRADE_VERSION", ">=1.5.0"],
  ["HTTP_COMPOSITE_FILTER_VERSION", ">=1.11.0"],
  ["HTTP_METHOD_FILTER_VERSION", ">=1.20.0"],
  ["HTTP_BODY_JSON_FILTER_VERSION", ">=1.23.0"],
  ["HTTP_HEADER_JQ_FILTER_VERSION", ">=1.26.0"],
  ["MODE_AGNOSTIC_HTTP_REQUESTS", ">=1.19.4"],
  ["MIRROR_HTTP_FILTER_VERSION", ">=1.21.1"],
  ["CLIENT_READY_FOR_LOGS", ">=1.3.1"],
  ["INFO_LOG_VERSION", ">=1.13.4"],
  ["ADDRINFO_V2_VERSION", ">=1.15.0"],
  ["REVERSE_DNS_VERSION", ">=1.25.0"],
  ["MIRROR_BLOCK_VERSION", ">=1.12.0"],
  ["MIRROR_POLICY_REASON_VERSION", ">=1.17.0"],
  ["SYSTEM_FAILURE_VERSION", ">=1.28.0"],
  ["READLINK_VERSION", ">=1.6.0"],
  ["READDIR_BATCH_VERSION", ">=1.9.0"],
  ["MKDIR_VERSION", ">=1.13.0"],
  ["RMDIR_VERSION", ">=1.14.0"],
  ["OPEN_LOCAL_VERSION", ">=1.13.3"],
  ["STATFS_VERSION", ">=1.16.0"],
  ["STATFS_V2_VERSION", ">=1.18.0"],
  ["RENAME_VERSION", ">=1.21.0"],
  ["COPYFILE_VERSION", ">=1.24.0"],
  ["MIRRORD_OPERATOR_LATENCY_PING_PONG", ">=1.19.8"],
  ["OUTGOING_CONNECT_V2", ">=1.22.0"],
  ["OUTGOING_SEQPACKET", ">=1.27.0"],
  ["SHARE_LINK_VERSION", ">=1.29.0"]
]

const v = Version.unsafeParseVersion

describe("Version constants", () => {
  it("VERSION is 1.29.0 and the pre-negotiation default is 1.2.2", () => {
    expect(Version.VERSION_STRING).toBe("1.29.0")
    expect(Version.format(Version.VERSION)).toBe("1.29.0")
    expect(Version.format(Version.CLIENT_DEFAULT_VERSION)).toBe("1.2.2")
  })

  it("exports every §1 constant under mirrord's exact name, with its range", () => {
    const exports = Version as unknown as Record<string, unknown>
    for (const [name, range] of expected) {
      const req = exports[name] as Version.VersionRequirement | undefined
      expect(req, name).toBeDefined()
      expect(req!.name).toBe(name)
      expect(req!.range).toBe(range)
      expect(Version.format(req!.minimum)).toBe(range.slice(2))
    }
    expect(Version.requirements.map((r) => r.name).sort()).toEqual(expected.map(([n]) => n).sort())
  })

  it.skipIf(!fs.existsSync(historyPath))("matches the §1 table of version-history.md", () => {
    const text = fs.readFileSync(historyPath, "utf8")
    const section = text.slice(text.indexOf("## 1."), text.indexOf("## 2."))
    const rows = [...section.matchAll(/^\| `([A-Z0-9_]+)` \| `(>=[0-9.]+)` \|/gm)].map((m) => [m[1], m[2]])
    expect(rows.length).toBe(31)
    expect(Version.requirements.map((r) => [r.name, r.range]).sort()).toEqual(rows.sort())
  })

  it("requirements match release versions at and above the minimum only", () => {
    for (const req of Version.requirements) {
      const m = req.minimum
      expect(req.matches(m), req.name).toBe(true)
      expect(req.matches(`${m.major}.${m.minor}.${m.patch + 1}`)).toBe(true)
      expect(req.matches(`${m.major}.${m.minor + 1}.0`)).toBe(true)
      expect(req.matches(`${m.major + 1}.0.0`)).toBe(true)
      if (m.patch > 0) expect(req.matches(`${m.major}.${m.minor}.${m.patch - 1}`)).toBe(false)
      else expect(req.matches(`${m.major}.${m.minor - 1}.99`)).toBe(false)
    }
  })
})

describe("Rust VersionReq pre-release semantics", () => {
  it("a pre-release never satisfies >=X.Y.Z of another X.Y.Z", () => {
    const req = Version.HTTP_CHUNKED_RESPONSE_VERSION
    expect(req.matches("1.9.0-rc.1")).toBe(false)
    expect(req.matches(v("1.9.0-rc.1"))).toBe(false)
    expect(req.matches("2.0.0-alpha")).toBe(false)
    expect(req.matches("1.8.1-rc.1")).toBe(false)
    expect(req.matches("1.8.1")).toBe(true)
    expect(req.matches("1.9.0")).toBe(true)
    expect(Version.HTTP_FRAMED_VERSION.matches("1.29.0-rc.1")).toBe(false)
  })

  it("build metadata is ignored when matching", () => {
    expect(Version.HTTP_CHUNKED_RESPONSE_VERSION.matches("1.8.1+build.5")).toBe(true)
    expect(Version.HTTP_CHUNKED_RESPONSE_VERSION.matches("1.8.0+build.5")).toBe(false)
  })

  it("node-semver ranges naming a pre-release behave like Rust comparators", () => {
    const r = new Range(">=1.8.1-rc.1")
    expect(r.test("1.8.1-rc.2")).toBe(true)
    expect(r.test("1.8.1")).toBe(true)
    expect(r.test("1.8.2")).toBe(true)
    expect(r.test("1.9.0-rc.1")).toBe(false)
  })

  it("an invalid version string matches nothing", () => {
    expect(Version.HTTP_FRAMED_VERSION.matches("v1.29.0")).toBe(false)
    expect(Version.HTTP_FRAMED_VERSION.matches("latest")).toBe(false)
  })

  it("makeRequirement accepts only >=X.Y.Z", () => {
    expect(() => Version.makeRequirement("X", "^1.2.0")).toThrow()
    expect(() => Version.makeRequirement("X", "<1.3.0")).toThrow()
    expect(Version.makeRequirement("X", ">=1.2.0").matches("1.2.0")).toBe(true)
  })
})

describe("parseVersion", () => {
  it.each(["0.0.0", "1.2.3", "1.29.0", "1.9.0-rc.1", "1.0.0-alpha.0.x-y", "1.0.0-0", "1.0.0+build.01", "1.0.0-rc.1+b-2"])(
    "accepts %s",
    (s) => {
      const r = Version.parseVersion(s)
      expect(Either.isRight(r)).toBe(true)
      expect(Version.format(Either.getOrThrow(r))).toBe(s)
    }
  )

  it.each([
    "",
    "v1.2.3",
    "V1.2.3",
    "=1.2.3",
    " 1.2.3",
    "1.2.3 ",
    "01.2.3",
    "1.02.3",
    "1.2.03",
    "1.2",
    "1.2.3.4",
    "1.2.x",
    "1.2.3-01",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-a..b",
    "1.2.3-é",
    "9007199254740992.0.0"
  ])("rejects %j", (s) => {
    const r = Version.parseVersion(s)
    expect(Either.isLeft(r)).toBe(true)
    const e = Either.getLeft(r)
    expect(e._tag).toBe("Some")
    if (e._tag === "Some") {
      expect(e.value).toBeInstanceOf(Version.VersionParseError)
      expect(e.value._tag).toBe("VersionParseError")
      expect(e.value.input).toBe(s)
      expect(e.value.message).toContain(JSON.stringify(s))
    }
  })

  it("explains why a version was rejected", () => {
    const reason = (s: string) => Either.match(Version.parseVersion(s), { onLeft: (e) => e.reason, onRight: () => "" })
    expect(reason("v1.2.3")).toMatch(/prefix/)
    expect(reason("01.2.3")).toMatch(/leading zero/)
    expect(reason(" 1.2.3")).toMatch(/whitespace/)
  })

  it("toSemVer passes SemVer through and parses strings strictly", () => {
    const x = v("1.3.0")
    expect(Version.toSemVer(x)).toBe(x)
    expect(Version.toSemVer("v1.3.0")).toBeUndefined()
    expect(Version.toSemVer("1.3.0")).toBeInstanceOf(Version.SemVer)
  })
})

describe("compare / min / max", () => {
  it("orders like Rust's Ord for semver::Version", () => {
    const ordered = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.0+build",
      "1.0.1",
      "1.2.0",
      "1.10.0",
      "1.29.0"
    ].map(v)
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(Version.compare(ordered[i]!, ordered[j]!), `${ordered[i]!.raw} vs ${ordered[j]!.raw}`).toBe(
          Math.sign(i - j)
        )
      }
    }
  })

  it("min picks the lower version (the first on a tie), max the higher", () => {
    const a = v("1.8.1")
    const b = v("1.19.0")
    expect(Version.min(a, b)).toBe(a)
    expect(Version.min(b, a)).toBe(a)
    expect(Version.max(a, b)).toBe(b)
    const a2 = v("1.8.1")
    expect(Version.min(a, a2)).toBe(a)
    expect(Version.min(a2, a)).toBe(a2)
    expect(Version.format(Version.min(v("1.9.0-rc.1"), v("1.9.0")))).toBe("1.9.0-rc.1")
  })

  it("format keeps pre-release and build metadata", () => {
    expect(Version.format(v("1.2.3-rc.1+b.7"))).toBe("1.2.3-rc.1+b.7")
  })
})

describe("schemas", () => {
  it("SemVerFromString decodes strict versions and round-trips build metadata", () => {
    const decoded = Schema.decodeUnknownSync(Version.SemVerFromString)("1.8.1+b.2")
    expect(decoded).toBeInstanceOf(Version.SemVer)
    expect(decoded.minor).toBe(8)
    expect(Schema.encodeSync(Version.SemVerFromString)(decoded)).toBe("1.8.1+b.2")
    expect(() => Schema.decodeUnknownSync(Version.SemVerFromString)("v1.8.1")).toThrow(/invalid protocol version/)
    expect(() => Schema.decodeUnknownSync(Version.SemVerFromString)(181)).toThrow()
  })

  it("VersionString validates without transforming", () => {
    expect(Schema.is(Version.VersionString)("1.2.3")).toBe(true)
    expect(Schema.is(Version.VersionString)("1.2")).toBe(false)
    expect(Schema.is(Version.VersionString)("01.2.3")).toBe(false)
  })
})
