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
  /** version negotiation failed (agents older than 1.3.0 need --assume-version) */
  NegotiationFailed: 4,
  /** the requested HTTP filter needs a newer agent */
  FilterUnsupported: 5,
  /** the port is already stolen by another client */
  PortAlreadyStolen: 6,
  /** the agent closed the session (its reason is printed) or the connection was lost */
  AgentClosed: 7,
  /** a subscription was refused by policy */
  Forbidden: 8,
  /** input bytes or JSON could not be decoded / encoded */
  InvalidInput: 9
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

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
