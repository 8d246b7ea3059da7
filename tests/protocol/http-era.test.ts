/**
 * `decoderFor(V)` validates HTTP values as the `http` crate of V's era did (issue 11, part 5):
 * per row of the observed table, and for versions between rows (the older row applies).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as HttpValidation from "@mirrord-effect/protocol/HttpValidation"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as Message from "@mirrord-effect/protocol/Message"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** An agent → client request (the legacy variant, decodable from 1.0.0 on). */
const request = (method: string, uri: string, headers: Tcp.HeaderMap = []): DaemonMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpRequest",
    value: {
      internal_request: { method, uri, headers, version: "HTTP/1.1", body: new Uint8Array(0) },
      connection_id: 1n,
      request_id: 0,
      port: 80
    }
  }
})

/** A client → agent response (legacy, decodable from 1.0.0 on): what agent-sim decodes. */
const response = (headers: Tcp.HeaderMap): ClientMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponse",
    value: {
      port: 80,
      connection_id: 1n,
      request_id: 0,
      internal_response: { status: 200, version: "HTTP/1.1", headers, body: new Uint8Array(0) }
    }
  }
})

type Verdict = "ok" | "invalid"

interface Row {
  readonly versions: ReadonlyArray<string>
  readonly methodSpecial: Verdict
  readonly headerQuote: Verdict
  readonly uriNonAscii: Verdict
  readonly uriDel: Verdict
  readonly repeated: "every value" | "last single replaces"
}

// the table, plus versions between its rows (they take the older row) and the edges
const rows: ReadonlyArray<Row> = [
  {
    versions: ["1.0.0", "1.2.2", "1.3.0", "1.8.1", "1.8.2", "1.10.0", "1.13.3", "1.13.4-rc.1"],
    methodSpecial: "invalid",
    headerQuote: "ok",
    uriNonAscii: "invalid",
    uriDel: "invalid",
    repeated: "every value"
  },
  {
    versions: ["1.13.4", "1.15.0", "1.17.0", "1.19.2"],
    methodSpecial: "ok",
    headerQuote: "invalid",
    uriNonAscii: "invalid",
    uriDel: "invalid",
    repeated: "every value"
  },
  {
    versions: ["1.19.3", "1.22.0", "1.27.0", "1.28.0", "1.28.9"],
    methodSpecial: "ok",
    headerQuote: "invalid",
    uriNonAscii: "ok",
    uriDel: "ok",
    repeated: "every value"
  },
  {
    versions: ["1.29.0", "1.29.1", "2.0.0"],
    methodSpecial: "ok",
    headerQuote: "invalid",
    uriNonAscii: "ok",
    uriDel: "invalid",
    repeated: "last single replaces"
  }
]

const daemonAt = (version: string | undefined) =>
  version === undefined ? Codec.decoder("DaemonMessage") : Codec.decoderFor(version, "DaemonMessage")
const clientAt = (version: string | undefined) =>
  version === undefined ? Codec.decoder("ClientMessage") : Codec.decoderFor(version, "ClientMessage")

const expectVerdict = (
  result: Codec.DecodeResult<unknown>,
  verdict: Verdict,
  reason: string
): void => {
  if (verdict === "ok") expect(result._tag).toBe("Complete")
  else expect(result).toMatchObject({ _tag: "Invalid", reason })
}

const repeatedEntries: Tcp.HeaderMap = [
  ["x-a", [text("1")]],
  ["x-a", [text("2")]],
  ["x-a", [text("3")]]
]

const headersOf = (r: Codec.DecodeResult<ClientMessage>): Tcp.HeaderMap | undefined =>
  r._tag === "Complete" && r.message._tag === "TcpSteal" && r.message.value._tag === "HttpResponse"
    ? r.message.value.value.internal_response.headers
    : undefined

const decodeText = (values: ReadonlyArray<Uint8Array>) => values.map((v) => new TextDecoder().decode(v))

describe("decoderFor(V): HTTP validation of V's era", () => {
  for (const row of rows) {
    for (const version of row.versions) {
      describe(`at ${version}`, () => {
        const daemon = daemonAt(version)
        const client = clientAt(version)

        it(`a method with # $ % & ' is ${row.methodSpecial}`, () => {
          for (const c of ["#", "$", "%", "&", "'"]) {
            expectVerdict(daemon.decode(Codec.encode("DaemonMessage", request(`M${c}X`, "/"))), row.methodSpecial, "InvalidMethod")
          }
          // every era takes the plain tokens, and none takes a non-token
          expect(daemon.decode(Codec.encode("DaemonMessage", request("PURGE!*+-.^_`|~", "/")))._tag).toBe("Complete")
          expect(daemon.decode(Codec.encode("DaemonMessage", request("GE T", "/")))).toMatchObject({
            reason: "InvalidMethod"
          })
        })

        it(`a header name with " is ${row.headerQuote}, in requests and responses`, () => {
          const headers: Tcp.HeaderMap = [["x\"q", [text("1")]]]
          expectVerdict(daemon.decode(Codec.encode("DaemonMessage", request("GET", "/", headers))), row.headerQuote, "InvalidHeaderName")
          const r = client.decode(Codec.encode("ClientMessage", response(headers)))
          expectVerdict(r, row.headerQuote, "InvalidHeaderName")
          if (row.headerQuote === "ok") expect(headersOf(r)?.[0]?.[0]).toBe("x\"q")
          // upper case is lower-cased in every era; a space is never a name
          expect(headersOf(client.decode(Codec.encode("ClientMessage", response([["X-Up", [text("1")]]]))))?.[0]?.[0])
            .toBe("x-up")
          expect(client.decode(Codec.encode("ClientMessage", response([["x a", [text("1")]]])))).toMatchObject({
            reason: "InvalidHeaderName"
          })
        })

        it(`non-ASCII in a URI path or query is ${row.uriNonAscii}`, () => {
          for (const uri of ["/é", "/a?q=😀", "http://example.com/é"]) {
            expectVerdict(daemon.decode(Codec.encode("DaemonMessage", request("GET", uri))), row.uriNonAscii, "InvalidUri")
          }
        })

        it(`DEL in a URI path or query is ${row.uriDel}`, () => {
          for (const uri of ["/a\x7f", "/a?b\x7f"]) {
            expectVerdict(daemon.decode(Codec.encode("DaemonMessage", request("GET", uri))), row.uriDel, "InvalidUri")
          }
          // a space or a control byte is never part of a URI
          expect(daemon.decode(Codec.encode("DaemonMessage", request("GET", "/a b")))).toMatchObject({
            reason: "InvalidUri"
          })
        })

        it(`a repeated header name keeps ${row.repeated === "every value" ? "every value" : "the last single value"}`, () => {
          const r = client.decode(Codec.encode("ClientMessage", response(repeatedEntries)))
          const headers = headersOf(r)!
          expect(headers.map(([name]) => name)).toEqual(["x-a"])
          expect(decodeText(headers[0]![1])).toEqual(row.repeated === "every value" ? ["1", "2", "3"] : ["3"])
          // an entry with several values appends in every era
          const appended = headersOf(client.decode(Codec.encode("ClientMessage", response([
            ["x-a", [text("1")]],
            ["x-a", [text("2"), text("3")]]
          ]))))!
          expect(decodeText(appended[0]![1])).toEqual(["1", "2", "3"])
        })

        it("HttpValidation.rulesAt agrees with the decoder", () => {
          const rules = HttpValidation.rulesAt(version)
          expect(rules.methodSpecialChars).toBe(row.methodSpecial === "ok")
          expect(rules.headerNameQuote).toBe(row.headerQuote === "ok")
          expect(rules.uriNonAscii).toBe(row.uriNonAscii === "ok")
          expect(rules.uriDel).toBe(row.uriDel === "ok")
          expect(rules.singleValueReplaces).toBe(row.repeated === "last single replaces")
          expect(HttpValidation.isMethodAt(version, "M#")).toBe(row.methodSpecial === "ok")
          expect(HttpValidation.normalizeUriAt(version, "/é") !== undefined).toBe(row.uriNonAscii === "ok")
        })
      })
    }
  }

  it("the newest decoder (no version) is the 1.29.0 row", () => {
    expect(daemonAt(undefined).decode(Codec.encode("DaemonMessage", request("M#", "/é")))._tag).toBe("Complete")
    expect(daemonAt(undefined).decode(Codec.encode("DaemonMessage", request("GET", "/\x7f")))).toMatchObject({
      reason: "InvalidUri"
    })
    expect(decodeText(headersOf(clientAt(undefined).decode(Codec.encode("ClientMessage", response(repeatedEntries))))![0]![1]))
      .toEqual(["3"])
  })

  it("httpValidation: \"newest\" keeps only the version's variant limits", () => {
    const bytes = Codec.encode("DaemonMessage", request("M#", "/é"))
    expect(Codec.decoderFor("1.2.2", "DaemonMessage").decode(bytes)).toMatchObject({ reason: "InvalidMethod" })
    expect(Codec.decoderFor("1.2.2", "DaemonMessage", { httpValidation: "newest" }).decode(bytes)._tag).toBe("Complete")
  })

  it("the observed rows are the issue's table, in order", () => {
    expect(HttpValidation.eras.map((e) => [e.observed, e.methodSpecialChars, e.headerNameQuote, e.uriNonAscii, e.uriDel]))
      .toEqual([
        ["1.2.2–1.8.1", false, true, false, false],
        ["1.13.4, 1.15.0", true, false, false, false],
        ["1.19.3–1.27.0", true, false, true, true],
        ["1.29.0", true, false, true, false]
      ])
    expect(HttpValidation.singleValueReplacesFrom).toBe("1.29.0")
  })

  it("property: an era decoder accepts a 1.29-valid message or rejects it only for an HTTP value of its era", () => {
    const messages = Arbitrary.make(Message.DaemonMessage)
    const versions = FastCheck.constantFrom("1.2.2", "1.8.1", "1.13.4", "1.15.0", "1.19.3", "1.27.0", "1.29.0")
    FastCheck.assert(
      FastCheck.property(messages, versions, (message, version) => {
        const bytes = Codec.encode("DaemonMessage", message)
        const variantsOnly = Codec.decoderFor(version, "DaemonMessage", { httpValidation: "newest" }).decode(bytes)
        const era = Codec.decoderFor(version, "DaemonMessage").decode(bytes)
        if (variantsOnly._tag !== "Complete") {
          expect(era).toMatchObject({ _tag: variantsOnly._tag })
          return
        }
        if (era._tag === "Invalid") expect(["InvalidMethod", "InvalidUri", "InvalidHeaderName"]).toContain(era.reason)
        else expect(era._tag).toBe("Complete")
      }),
      { numRuns: 300 }
    )
  })
})
