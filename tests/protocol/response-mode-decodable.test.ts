import { describe, expect, it } from "@effect/vitest"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as ResponseMode from "@mirrord-effect/protocol/ResponseMode"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"

const response = (mode: ResponseMode.ResponseMode): ClientMessage => {
  const ids = { port: 80, connection_id: 1n, request_id: 0 }
  const head = { status: 200, version: "HTTP/1.1" as const, headers: [] }
  const frames = [{ _tag: "Data" as const, value: Uint8Array.of(104, 105) }]
  switch (mode) {
    case "Basic":
      return {
        _tag: "TcpSteal",
        value: { _tag: "HttpResponse", value: { ...ids, internal_response: { ...head, body: frames[0]!.value } } }
      }
    case "Framed":
      return { _tag: "TcpSteal", value: { _tag: "HttpResponseFramed", value: { ...ids, internal_response: { ...head, body: frames } } } }
    case "Chunked":
      return {
        _tag: "TcpSteal",
        value: {
          _tag: "HttpResponseChunked",
          value: { _tag: "Start", value: { ...ids, internal_response: { ...head, body: frames } } }
        }
      }
  }
}

const requestVariants: ReadonlyArray<ResponseMode.RequestVariant> = ["HttpRequest", "HttpRequestFramed", "HttpRequestChunked"]

// A request variant the agent itself sent exists at its version.
const requestSince: Record<ResponseMode.RequestVariant, string> = {
  HttpRequest: "1.0.0",
  HttpRequestFramed: "1.3.0",
  HttpRequestChunked: "1.7.0"
}

describe("responseModeFor against the real per-version decoder", () => {
  it("every known release: the chosen response variant is decodable by that agent", () => {
    for (const v of VariantHistory.knownVersions) {
      for (const variant of requestVariants) {
        if (Version.compare(Version.unsafeParseVersion(v), Version.unsafeParseVersion(requestSince[variant])) < 0) continue
        const mode = ResponseMode.responseModeFor(Option.some(Version.unsafeParseVersion(v)), variant)
        const decoded = Codec.decoderFor(v, "ClientMessage").decode(Codec.encodeClientMessage(response(mode)))
        expect(decoded._tag, `${v} ${variant} → ${mode}`).toBe("Complete")
      }
    }
  })

  it("random versions (with prereleases) and request variants: decodable by decoderFor(version)", () => {
    const version = FastCheck.tuple(
      FastCheck.constant(1),
      FastCheck.integer({ min: 0, max: 35 }),
      FastCheck.integer({ min: 0, max: 12 }),
      FastCheck.option(FastCheck.constantFrom("rc.1", "alpha", "0"), { nil: undefined })
    ).map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}`)
    FastCheck.assert(
      FastCheck.property(version, FastCheck.constantFrom(...requestVariants), (v, variant) => {
        // the agent sent `variant`, so it decodes that request variant
        FastCheck.pre(Version.compare(Version.unsafeParseVersion(v), Version.unsafeParseVersion(requestSince[variant])) >= 0)
        const mode = ResponseMode.responseModeFor(Option.some(Version.unsafeParseVersion(v)), variant)
        const decoded = Codec.decoderFor(v, "ClientMessage").decode(Codec.encodeClientMessage(response(mode)))
        return decoded._tag === "Complete"
      }),
      { numRuns: 500 }
    )
  })

  it("a 1.7.0 agent rejects HttpResponseChunked with UnknownVariant, and the rule never picks it", () => {
    const decoded = Codec.decoderFor("1.7.0", "ClientMessage").decode(Codec.encodeClientMessage(response("Chunked")))
    expect(decoded._tag === "Invalid" && decoded.reason).toBe("UnknownVariant")
    expect(ResponseMode.responseModeFor(Option.some(Version.unsafeParseVersion("1.7.0")), "HttpRequestChunked")).toBe("Framed")
  })
})
