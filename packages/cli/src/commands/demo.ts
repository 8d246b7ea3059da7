/**
 * `mirrord-effect demo`: the sample app, simulated agents of several protocol versions and the
 * real proxy between them, in one process; prints a legend, a table per agent, the
 * counterfactual and a verdict.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Demo from "../demo/Demo.js"
import * as ProgressLine from "../demo/ProgressLine.js"
import * as Table from "../demo/Table.js"
import { CliFailure, ExitCode } from "../ExitCode.js"
import type { DemoArgs } from "../internal/mirrordProgram.js"
import { writeStdout } from "./codecIo.js"

/** @internal */
export const run = (args: DemoArgs, terminal: { readonly ansi: boolean }) =>
  Effect.gen(function*() {
    const progress = ProgressLine.make(process.stderr, { ansi: terminal.ansi })
    const report = yield* Demo.run({
      ...(args.agentVersion.length > 0 ? { agentVersions: args.agentVersion } : {}),
      requests: args.requests,
      counterfactual: !args.noCounterfactual,
      onProgress: (p) =>
        progress.update(`demo [${p.done}/${p.total}] agent ${p.agentVersion}: ${p.endpoint}${args.requests > 1 ? ` #${p.attempt}` : ""}`)
    }).pipe(
      Effect.ensuring(Effect.sync(() => progress.clear())),
      Effect.mapError((error) => new CliFailure(error.reason === "Usage" ? ExitCode.Usage : ExitCode.Failure, error.message))
    )
    yield* writeStdout(Table.render(report))
    if (!report.verdict.ok) {
      return yield* Effect.fail(new CliFailure(ExitCode.Failure, `demo verdict false (${report.verdict.problems.length} problem(s))`))
    }
  })
