import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("workspace", () => {
  it.effect("runs Effect tests", () => Effect.sync(() => expect(1 + 1).toBe(2)))
})
