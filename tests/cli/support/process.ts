/**
 * The built bins as child processes: `node packages/cli/bin/mirrord-effect.js …` and
 * `node packages/cli/bin/agent-sim.js …`, scoped (killed when the test's scope closes), with
 * their output collected and waits bounded.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
export const mirrordBin = path.join(repoRoot, "packages", "cli", "bin", "mirrord-effect.js")
export const agentSimBin = path.join(repoRoot, "packages", "cli", "bin", "agent-sim.js")

export interface Child {
  readonly pid: number | undefined
  readonly stdout: () => string
  readonly stderr: () => string
  /** The exit code (or 128 + signal number), within `timeoutMs`. */
  readonly exitCode: (timeoutMs?: number) => Effect.Effect<number, string>
  /** The first match of `pattern` in stdout or stderr, within `timeoutMs`. */
  readonly waitFor: (which: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number) => Effect.Effect<RegExpMatchArray, string>
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Polls a condition every 20 ms until it holds or `timeoutMs` passes. */
const until = <A>(probe: () => A | undefined, timeoutMs: number, what: () => string): Effect.Effect<A, string> =>
  Effect.async<A, string>((resume) => {
    const started = Date.now()
    const tick = () => {
      const found = probe()
      if (found !== undefined) return resume(Effect.succeed(found))
      if (Date.now() - started > timeoutMs) return resume(Effect.fail(what()))
      timer = setTimeout(tick, 20)
    }
    let timer = setTimeout(tick, 0)
    return Effect.sync(() => clearTimeout(timer))
  })

export const spawnNode = (script: string, args: ReadonlyArray<string>, input?: string): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child: ChildProcess = spawn(process.execPath, [script, ...args], {
        cwd: repoRoot,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" }
      })
      let stdout = ""
      let stderr = ""
      let exit: number | undefined
      child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      child.on("exit", (code, signal) => {
        exit = code ?? 128 + (signal === null ? 0 : SIGNAL_NUMBERS[signal] ?? 0)
      })
      // stdin errors (the child exited before reading) are irrelevant to the tests
      child.stdin!.on("error", () => {})
      if (input === undefined) child.stdin!.end()
      else child.stdin!.end(input)
      const describe = () => `${path.basename(script)} ${args.join(" ")}\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`
      const c: Child = {
        pid: child.pid,
        stdout: () => stdout,
        stderr: () => stderr,
        // "exit" fires before the pipes are drained: wait for "close" too
        exitCode: (timeoutMs = 15_000) =>
          until(() => (exit !== undefined && child.stdout!.readableEnded && child.stderr!.readableEnded ? exit : undefined), timeoutMs, () =>
            `no exit within ${timeoutMs} ms: ${describe()}`),
        waitFor: (which, pattern, timeoutMs = 15_000) =>
          until(() => (which === "stdout" ? stdout : stderr).match(pattern) ?? undefined, timeoutMs, () =>
            `no ${pattern} on ${which} within ${timeoutMs} ms: ${describe()}`),
        kill: (signal) => Effect.sync(() => void child.kill(signal))
      }
      return { child, c }
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
  ).pipe(Effect.map(({ c }) => c))

/** Runs `mirrord-effect …` to completion. */
export const runCli = (args: ReadonlyArray<string>, options: { readonly input?: string; readonly timeoutMs?: number } = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* spawnNode(mirrordBin, args, options.input)
    const code = yield* child.exitCode(options.timeoutMs)
    return { code, stdout: child.stdout(), stderr: child.stderr() }
  }))

export interface SimProcess {
  readonly child: Child
  readonly agent: string
  /** HOST:PORT of the HTTP front, when started with `--http-port` */
  readonly front: { readonly host: string; readonly port: number } | undefined
}

/** Starts `agent-sim …` and reads the addresses it prints. */
export const startAgentSim = (args: ReadonlyArray<string>): Effect.Effect<SimProcess, string, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* spawnNode(agentSimBin, ["--listen", "127.0.0.1:0", ...args])
    const agent = (yield* child.waitFor("stdout", /agent listening on (127\.0\.0\.1:\d+)/))[1]!
    if (!args.includes("--http-port")) return { child, agent, front: undefined }
    const front = yield* child.waitFor("stdout", /http front on (127\.0\.0\.1):(\d+)/)
    return { child, agent, front: { host: front[1]!, port: Number(front[2]) } }
  })

/** A local app: answers `<method> <url>` plus the request body, with a header naming it. */
export const startLocalApp = Effect.acquireRelease(
  Effect.async<http.Server>((resume) => {
    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain", "x-served-by": "local-app" })
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString("utf8")}`)
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
).pipe(Effect.map((server) => `127.0.0.1:${(server.address() as net.AddressInfo).port}`))

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export const closedPort = Effect.async<number>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})
