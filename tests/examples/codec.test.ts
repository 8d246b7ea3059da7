import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { bytes, decoded, json, messages } from "./codec.js"

describe("the README's codec example", () => {
  it("appears verbatim in the README", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8")
    expect(readme).toContain(fs.readFileSync(path.resolve(__dirname, "codec.ts"), "utf8").trim())
  })

  it.effect("does what its comments say", () =>
    Effect.gen(function*() {
      expect(Buffer.from(bytes).toString("hex")).toBe("02000050")
      expect(decoded._tag === "Complete" && decoded.bytesConsumed).toBe(4)
      expect(json).toEqual({ $: "TcpSteal", value: { $: "PortSubscribe", value: { $: "All", value: 80 } } })
      const all = yield* Stream.runCollect(messages)
      expect(Chunk.size(all)).toBe(1)
    }))
})
