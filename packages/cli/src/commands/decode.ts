/**
 * `mirrord-effect decode`: captured protocol bytes → one canonical JSON message per line.
 * @internal
 */
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CliFailure, ExitCode } from "../ExitCode.js"
import type { DecodeArgs } from "../internal/mirrordProgram.js"
import { hexToBytes, readInput, writeStdout } from "./codecIo.js"

/** @internal */
export const rootOf = (d: "client" | "daemon") => (d === "client" ? "ClientMessage" as const : "DaemonMessage" as const)

/** @internal */
export const run = (args: DecodeArgs) =>
    Effect.gen(function*() {
      const raw = yield* readInput(args.positional ?? "-")
      const bytes = args.hex ? hexToBytes(new TextDecoder().decode(raw)) : raw
      if (bytes === undefined) return yield* Effect.fail(new CliFailure(ExitCode.InvalidInput, "input is not hex"))
      const root = rootOf(args.direction)
      let version: string | undefined
      if (args.protocolVersion !== undefined) {
        const parsed = Version.parseVersion(args.protocolVersion)
        if (Either.isLeft(parsed)) {
          return yield* Effect.fail(new CliFailure(ExitCode.Usage, `invalid --protocol-version: ${parsed.left.message}`))
        }
        version = args.protocolVersion
      }
      const decoder = version === undefined ? Codec.decoder(root) : Codec.decoderFor(version, root)
      let offset = 0
      let index = 0
      const lines: Array<string> = []
      while (offset < bytes.length) {
        const r = decoder.decode(bytes, offset)
        if (r._tag === "Complete") {
          lines.push(JSON.stringify(Canonical.toCanonical(root, r.message)))
          offset += r.bytesConsumed
          index++
          continue
        }
        yield* writeStdout(lines.map((l) => l + "\n").join(""))
        const who = version === undefined ? "" : ` (as a ${version} peer)`
        const why = r._tag === "Incomplete"
          ? `the input ends inside it (${bytes.length - offset} bytes of it present)`
          : `${r.reason} at byte ${offset + r.offset}${r.path.length > 0 ? ` in ${r.path.join(" / ")}` : ""}: ${r.detail}`
        return yield* Effect.fail(
          new CliFailure(ExitCode.InvalidInput, `message ${index + 1} (at byte ${offset}) could not be decoded${who}: ${why}`)
        )
      }
      yield* writeStdout(lines.map((l) => l + "\n").join(""))
    })
