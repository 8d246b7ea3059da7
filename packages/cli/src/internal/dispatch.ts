/**
 * From a parsed invocation to the command's Effect; each command's module is imported only when
 * it runs (so `decode` does not load the proxy, and `--help` loads none of them).
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type { CliFailure } from "../ExitCode.js"
import * as CL from "./commandLine.js"
import type * as P from "./mirrordProgram.js"

export const runCommand = (
  command: CL.CommandSpec,
  args: Record<string, unknown>,
  globals: Pick<CL.Globals, "color">
): Effect.Effect<void, CliFailure, FileSystem.FileSystem> => {
  // status lines go to stderr: escape codes only where stderr is a terminal and colour is allowed
  const ansi = CL.useColor(globals, process.stderr, process.env)
  switch (command.name) {
    case "demo":
      return Effect.flatMap(Effect.promise(() => import("../commands/demo.js")), (m) => m.run(args as P.DemoArgs, { ansi }))
    case "steal":
      return Effect.flatMap(Effect.promise(() => import("../commands/steal.js")), (m) => m.run(args as P.StealArgs, { ansi }))
    case "decode":
      return Effect.flatMap(Effect.promise(() => import("../commands/decode.js")), (m) => m.run(args as P.DecodeArgs))
    case "encode":
      return Effect.flatMap(Effect.promise(() => import("../commands/encode.js")), (m) => m.run(args as P.EncodeArgs))
    case "capabilities":
      return Effect.flatMap(Effect.promise(() => import("../commands/capabilities.js")), (m) => m.run(args as P.CapabilitiesArgs))
    default:
      return Effect.dieMessage(`no implementation for command ${command.name}`)
  }
}
