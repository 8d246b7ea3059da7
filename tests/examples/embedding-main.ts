/**
 * The README's embedding example as a process: `main` under `NodeRuntime.runMain`, with a short
 * give-up policy. Arguments: agent host, agent port, local app port.
 */
import { NodeRuntime } from "@effect/platform-node"
import { main } from "./embedding.js"

const [host = "127.0.0.1", agentPort = "0", localPort = "0"] = process.argv.slice(2)
NodeRuntime.runMain(
  main({ host, port: Number(agentPort) }, Number(localPort), { initialDelay: 10, maxDelay: 50, maxAttempts: 3 })
)
