/**
 * The `mirrord-effect` executable: runs the CLI with the Node platform and maps failures to
 * one-line messages and documented exit codes (see ExitCode.ts and the README).
 * @internal
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"
import { CliFailure, ExitCode } from "./ExitCode.js"

const program = run(process.argv.slice(2)).pipe(
  Effect.catchAll((e) =>
    Effect.sync(() => {
      if (e instanceof CliFailure) {
        process.stderr.write(`mirrord-effect: ${e.message}\n`)
        process.exitCode = e.code
      } else if (ValidationError.isValidationError(e)) {
        // @effect/cli has already printed the help text for usage errors
        process.exitCode = ExitCode.Usage
      } else {
        process.stderr.write(`mirrord-effect: ${String((e as any)?.message ?? e)}\n`)
        process.exitCode = ExitCode.Failure
      }
    })
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: false, disablePrettyLogger: true })
