/**
 * What agent-sim (with `record: true`) received about one connection's response, in order, as
 * short names: `Start`/`Body`/`Error` (Chunked), `HttpResponseFramed`, `HttpResponse`,
 * `ConnectionUnsubscribe`.
 */
import type * as AgentSim from "@mirrord-effect/agent-sim/AgentSim"
import type { ClientMessage } from "@mirrord-effect/protocol/Message"
import * as Effect from "effect/Effect"

const nameFor = (m: ClientMessage, connectionId: bigint): string | undefined => {
  if (m._tag !== "TcpSteal") return undefined
  const s = m.value
  switch (s._tag) {
    case "HttpResponseChunked":
      return s.value.value.connection_id === connectionId ? s.value._tag : undefined
    case "HttpResponseFramed":
    case "HttpResponse":
      return s.value.connection_id === connectionId ? s._tag : undefined
    case "ConnectionUnsubscribe":
      return s.value === connectionId ? "ConnectionUnsubscribe" : undefined
    default:
      return undefined
  }
}

/** The names received so far about `connectionId`. */
export const sentFor = (sim: AgentSim.AgentSim, connectionId: bigint) =>
  Effect.map(sim.recording, (recorded) =>
    recorded.flatMap((r) => {
      if (r._tag !== "Received") return []
      const name = nameFor(r.message, connectionId)
      return name === undefined ? [] : [name]
    }))

/** Waits (on the sim's recording) until `n` names arrived about `connectionId`. */
export const awaitSent = (sim: AgentSim.AgentSim, connectionId: bigint, n: number) =>
  Effect.gen(function*() {
    for (;;) {
      const sent = yield* sentFor(sim, connectionId)
      if (sent.length >= n) return sent
      yield* Effect.sleep(5) // polling the recording; the test's own timeout bounds it
    }
  })
