/**
 * Shared input/output for `decode` and `encode`: read a file or stdin, write stdout.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { CliFailure, ExitCode } from "../ExitCode.js"

/** @internal */
export const readInput = (file: string) =>
  Effect.gen(function*() {
    if (file === "-") {
      return yield* Effect.async<Uint8Array, CliFailure>((resume) => {
        const chunks: Array<Buffer> = []
        process.stdin.on("data", (c: Buffer) => chunks.push(c))
        process.stdin.once("end", () => resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks)))))
        process.stdin.once("error", (e) => resume(Effect.fail(new CliFailure(ExitCode.InvalidInput, `stdin: ${e.message}`))))
      })
    }
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFile(file).pipe(
      Effect.mapError((e) => new CliFailure(ExitCode.InvalidInput, `cannot read ${file}: ${e.message}`))
    )
  })

/** @internal */
export const writeStdout = (bytes: Uint8Array | string) =>
  Effect.async<void>((resume) => {
    process.stdout.write(bytes, () => resume(Effect.void))
  })

/** @internal */
export const hexToBytes = (text: string): Uint8Array | undefined => {
  const clean = text.replace(/\s+/g, "").replace(/^0x/i, "")
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined
  return Uint8Array.from(Buffer.from(clean, "hex"))
}
