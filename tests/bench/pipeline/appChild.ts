/**
 * The benchmark app (`app.ts`) in a process of its own, so that its work runs on the other core
 * for both the pipeline and its baseline (and so that the soak can kill it). Arguments: the HTTP
 * and TCP ports (default 0, any). Sends `{type:"ready", host, port, tcpPort}`.
 */
import * as Effect from "effect/Effect"
import { serveAppOn } from "./app.js"
import { fromParent, toParent } from "./childProcess.js"

const program = Effect.gen(function*() {
  const app = yield* serveAppOn({ http: Number(process.argv[2] ?? 0), tcp: Number(process.argv[3] ?? 0) })
  toParent({ type: "ready", host: app.host, port: app.port, tcpPort: app.tcpPort })
  yield* Effect.never
})

fromParent(() => {})
process.on("SIGTERM", () => process.exit(0))
Effect.runFork(Effect.scoped(program))
