/**
 * The `mirrord-effect` command line as an Effect (the bin adds the process: exit codes, signals):
 * `demo`, `steal`, `decode`, `encode`, `capabilities`; global options anywhere.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { CliFailure, ExitCode, exitCodeHelp } from "./ExitCode.js"
import * as CL from "./internal/commandLine.js"
import { runCommand } from "./internal/dispatch.js"
import { program } from "./internal/mirrordProgram.js"

/**
 * The help text of the program (`command` undefined) or of one command, without escape codes.
 *
 * @since 0.2.0
 * @category help
 */
export const helpText = (command?: string): string =>
  CL.help(
    program,
    program.commands.find((c) => c.name === command),
    CL.plain,
    exitCodeHelp.map(([code, text]) => `  ${String(code).padStart(2)}  ${text}`).join("\n")
  )

/**
 * Runs the CLI on `argv` (without the node and script entries). A usage error fails with
 * `CliFailure` code `Usage`; `--help` writes the help to stdout.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, CliFailure, FileSystem.FileSystem> =>
  Effect.suspend(() => {
    const invocation = CL.parse(program, argv)
    if (invocation instanceof CL.UsageError) return Effect.fail(new CliFailure(ExitCode.Usage, invocation.message))
    switch (invocation._tag) {
      case "Help":
        return Effect.sync(() => void process.stdout.write(helpText(invocation.command?.name)))
      case "Version":
        return Effect.sync(() => void process.stdout.write(`${program.name} ${program.version}\n`))
      case "Run":
        return runCommand(invocation.command, invocation.args, invocation.globals)
    }
  })
