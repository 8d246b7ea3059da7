/**
 * The `mirrord-effect` command line: `demo`, `steal`, `decode`, `encode`, `capabilities`.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { capabilitiesCommand } from "./commands/capabilities.js"
import { decodeCommand } from "./commands/decode.js"
import { demoCommand } from "./commands/demo.js"
import { encodeCommand } from "./commands/encode.js"
import { stealCommand } from "./commands/steal.js"

const logLevel = Options.choice("log-level", ["trace", "debug", "info", "warning", "error", "none"]).pipe(
  Options.optional,
  Options.withDescription("minimum level of log lines on stderr (default: warning)")
)

const root = Command.make("mirrord-effect", { logLevel }).pipe(
  Command.withDescription("mirrord's incoming-traffic pipeline in TypeScript + Effect"),
  Command.withSubcommands([demoCommand, stealCommand, decodeCommand, encodeCommand, capabilitiesCommand])
)

const levels = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

/**
 * Runs the CLI on `argv` (without the node and script entries).
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) => {
  const i = argv.indexOf("--log-level")
  const chosen = i >= 0 ? argv[i + 1] : undefined
  const level = chosen !== undefined && chosen in levels ? levels[chosen as keyof typeof levels] : LogLevel.Warning
  return Command.run(root, { name: "mirrord-effect", version: "0.1.0" })(["node", "mirrord-effect", ...argv]).pipe(
    Logger.withMinimumLogLevel(level),
    Effect.annotateLogs("cli", "mirrord-effect")
  )
}

