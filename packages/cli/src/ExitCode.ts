/**
 * Process exit codes of `mirrord-effect`, one per failure a user must tell apart.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  Ok: 0,
  /** a generic failure (also: `demo` verdict false) */
  Failure: 1,
  /** bad command-line usage */
  Usage: 2,
  /** the agent address could not be reached */
  AgentUnreachable: 3,
  /** version negotiation failed: the peer dropped the connection (agents older than 1.3.0: --assume-version), said nothing, or is no agent */
  NegotiationFailed: 4,
  /** the requested HTTP filter needs a newer agent */
  FilterUnsupported: 5,
  /** the port is already stolen by another client */
  PortAlreadyStolen: 6,
  /** with --no-reconnect: the agent closed the session (its reason is printed) or the connection was lost */
  AgentClosed: 7,
  /** a subscription was refused by policy */
  Forbidden: 8,
  /** input bytes or JSON could not be decoded / encoded */
  InvalidInput: 9,
  /** `steal`: the agent was lost and reconnecting gave up (the last error is printed) */
  GaveUp: 10
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/**
 * One line per exit code of `mirrord-effect`, as its `--help` shows them.
 *
 * @since 0.2.0
 * @category constants
 */
export const exitCodeHelp: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.Ok, "success; `steal` stopped by Ctrl-C (SIGINT) or SIGTERM after unsubscribing"],
  [ExitCode.Failure, "any other failure; `demo` when its verdict is false"],
  [ExitCode.Usage, "bad command line (unknown or invalid option, missing value, bad version)"],
  [ExitCode.AgentUnreachable, "steal: nothing accepts connections at --agent"],
  [ExitCode.NegotiationFailed, "steal: the peer did not negotiate a protocol version"],
  [ExitCode.FilterUnsupported, "steal: the filter needs a newer agent protocol"],
  [ExitCode.PortAlreadyStolen, "steal: another client steals the port"],
  [ExitCode.AgentClosed, "steal: the agent closed the session, or the connection was lost (with --no-reconnect)"],
  [ExitCode.Forbidden, "steal: a policy forbids stealing/mirroring the port"],
  [ExitCode.InvalidInput, "decode/encode: input that cannot be decoded/encoded"],
  [ExitCode.GaveUp, "steal: the agent was lost and reconnecting gave up"]
]

/**
 * A failure that ends the process with a one-line message and a specific exit code.
 *
 * @since 0.1.0
 * @category errors
 */
export class CliFailure {
  readonly _tag = "CliFailure"
  constructor(readonly code: ExitCode, readonly message: string) {}
}
