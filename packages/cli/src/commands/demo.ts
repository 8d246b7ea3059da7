/**
 * `mirrord-effect demo`: the sample app, simulated agents of several protocol versions and the
 * real proxy between them, in one process; prints a table per agent and a verdict.
 * @internal
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Demo from "../demo/Demo.js"
import * as ProgressLine from "../demo/ProgressLine.js"
import * as Table from "../demo/Table.js"
import { CliFailure, ExitCode } from "../ExitCode.js"
import { writeStdout } from "./codecIo.js"

const agentVersion = Options.text("agent-version").pipe(
  Options.repeated,
  Options.withDescription(
    `simulate an agent of this protocol version (repeatable; default ${Demo.DEFAULT_AGENT_VERSIONS.join(", ")})`
  )
)
const requests = Options.integer("requests").pipe(
  Options.withDefault(1),
  Options.withDescription("how many times each endpoint is requested per agent")
)

/** @internal */
export const demoCommand = Command.make(
  "demo",
  { agentVersion, requests },
  (args) =>
    Effect.gen(function*() {
      if (args.requests < 1) return yield* Effect.fail(new CliFailure(ExitCode.Usage, "--requests must be at least 1"))
      const progress = ProgressLine.make()
      const report = yield* Demo.run({
        ...(args.agentVersion.length > 0 ? { agentVersions: args.agentVersion } : {}),
        requests: args.requests,
        onProgress: (p) => progress.update(`demo [${p.done}/${p.total}] agent ${p.agentVersion}: ${p.endpoint}${args.requests > 1 ? ` #${p.attempt}` : ""}`)
      }).pipe(
        Effect.ensuring(Effect.sync(() => progress.clear())),
        Effect.mapError((error) =>
          new CliFailure(error.reason === "Usage" ? ExitCode.Usage : ExitCode.Failure, error.message)
        )
      )
      yield* writeStdout(Table.render(report))
      if (!report.verdict.ok) {
        return yield* Effect.fail(new CliFailure(ExitCode.Failure, `demo verdict false (${report.verdict.problems.length} problem(s))`))
      }
    })
).pipe(Command.withDescription(
  "run a sample app behind simulated agents of several protocol versions through the real proxy, and print what crossed the wire"
))
