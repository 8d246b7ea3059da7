/**
 * Runs a command's Effect as the process: one-line errors `<bin>: <message>` with their exit
 * codes and no stack trace, log lines on stderr with the same prefix, and SIGINT/SIGTERM
 * interrupting the program (its finalizers run) before the process exits with 0.
 * @internal
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { CliFailure, ExitCode } from "../ExitCode.js"
import type { LogLevelName } from "./commandLine.js"

const levels: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
}

const messageText = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : String((m as Error)?.message ?? m)))
    .join(" ")

/** `<bin>: <level>: <message>` on stderr, without colours or stack traces. */
const stderrLogger = (bin: string) =>
  Logger.make(({ logLevel, message }) => {
    process.stderr.write(`${bin}: ${logLevel.label.toLowerCase()}: ${messageText(message)}\n`)
  })

/** The message of a failure that is not a `CliFailure` (a defect or a foreign error), one line. */
const describeUnexpected = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const text = error instanceof Error ? error.message : typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error)
  return text.split("\n")[0] ?? "unknown error"
}

/** Maps the outcome of `program` to stderr and `process.exitCode`; never fails. */
export const reportFailures = <R>(bin: string, program: Effect.Effect<void, unknown, R>): Effect.Effect<void, never, R> =>
  program.pipe(
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some" && failure.value instanceof CliFailure) {
          process.stderr.write(`${bin}: ${failure.value.message}\n`)
          process.exitCode = failure.value.code
        } else {
          process.stderr.write(`${bin}: unexpected failure: ${describeUnexpected(cause)}\n`)
          process.exitCode = ExitCode.Failure
        }
      })
    )
  )

/**
 * While the first SIGINT/SIGTERM's clean stop runs, the next one is ignored: under
 * `pnpm <script>` a single Ctrl-C arrives twice (from the terminal to the process group, then
 * forwarded by pnpm), and Node's default action would kill the process mid-unsubscribe (exit 130,
 * pnpm's ELIFECYCLE). A third signal forces the exit (128 + signal).
 */
const toleratePnpmForwardedSignal = () => {
  let received = 0
  const onSignal = (signal: NodeJS.Signals) => {
    received++
    if (received >= 3) process.exit(128 + (signal === "SIGINT" ? 2 : 15))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
}

/** Runs `program` as the process (Node context, logger, signals, exit code). */
export const runMain = (
  bin: string,
  logLevel: LogLevelName,
  program: Effect.Effect<void, unknown, NodeContext.NodeContext>
): void => {
  toleratePnpmForwardedSignal()
  return NodeRuntime.runMain(
    reportFailures(bin, Effect.provide(program, NodeContext.layer)).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger(bin))),
      Logger.withMinimumLogLevel(levels[logLevel])
    ),
    {
      disableErrorReporting: true,
      disablePrettyLogger: true,
      // a signal ends the program by interruption: its finalizers have run (e.g. steal's
      // unsubscribe) and that is a clean stop, so the code is whatever the program set, else 0
      teardown: (_exit, onExit) => onExit(typeof process.exitCode === "number" ? process.exitCode : 0)
    }
  )
}
