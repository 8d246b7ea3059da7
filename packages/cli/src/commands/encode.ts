/**
 * `mirrord-effect encode`: canonical JSON lines → protocol bytes (the reverse of `decode`).
 * @internal
 */
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CliFailure, ExitCode } from "../ExitCode.js"
import { readInput, writeStdout } from "./codecIo.js"
import type { EncodeArgs } from "../internal/mirrordProgram.js"
import { rootOf } from "./decode.js"

/** @internal */
export const run = (args: EncodeArgs) =>
    Effect.gen(function*() {
      const text = new TextDecoder().decode(yield* readInput(args.positional ?? "-"))
      const root = rootOf(args.direction)
      const parts: Array<Uint8Array> = []
      const lines = text.split("\n")
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!.trim()
        if (line === "") continue
        let json: unknown
        try {
          json = JSON.parse(line)
        } catch (e) {
          return yield* Effect.fail(new CliFailure(ExitCode.InvalidInput, `line ${i + 1}: not JSON: ${String(e)}`))
        }
        const message = Canonical.fromCanonical(root, json)
        if (Either.isLeft(message)) {
          return yield* Effect.fail(new CliFailure(ExitCode.InvalidInput, `line ${i + 1}: ${message.left.message}`))
        }
        parts.push(Codec.encode(root, message.right))
      }
      const all = Buffer.concat(parts)
      yield* writeStdout(args.hex ? all.toString("hex") + "\n" : all)
    })
