/**
 * The hand-transcribed worked examples of wire-format.md: byte-exact encode, decode back to the
 * same value, canonical JSON round trip, and the fixed outcomes of malformed input.
 */
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { hex, nonCanonicalExamples, outcomeExamples, workedExamples } from "./fixtures/worked-examples.js"

const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex")

describe("worked examples (wire-format.md §3, §5, §9, §10)", () => {
  for (const ex of workedExamples) {
    it.effect(`§${ex.section} ${ex.name}`, () =>
      Effect.sync(() => {
        const bytes = hex(ex.hex)
        // the typed value encodes to exactly the documented bytes
        expect(toHex(Codec.encode(ex.root, ex.message as never))).toBe(toHex(bytes))
        expect(Codec.encodedSize(ex.root, ex.message as never)).toBe(bytes.length)

        const decoded = Codec.decoder(ex.root).decode(bytes)
        expect(decoded._tag).toBe("Complete")
        if (decoded._tag !== "Complete") return
        expect(decoded.bytesConsumed).toBe(bytes.length)
        expect(decoded.message).toEqual(ex.message)

        const canon = Canonical.toCanonical(ex.root, decoded.message as never)
        if (ex.canon !== undefined) expect(canon).toEqual(ex.canon)
        const back = Canonical.fromCanonical(ex.root, JSON.parse(JSON.stringify(canon)))
        expect(Either.isRight(back)).toBe(true)
        if (Either.isRight(back)) expect(back.right).toEqual(ex.message)

        if (ex.since !== undefined) expect(Codec.sinceVersion(ex.root, ex.message as never)).toBe(ex.since)
      }))
  }

  it.effect("§9.8 Pong then Close(bye) on one stream: the first decode consumes 1 byte", () =>
    Effect.sync(() => {
      const bytes = hex("07 00 03 62 79 65")
      const first = Codec.decodeDaemonMessage(bytes)
      expect(first).toMatchObject({ _tag: "Complete", bytesConsumed: 1, message: { _tag: "Pong" } })
      const second = Codec.decoder("DaemonMessage").decode(bytes, 1)
      expect(second).toMatchObject({ _tag: "Complete", bytesConsumed: 5, message: { _tag: "Close", value: "bye" } })
    }))

  it.effect("every strict prefix of a worked example is Incomplete", () =>
    Effect.sync(() => {
      for (const ex of workedExamples) {
        const bytes = hex(ex.hex)
        for (let n = 0; n < bytes.length; n++) {
          const r = Codec.decoder(ex.root).decode(bytes.subarray(0, n))
          expect(r._tag, `${ex.name} cut at ${n}`).toBe("Incomplete")
        }
      }
    }))
})

describe("fixed outcomes (wire-format.md §2.3, §10, §11)", () => {
  for (const ex of outcomeExamples) {
    it.effect(ex.name, () =>
      Effect.sync(() => {
        const r = Codec.decoder(ex.root).decode(hex(ex.hex))
        expect(r._tag).toBe(ex.outcome)
        if (ex.reason !== undefined && r._tag === "Invalid") expect(r.reason).toBe(ex.reason)
      }))
  }

  for (const ex of nonCanonicalExamples) {
    it.effect(`non-canonical accepted: ${ex.name}`, () =>
      Effect.sync(() => {
        const bytes = hex(ex.hex)
        const r = Codec.decoder(ex.root).decode(bytes)
        expect(r._tag).toBe("Complete")
        if (r._tag !== "Complete") return
        expect(r.bytesConsumed).toBe(bytes.length)
        expect(toHex(Codec.encode(ex.root, r.message as never))).toBe(toHex(hex(ex.reencoded)))
      }))
  }
})
