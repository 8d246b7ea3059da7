/**
 * `agent-sim` as an Effect: validates what the parser cannot (a known protocol version, --http
 * only with --http-port), starts the simulator and serves until interrupted.
 * @internal
 */
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type { AgentSimError } from "@mirrord-effect/agent-sim/AgentSimError"
import type { Recorded } from "@mirrord-effect/agent-sim/Recording"
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { CliFailure, type ExitCode } from "../ExitCode.js"
import { type AgentSimArgs, AgentSimExitCode } from "./agentSimProgram.js"

const failure = (code: number, message: string) => new CliFailure(code as ExitCode, message)

const traceLine = (r: Recorded): string => {
  switch (r._tag) {
    case "Sent":
      return `${r.at.toFixed(3)} client#${r.clientId} <- ${Canonical.stringify(Canonical.toCanonical("DaemonMessage", r.message))}`
    case "Received":
      return `${r.at.toFixed(3)} client#${r.clientId} -> ${Canonical.stringify(Canonical.toCanonical("ClientMessage", r.message))}`
    case "Undecodable":
      return `${r.at.toFixed(3)} client#${r.clientId} dropped: ${r.drop.reason} ${r.drop.path.join(" / ")} index ${r.drop.index ?? "?"} at byte ${r.drop.offset}: ${r.drop.detail}`
  }
}

/** Waits for a subscription on any port, then closes every client after `ms`. */
const closeAfterFirstSubscription = (sim: AgentSim.AgentSim, ms: number, reason: string) =>
  sim.clients.pipe(
    Effect.repeat({ until: (clients) => clients.some((c) => c.subscriptions.length > 0), schedule: Schedule.spaced("10 millis") }),
    Effect.zipRight(Effect.sleep(Duration.millis(ms))),
    // suspended: closeClient picks its clients when called, not when run
    Effect.zipRight(Effect.suspend(() => sim.closeClient(reason))),
    Effect.zipRight(Console.log(`closed the session: ${reason}`))
  )

const simFailed = (error: AgentSimError) =>
  failure(error.reason === "Listen" ? AgentSimExitCode.Listen : AgentSimExitCode.Failure, error.detail)

/** A mirrord-protocol release this simulator knows, or a usage failure saying which it knows. */
const knownVersion = (text: string): Effect.Effect<Version.SemVer, CliFailure> => {
  const parsed = Version.parseVersion(text)
  const known = VariantHistory.knownVersions
  if (parsed._tag === "Right" && known.includes(Version.format(parsed.right))) return Effect.succeed(parsed.right)
  return Effect.fail(failure(
    AgentSimExitCode.Usage,
    `--protocol-version ${text}: ${parsed._tag === "Left" ? "not a version" : "not a mirrord-protocol release this simulator knows"}; known: ${
      known[0]
    } … ${known[known.length - 1]} (e.g. 1.2.2, 1.7.0, 1.8.1, 1.19.4, 1.29.0)`
  ))
}

export const run = (args: AgentSimArgs) =>
  Effect.gen(function*() {
    const version = yield* knownVersion(args.protocolVersion)
    if (args.http !== undefined && args.httpPort === undefined) {
      return yield* Effect.fail(failure(AgentSimExitCode.Usage, "--http needs --http-port (the remote port whose traffic the front injects)"))
    }
    if (args.closeAfter === undefined && args.closeReason !== "agent-sim: closing the session") {
      return yield* Effect.fail(failure(AgentSimExitCode.Usage, "--close-reason needs --close-after"))
    }
    const sim = yield* AgentSim.make({
      version,
      listen: args.listen,
      subscribeResults: Object.fromEntries(args.stealResult),
      ...(args.trace ? { onRecord: (r: Recorded) => console.log(traceLine(r)) } : {})
    }).pipe(Effect.mapError(simFailed))
    yield* Console.log(`agent listening on ${sim.address.host}:${sim.address.port} (protocol ${Version.format(version)})`)
    if (args.httpPort !== undefined) {
      const front = yield* sim.serveHttp(args.httpPort, { listen: args.http ?? { host: "127.0.0.1", port: 0 } }).pipe(
        Effect.mapError(simFailed)
      )
      yield* Console.log(`http front on ${front.host}:${front.port} for remote port ${args.httpPort}`)
    }
    if (args.closeAfter !== undefined) {
      yield* Effect.forkScoped(closeAfterFirstSubscription(sim, args.closeAfter, args.closeReason))
    }
    return yield* Effect.never
  }).pipe(Effect.scoped)
