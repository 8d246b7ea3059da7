/**
 * The `agent-sim` executable: a simulated mirrord agent until SIGINT/SIGTERM (see
 * internal/agentSimProgram.ts for its options and exit codes). Parsing, `--help` and usage
 * errors load nothing but commandLine.ts; the simulator is imported only to run.
 * @internal
 */
import * as CL from "./internal/commandLine.js"
import { AgentSimExitCode, exitCodeHelp, program } from "./internal/agentSimProgram.js"

const BIN = "agent-sim"
const invocation = CL.parse(program, process.argv.slice(2))

if (invocation instanceof CL.UsageError) {
  process.stderr.write(`${BIN}: ${invocation.message}\n`)
  process.exitCode = AgentSimExitCode.Usage
} else if (invocation._tag === "Help") {
  const codes = exitCodeHelp.map(([code, text]) => `  ${String(code).padStart(2)}  ${text}`).join("\n")
  const style = CL.useColor(invocation.globals, process.stdout, process.env) ? CL.ansi : CL.plain
  process.stdout.write(CL.help(program, undefined, style, codes))
} else if (invocation._tag === "Version") {
  process.stdout.write(`${BIN} ${program.version}\n`)
} else {
  const [{ runMain }, { run }] = await Promise.all([import("./internal/main.js"), import("./internal/agentSimMain.js")])
  runMain(BIN, invocation.globals.logLevel, run(invocation.args as never))
}
