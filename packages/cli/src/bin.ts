/**
 * The `mirrord-effect` executable. Parsing, `--help` and usage errors need nothing but
 * commandLine.ts; Effect and the command's modules are imported only to run a command, so
 * `--help` starts in a few tens of milliseconds.
 * @internal
 */
import { ExitCode, exitCodeHelp } from "./ExitCode.js"
import * as CL from "./internal/commandLine.js"
import { program } from "./internal/mirrordProgram.js"

const BIN = "mirrord-effect"
const invocation = CL.parse(program, process.argv.slice(2))

if (invocation instanceof CL.UsageError) {
  process.stderr.write(`${BIN}: ${invocation.message}\n`)
  process.exitCode = ExitCode.Usage
} else if (invocation._tag === "Help") {
  const codes = exitCodeHelp.map(([code, text]) => `  ${String(code).padStart(2)}  ${text}`).join("\n")
  const style = CL.useColor(invocation.globals, process.stdout, process.env) ? CL.ansi : CL.plain
  process.stdout.write(CL.help(program, invocation.command, style, codes))
} else if (invocation._tag === "Version") {
  process.stdout.write(`${BIN} ${program.version}\n`)
} else {
  const [{ runMain }, { runCommand }] = await Promise.all([import("./internal/main.js"), import("./internal/dispatch.js")])
  runMain(BIN, invocation.globals.logLevel, runCommand(invocation.command, invocation.args, invocation.globals))
}
