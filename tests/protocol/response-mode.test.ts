import { describe, expect, it } from "@effect/vitest"
import * as ResponseMode from "@mirrord-effect/protocol/ResponseMode"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

type Mode = ResponseMode.ResponseMode
const some = (s: string) => Option.some(Version.unsafeParseVersion(s))

// [version, mode for HttpRequest, for HttpRequestFramed, for HttpRequestChunked]
const table: ReadonlyArray<readonly [string | null, Mode, Mode, Mode]> = [
  [null, "Basic", "Basic", "Basic"],
  ["1.0.0", "Basic", "Basic", "Basic"],
  ["1.2.2", "Basic", "Basic", "Basic"],
  ["1.3.0-rc.1", "Basic", "Basic", "Basic"],
  ["1.3.0", "Basic", "Framed", "Framed"],
  ["1.5.5", "Basic", "Framed", "Framed"],
  ["1.7.0", "Basic", "Framed", "Framed"],
  ["1.8.0", "Basic", "Framed", "Framed"],
  ["1.8.1-rc.1", "Basic", "Basic", "Basic"],
  ["1.8.1", "Basic", "Framed", "Chunked"],
  ["1.8.1+build.3", "Basic", "Framed", "Chunked"],
  ["1.9.0-rc.1", "Basic", "Basic", "Basic"],
  ["1.19.0", "Basic", "Framed", "Chunked"],
  ["1.29.0", "Basic", "Framed", "Chunked"],
  ["2.0.0", "Basic", "Framed", "Chunked"]
]

const variants: ReadonlyArray<ResponseMode.RequestVariant> = ["HttpRequest", "HttpRequestFramed", "HttpRequestChunked"]

describe("responseModeFor", () => {
  for (const [version, ...modes] of table) {
    variants.forEach((variant, i) => {
      it(`${version ?? "None"} × ${variant} → ${modes[i]}`, () => {
        const opt = version === null ? Option.none() : some(version)
        expect(ResponseMode.responseModeFor(opt, variant)).toBe(modes[i])
      })
    })
  }

  it("the version-only mode follows HTTP_CHUNKED_RESPONSE_VERSION then HTTP_FRAMED_VERSION", () => {
    expect(ResponseMode.responseModeForVersion(Option.none())).toBe("Basic")
    expect(ResponseMode.responseModeForVersion(some("1.2.2"))).toBe("Basic")
    expect(ResponseMode.responseModeForVersion(some("1.3.0"))).toBe("Framed")
    expect(ResponseMode.responseModeForVersion(some("1.8.0"))).toBe("Framed")
    expect(ResponseMode.responseModeForVersion(some("1.8.1"))).toBe("Chunked")
  })
})

describe("response variants", () => {
  it("maps modes to LayerTcpSteal variants and their indices 4, 5, 6", () => {
    expect(ResponseMode.responseVariantOf("Basic")).toBe("HttpResponse")
    expect(ResponseMode.responseVariantOf("Framed")).toBe("HttpResponseFramed")
    expect(ResponseMode.responseVariantOf("Chunked")).toBe("HttpResponseChunked")
    expect(ResponseMode.responseVariantIndexOf("Basic")).toBe(4)
    expect(ResponseMode.responseVariantIndexOf("Framed")).toBe(5)
    expect(ResponseMode.responseVariantIndexOf("Chunked")).toBe(6)
  })

  it("indices agree with the variant history", () => {
    for (const [name, index] of Object.entries(ResponseMode.responseVariantIndex)) {
      expect(VariantHistory.indexOf("LayerTcpSteal", name)).toBe(index)
    }
    for (const [name, index] of Object.entries(ResponseMode.requestVariantIndex)) {
      expect(VariantHistory.indexOf("DaemonTcp", name)).toBe(index)
    }
  })

  it("schemas accept exactly the literals", () => {
    expect(Schema.is(ResponseMode.ResponseMode)("Chunked")).toBe(true)
    expect(Schema.is(ResponseMode.ResponseMode)("Streamed")).toBe(false)
    expect(Schema.is(ResponseMode.RequestVariant)("HttpRequestFramed")).toBe(true)
    expect(Schema.is(ResponseMode.ResponseVariant)("HttpResponseChunked")).toBe(true)
    expect(Schema.is(ResponseMode.ResponseVariant)("HttpRequest")).toBe(false)
  })
})

describe("properties", () => {
  const rank: Record<Mode, number> = { Basic: 0, Framed: 1, Chunked: 2 }
  const identifier = FastCheck.oneof(
    FastCheck.integer({ min: 0, max: 20 }).map(String),
    FastCheck.constantFrom("rc", "alpha", "beta", "x-y")
  )
  // Every protocol version that can exist is >= 1.0.0 (protocol versioning started there).
  const versionArb = FastCheck.record({
    major: FastCheck.integer({ min: 1, max: 3 }),
    minor: FastCheck.integer({ min: 0, max: 40 }),
    patch: FastCheck.integer({ min: 0, max: 12 }),
    pre: FastCheck.option(FastCheck.array(identifier, { minLength: 1, maxLength: 2 }), { nil: undefined })
  })
    .map(({ major, minor, patch, pre }) =>
      Version.unsafeParseVersion(`${major}.${minor}.${patch}${pre === undefined ? "" : `-${pre.join(".")}`}`)
    )
    .filter((ver) => Version.compare(ver, Version.unsafeParseVersion("1.0.0")) >= 0)
  const variantArb = FastCheck.constantFrom(...variants)

  it("the chosen response variant is decodable by the (known) agent version", () => {
    FastCheck.assert(
      FastCheck.property(versionArb, variantArb, (version, variant) => {
        const mode = ResponseMode.responseModeFor(Option.some(version), variant)
        const since = VariantHistory.sinceOf("LayerTcpSteal", ResponseMode.responseVariantIndexOf(mode))
        expect(since).toBeDefined()
        expect(Version.compare(Version.unsafeParseVersion(since!), version)).toBeLessThanOrEqual(0)
      }),
      { numRuns: 2000 }
    )
  })

  it("never exceeds the request variant's mode, and unknown is the most conservative", () => {
    FastCheck.assert(
      FastCheck.property(versionArb, variantArb, (version, variant) => {
        const mode = ResponseMode.responseModeFor(Option.some(version), variant)
        expect(rank[mode]).toBeLessThanOrEqual(variants.indexOf(variant))
        expect(rank[mode]).toBeGreaterThanOrEqual(rank[ResponseMode.responseModeFor(Option.none(), variant)])
      }),
      { numRuns: 1000 }
    )
  })

  it("is monotone in the version for release versions", () => {
    const release = versionArb.filter((x) => x.prerelease.length === 0)
    FastCheck.assert(
      FastCheck.property(release, release, variantArb, (a, b, variant) => {
        const [lo, hi] = Version.compare(a, b) <= 0 ? [a, b] : [b, a]
        expect(rank[ResponseMode.responseModeFor(Option.some(lo), variant)]).toBeLessThanOrEqual(
          rank[ResponseMode.responseModeFor(Option.some(hi), variant)]
        )
      }),
      { numRuns: 1000 }
    )
  })
})
