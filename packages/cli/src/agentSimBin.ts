/**
 * `agent-sim`: runs a simulated mirrord agent until SIGINT/SIGTERM.
 *
 *   agent-sim --protocol-version 1.7.0 --listen 127.0.0.1:0 [--http-port 80 --http 127.0.0.1:8080] [--trace]
 *             [--steal-result 80=PortAlreadyStolen|Forbidden …] [--close-after MS [--close-reason TEXT]]
 *
 * Prints one line per address it listens on; with `--trace`, one canonical-JSON line per message.
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import { AgentSimError } from "@mirrord-effect/agent-sim/AgentSimError"
import type { Recorded } from "@mirrord-effect/agent-sim/Recording"

const parseHostPort = (text: string): Effect.Effect<{ host: string; port: number }, AgentSimError> => {
  const m = /^(.*):(\d+)$/.exec(text)
  const port = m === null ? NaN : Number(m[2])
  return m === null || !(port >= 0 && port <= 65535)
    ? Effect.fail(new AgentSimError({ reason: "Listen", detail: `expected HOST:PORT, got ${JSON.stringify(text)}` }))
    : Effect.succeed({ host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port })
}

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

const protocolVersion = Options.text("protocol-version").pipe(
  Options.withDefault("1.29.0"),
  Options.withDescription("protocol version of the simulated agent")
)
const listen = Options.text("listen").pipe(
  Options.withDefault("127.0.0.1:0"),
  Options.withDescription("HOST:PORT where clients connect")
)
const httpPort = Options.integer("http-port").pipe(
  Options.optional,
  Options.withDescription("remote port whose traffic the HTTP front injects")
)
const http = Options.text("http").pipe(
  Options.withDefault("127.0.0.1:0"),
  Options.withDescription("HOST:PORT of the HTTP front (with --http-port)")
)
const trace = Options.boolean("trace").pipe(Options.withDescription("print every message as canonical JSON"))
const stealResult = Options.text("steal-result").pipe(
  Options.repeated,
  Options.withDescription("PORT=PortAlreadyStolen|Forbidden: refuse subscriptions on PORT (repeatable)")
)
const closeAfter = Options.integer("close-after").pipe(
  Options.optional,
  Options.withDescription("MS after the first subscription, close every client with DaemonMessage::Close (--close-reason)")
)
const closeReason = Options.text("close-reason").pipe(
  Options.withDefault("agent-sim: closing the session"),
  Options.withDescription("the reason sent with --close-after")
)

const parseStealResults = (
  texts: ReadonlyArray<string>
): Effect.Effect<Record<number, AgentSim.SubscribeOutcome>, AgentSimError> =>
  Effect.forEach(texts, (text) => {
    const m = /^(\d{1,5})=(PortAlreadyStolen|Forbidden|Ok)$/.exec(text)
    return m === null
      ? Effect.fail(new AgentSimError({ reason: "Listen", detail: `--steal-result: expected PORT=PortAlreadyStolen|Forbidden, got ${JSON.stringify(text)}` }))
      : Effect.succeed([Number(m[1]), m[2] as AgentSim.SubscribeOutcome] as const)
  }).pipe(Effect.map((pairs) => Object.fromEntries(pairs)))

/** Waits for a subscription on any port, then closes every client after `ms`. */
const closeAfterFirstSubscription = (sim: AgentSim.AgentSim, ms: number, reason: string) =>
  sim.clients.pipe(
    Effect.repeat({ until: (clients) => clients.some((c) => c.subscriptions.length > 0), schedule: Schedule.spaced("10 millis") }),
    Effect.zipRight(Effect.sleep(Duration.millis(ms))),
    // suspended: closeClient picks its clients when called, not when run
    Effect.zipRight(Effect.suspend(() => sim.closeClient(reason))),
    Effect.zipRight(Console.log(`closed the session: ${reason}`))
  )

const command = Command.make(
  "agent-sim",
  { protocolVersion, listen, httpPort, http, trace, stealResult, closeAfter, closeReason },
  (args) =>
    Effect.gen(function*() {
      const listenOn = yield* parseHostPort(args.listen)
      const subscribeResults = yield* parseStealResults(args.stealResult)
      const sim = yield* AgentSim.make({
        version: args.protocolVersion,
        listen: listenOn,
        subscribeResults,
        ...(args.trace ? { onRecord: (r: Recorded) => console.log(traceLine(r)) } : {})
      })
      yield* Console.log(`agent listening on ${sim.address.host}:${sim.address.port} (protocol ${args.protocolVersion})`)
      if (Option.isSome(args.httpPort)) {
        const front = yield* sim.serveHttp(args.httpPort.value, { listen: yield* parseHostPort(args.http) })
        yield* Console.log(`http front on ${front.host}:${front.port} for remote port ${args.httpPort.value}`)
      }
      if (Option.isSome(args.closeAfter)) {
        yield* Effect.forkScoped(closeAfterFirstSubscription(sim, args.closeAfter.value, args.closeReason))
      }
      return yield* Effect.never
    }).pipe(Effect.scoped)
)

const cli = Command.run(command, { name: "agent-sim", version: "0.1.0" })

cli(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
