/**
 * The nesting limit of the protocol's recursive type (`HttpFilter::Composite`): a typed
 * `TooDeep` on decode (with the offset of the first filter too deep), an `EncodeError` on encode,
 * never a stack overflow — also when the caller has used up most of the stack itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import { EncodeError } from "@mirrord-effect/protocol/ProtocolError"
import * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"

// the input of the issue: ClientMessage::Tcp(PortSubscribeFilteredHttp(4, Composite×N(Path("a"))))
const HEAD = [0x01, 0x03, 0x04]
const COMPOSITE = [0x02, 0x00, 0x01] // Composite { all: false, filters: [one] }
const PATH_A = [0x01, 0x01, 0x61]

const nestedBytes = (levels: number): Uint8Array => {
  const out = new Uint8Array(HEAD.length + COMPOSITE.length * levels + PATH_A.length)
  out.set(HEAD, 0)
  for (let i = 0; i < levels; i++) out.set(COMPOSITE, HEAD.length + COMPOSITE.length * i)
  out.set(PATH_A, HEAD.length + COMPOSITE.length * levels)
  return out
}

/** where the filter at nesting level `level` starts in `nestedBytes` */
const levelOffset = (level: number): number => HEAD.length + COMPOSITE.length * level

const nestedFilter = (levels: number, innermost: Tcp.HttpFilter = { _tag: "Path", value: "a" }): Tcp.HttpFilter => {
  let filter = innermost
  for (let i = 0; i < levels; i++) filter = { _tag: "Composite", all: false, filters: [filter] }
  return filter
}

const subscribe = (filter: Tcp.HttpFilter): ClientMessage => ({
  _tag: "Tcp",
  value: { _tag: "PortSubscribeFilteredHttp", values: [4, filter] }
})

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

/** Runs `f` below `frames` frames of a plain recursion (the caller's own deep stack). */
const atStackDepth = <A>(frames: number, f: () => A): A => (frames === 0 ? f() : atStackDepth(frames - 1, f))

/** How many frames of `atStackDepth` fit on the stack now. */
const stackCapacity = (): number => {
  let low = 0
  let high = 1_000_000
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    let fits = true
    try {
      atStackDepth(mid, () => 0)
    } catch {
      fits = false
    }
    if (fits) low = mid
    else high = mid - 1
  }
  return low
}

describe("HttpFilter nesting limit: decode", () => {
  it("the default is 4,096, below what a real agent decodes (≈ 4,600)", () => {
    expect(Codec.defaultMaxDepth).toBe(4096)
    expect(Codec.decoder("ClientMessage").maxDepth).toBe(4096)
    expect(Codec.decoderFor("1.29.0", "ClientMessage").maxDepth).toBe(4096)
  })

  it("4,096 levels decode and re-encode byte for byte; 4,097 are TooDeep at the first filter too deep", () => {
    const ok = Codec.decodeClientMessage(nestedBytes(4096))
    expect(ok._tag).toBe("Complete")
    if (ok._tag !== "Complete") return
    expect(ok.bytesConsumed).toBe(nestedBytes(4096).length)
    expect(bytesEqual(Codec.encode("ClientMessage", ok.message), nestedBytes(4096))).toBe(true)

    for (const levels of [4097, 7250, 100_000]) {
      const r = Codec.decodeClientMessage(nestedBytes(levels))
      expect(r).toMatchObject({ _tag: "Invalid", reason: "TooDeep", offset: levelOffset(4097) })
      if (r._tag !== "Invalid") return
      // the path names the nesting once, with its count, not 4,097 times
      expect(r.path).toEqual(["ClientMessage::Tcp", "LayerTcp::PortSubscribeFilteredHttp", "HttpFilter::Composite (×4097)"])
    }
  })

  it("the limit is configurable, per decoder, and applies to per-version decoders", () => {
    const decoder = Codec.decoderFor("1.29.0", "ClientMessage", { maxDepth: 10 })
    expect(decoder.decode(nestedBytes(10))._tag).toBe("Complete")
    expect(decoder.decode(nestedBytes(11))).toMatchObject({ _tag: "Invalid", reason: "TooDeep", offset: levelOffset(11) })
    const wide = Codec.decoder("ClientMessage", { maxDepth: 20_000 })
    expect(wide.decode(nestedBytes(20_000))._tag).toBe("Complete")
  })

  it("a cut before the limit is Incomplete, at or after the first filter too deep it is TooDeep", () => {
    const bytes = nestedBytes(5000)
    const limitAt = levelOffset(4097)
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 1, max: bytes.length }), (cut) => {
        const r = Codec.decodeClientMessage(bytes.subarray(0, cut))
        if (cut <= limitAt) expect(r._tag).toBe("Incomplete")
        else expect(r).toMatchObject({ _tag: "Invalid", reason: "TooDeep", offset: limitAt })
      }),
      { numRuns: 200 }
    )
  })

  it("errors deep inside keep the DSL's path and offset; Composite is still unknown before 1.11.0", () => {
    const bytes = nestedBytes(3)
    bytes[bytes.length - 1] = 0xff // invalid UTF-8 in the innermost Path
    expect(Codec.decodeClientMessage(bytes)).toMatchObject({
      _tag: "Invalid",
      reason: "InvalidUtf8",
      offset: bytes.length - 2,
      path: [
        "ClientMessage::Tcp",
        "LayerTcp::PortSubscribeFilteredHttp",
        "HttpFilter::Composite",
        "HttpFilter::Composite",
        "HttpFilter::Composite",
        "HttpFilter::Path"
      ]
    })
    const steal: ClientMessage = {
      _tag: "TcpSteal",
      value: { _tag: "PortSubscribe", value: { _tag: "FilteredHttpEx", values: [80, nestedFilter(2)] } }
    }
    const encoded = Codec.encode("ClientMessage", steal)
    expect(Codec.decoderFor("1.10.0", "ClientMessage").decode(encoded)).toMatchObject({
      _tag: "Invalid",
      reason: "UnknownVariant",
      path: ["ClientMessage::TcpSteal", "LayerTcpSteal::PortSubscribe", "StealType::FilteredHttpEx", "HttpFilter"],
      variantIndex: 2
    })
    expect(Codec.decoderFor("1.11.0", "ClientMessage").decode(encoded)._tag).toBe("Complete")
  })

  it("random filter trees: decoded iff no filter is deeper than the limit, re-encoded byte for byte", () => {
    const maxDepth = 12
    const tree: FastCheck.Arbitrary<Tcp.HttpFilter> = FastCheck.letrec<{ filter: Tcp.HttpFilter }>((tie) => ({
      filter: FastCheck.oneof(
        { depthSize: "small", withCrossShrink: true },
        FastCheck.constantFrom<Tcp.HttpFilter>({ _tag: "Path", value: "/a" }, { _tag: "Header", value: "x-a: 1" }, {
          _tag: "Method",
          value: { _tag: "Get" }
        }),
        FastCheck.record({
          _tag: FastCheck.constant("Composite" as const),
          all: FastCheck.boolean(),
          filters: FastCheck.array(tie("filter"), { maxLength: 3 })
        })
      )
    })).filter
    const chain = FastCheck.tuple(FastCheck.integer({ min: 0, max: 2 * maxDepth }), tree).map(([levels, inner]) =>
      nestedFilter(levels, inner)
    )
    FastCheck.assert(
      FastCheck.property(chain, (filter) => {
        const message = subscribe(filter)
        const depth = Tcp.filterDepth(filter)
        const bytes = Codec.encode("ClientMessage", message, { maxDepth: 1000 })
        const r = Codec.decoder("ClientMessage", { maxDepth }).decode(bytes)
        const check = Codec.checkEncodable("ClientMessage", message, { maxDepth })
        if (depth <= maxDepth) {
          expect(r._tag).toBe("Complete")
          if (r._tag === "Complete") expect(bytesEqual(Codec.encode("ClientMessage", r.message), bytes)).toBe(true)
          expect(Option.isNone(check)).toBe(true)
        } else {
          expect(r).toMatchObject({ _tag: "Invalid", reason: "TooDeep" })
          expect(Option.getOrThrow(check)).toMatchObject({ reason: "TooDeep", maxDepth })
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe("HttpFilter nesting limit: encode", () => {
  it("beyond the limit: encode throws the typed EncodeError, encodeEither is Left, checkEncodable is Some", () => {
    const ok = subscribe(nestedFilter(4096))
    expect(Codec.encode("ClientMessage", ok).length).toBe(nestedBytes(4096).length)
    expect(Option.isNone(Codec.checkEncodable("ClientMessage", ok))).toBe(true)

    const deep = subscribe(nestedFilter(5000))
    let thrown: unknown
    try {
      Codec.encode("ClientMessage", deep)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(EncodeError)
    expect(thrown).toMatchObject({ _tag: "EncodeError", reason: "TooDeep", typeName: "HttpFilter", maxDepth: 4096 })
    const either = Codec.encodeEither("ClientMessage", deep)
    expect(Either.isLeft(either) && either.left.reason).toBe("TooDeep")
    expect(Option.getOrThrow(Codec.checkEncodable("ClientMessage", deep))).toMatchObject({ reason: "TooDeep" })
    expect(() => Codec.encodedSize("ClientMessage", deep)).toThrow(EncodeError)
    expect(() => Codec.sinceVersion("ClientMessage", deep)).toThrow(EncodeError)
    // and a configured limit lets it through, to the exact bytes
    expect(bytesEqual(Codec.encode("ClientMessage", deep, { maxDepth: 5000 }), nestedBytes(5000))).toBe(true)
  })

  it("a million levels: measured and refused without recursion", () => {
    const huge = nestedFilter(1_000_000)
    expect(Tcp.filterDepth(huge)).toBe(1_000_000)
    expect(Option.getOrThrow(Codec.checkEncodable("ClientMessage", subscribe(huge)))).toMatchObject({
      reason: "TooDeep"
    })
    expect(Tcp.filterDepth({ _tag: "Header", value: "a" })).toBe(0)
    expect(
      Tcp.filterDepth({
        _tag: "Composite",
        all: true,
        filters: [{ _tag: "Path", value: "a" }, nestedFilter(3), { _tag: "Composite", all: false, filters: [] }]
      })
    ).toBe(4)
  })

  it("canonical JSON and variant walks handle 4,096 levels and refuse more with typed errors", () => {
    const message = subscribe(nestedFilter(4096, { _tag: "Method", value: { _tag: "Other", value: "X" } }))
    const canon = Canonical.toCanonical("ClientMessage", message)
    const back = Canonical.fromCanonical("ClientMessage", canon)
    expect(Either.isRight(back)).toBe(true)
    if (Either.isRight(back)) {
      expect(bytesEqual(Codec.encode("ClientMessage", back.right), Codec.encode("ClientMessage", message))).toBe(true)
    }
    const variants = Codec.variantsOf("ClientMessage", message)
    expect(variants.filter((v) => v.name === "Composite")).toHaveLength(4096)
    expect(variants.at(-1)).toMatchObject({ enumName: "HttpMethodFilter", name: "Other" })
    expect(Codec.sinceVersion("ClientMessage", message)).toBe("1.21.1")

    const deeper = subscribe(nestedFilter(4097))
    expect(() => Canonical.toCanonical("ClientMessage", deeper)).toThrow(EncodeError)
    // a canonical value one level deeper than the limit: a CanonicalError at the filter too deep
    let json: Canonical.Canonical = { $: "Path", value: "a" }
    for (let i = 0; i < 4097; i++) json = { $: "Composite", all: true, filters: [json] }
    const tooDeep = Canonical.fromCanonical("ClientMessage", {
      $: "Tcp",
      value: { $: "PortSubscribeFilteredHttp", values: [4, json] }
    })
    expect(Either.isLeft(tooDeep) && tooDeep.left.detail).toBe("HttpFilter nested deeper than 4096 levels")
  })

  it("the streaming encoder fails with the typed error too", () => {
    expect(() => Codec.encodeToSegments("ClientMessage", [{ _tag: "Ping" }, subscribe(nestedFilter(4097))])).toThrow(
      EncodeError
    )
  })
})

describe("HttpFilter nesting limit: from a caller with a deep stack", () => {
  it.effect("decode and encode return a result or a typed error at every stack depth, never a RangeError", () =>
    Effect.sync(() => {
      const bytes = nestedBytes(4096)
      const message = subscribe(nestedFilter(4096))
      const capacity = stackCapacity()
      expect(capacity).toBeGreaterThan(1000)
      const outcomes = new Set<string>()
      // from plenty of room down to a few frames of headroom (≈ 100 bytes each)
      for (const headroom of [2000, 1000, 500, 200, 100, 60, 40, 30, 20]) {
        const outcome = atStackDepth(Math.max(capacity - headroom, 0), () => {
          try {
            const decoded = Codec.decodeClientMessage(bytes)
            const encoded = Codec.encodeEither("ClientMessage", message)
            const check = Codec.checkEncodable("ClientMessage", message)
            return { decoded, encoded, check }
          } catch (e) {
            return { thrown: e }
          }
        })
        if ("thrown" in outcome) {
          expect.fail(`threw with ${headroom} frames of headroom: ${String(outcome.thrown)}`)
          return
        }
        const { check, decoded, encoded } = outcome
        if (decoded._tag === "Invalid") expect(decoded.reason).toBe("TooDeep")
        else expect(decoded._tag).toBe("Complete")
        if (Either.isLeft(encoded)) expect(encoded.left.reason).toBe("TooDeep")
        else expect(bytesEqual(encoded.right, bytes)).toBe(true)
        if (Option.isSome(check)) expect(check.value.reason).toBe("TooDeep")
        outcomes.add(`${decoded._tag}/${encoded._tag}`)
      }
      // with room to spare, the iterative HttpFilter codec needs no more than a few frames
      expect(outcomes.has("Complete/Right")).toBe(true)
    }))
})
