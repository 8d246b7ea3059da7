/**
 * The demo's own failures (its traffic outcomes are results, not errors).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * - `Setup`: a part of the demo (sample app, simulator, HTTP front) could not start.
 * - `Connect`: the proxy could not connect to, negotiate with, or subscribe at a simulator.
 * - `Usage`: invalid demo options (e.g. an unparsable agent version).
 *
 * @since 0.1.0
 * @category errors
 */
export class DemoError extends Data.TaggedError("DemoError")<{
  readonly reason: "Setup" | "Connect" | "Usage"
  readonly detail: string
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `demo ${this.reason}: ${this.detail}`
  }
}
