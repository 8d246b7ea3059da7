/**
 * The built bins as child processes: `node packages/cli/bin/mirrord-effect.js …` and
 * `node packages/cli/bin/agent-sim.js …`, scoped (killed when the test's scope closes), with
 * their output collected. Waits are for events (a line on stdout/stderr, an exit) and bounded
 * only generously (`WAIT_MS`, below the tests' own timeouts), so a busy machine slows the tests
 * down without failing them. `cliSlot` bounds how many tests run CLI processes at once, across
 * vitest's workers.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { isMainThread } from "node:worker_threads"

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

/** The bound of every wait on a child process: generous, the tests' timeouts are `TEST_MS`. */
export const WAIT_MS = 60_000
/** The timeout of a test that runs CLI processes (waiting for a slot included). */
export const TEST_MS = 120_000

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

export interface SpawnOptions {
  readonly input?: string
  /** the command to run instead of `node script` (e.g. pnpm) */
  readonly command?: string
  readonly env?: NodeJS.ProcessEnv
  /** its own process group, so that a signal can go to the group (as a terminal's Ctrl-C does) */
  readonly detached?: boolean
}

export const spawnNode = (
  script: string,
  args: ReadonlyArray<string>,
  input?: string,
  options: SpawnOptions = {}
): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child: ChildProcess = spawn(options.command ?? process.execPath, options.command === undefined ? [script, ...args] : args, {
        cwd: repoRoot,
        stdio: ["pipe", "pipe", "pipe"],
        env: options.env ?? process.env,
        detached: options.detached === true
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
      input = input ?? options.input
      if (input === undefined) child.stdin!.end()
      else child.stdin!.end(input)
      const describe = () => `${path.basename(script)} ${args.join(" ")}\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`
      const c: Child = {
        pid: child.pid,
        stdout: () => stdout,
        stderr: () => stderr,
        // "exit" fires before the pipes are drained: wait for "close" too
        exitCode: (timeoutMs = WAIT_MS) =>
          until(() => (exit !== undefined && child.stdout!.readableEnded && child.stderr!.readableEnded ? exit : undefined), timeoutMs, () =>
            `no exit within ${timeoutMs} ms: ${describe()}`),
        waitFor: (which, pattern, timeoutMs = WAIT_MS) =>
          until(() => (which === "stdout" ? stdout : stderr).match(pattern) ?? undefined, timeoutMs, () =>
            `no ${pattern} on ${which} within ${timeoutMs} ms: ${describe()}`),
        kill: (signal) =>
          Effect.sync(() => {
            // a detached child leads its own process group: signal the group, as a terminal does
            if (options.detached === true && child.pid !== undefined) process.kill(-child.pid, signal)
            else child.kill(signal)
          })
      }
      return { child, c }
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          if (options.detached === true && child.pid !== undefined) killGroup(child.pid)
          return resume(Effect.void)
        }
        child.once("exit", () => {
          if (options.detached === true && child.pid !== undefined) killGroup(child.pid)
          resume(Effect.void)
        })
        if (options.detached === true && child.pid !== undefined) killGroup(child.pid)
        else child.kill("SIGKILL")
      })
  ).pipe(Effect.map(({ c }) => c))

/** SIGKILL to what is left of a process group we made (e.g. pnpm's children). */
const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // the group is gone already
  }
}

/** Runs `mirrord-effect …` to completion. */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly input?: string; readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv } = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* spawnNode(mirrordBin, args, options.input, options.env === undefined ? {} : { env: options.env })
    const code = yield* child.exitCode(options.timeoutMs)
    return { code, stdout: child.stdout(), stderr: child.stderr() }
  }))

export interface SimProcess {
  readonly child: Child
  readonly agent: string
  /** HOST:PORT of the HTTP front, when started with `--http-port` */
  readonly front: { readonly host: string; readonly port: number } | undefined
}

/** Runs `agent-sim …` to completion. */
export const runAgentSim = (args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* spawnNode(agentSimBin, args)
    const code = yield* child.exitCode()
    return { code, stdout: child.stdout(), stderr: child.stderr() }
  }))

/** Starts `agent-sim …` and reads the addresses it prints (`--listen` defaults to any free port). */
export const startAgentSim = (args: ReadonlyArray<string>): Effect.Effect<SimProcess, string, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* spawnNode(agentSimBin, args.includes("--listen") ? args : ["--listen", "127.0.0.1:0", ...args])
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

// ---- a limit on concurrent CLI tests, across vitest's worker processes ----------------------------

/** How many tests may run CLI processes at once (each such process costs up to a second of CPU). */
export const CLI_SLOTS = 3

// vitest's workers are child processes (forks) or threads of one process: either way this names
// the vitest run, so that every worker of it shares the slots
const runId = isMainThread ? process.ppid : process.pid
const slotDir = path.join(os.tmpdir(), `mirrord-effect-cli-slots-${runId}`)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Takes a free slot (a directory made atomically, holding the owner's pid) or frees a dead owner's. */
const tryTake = (): string | undefined => {
  try {
    fs.mkdirSync(slotDir, { recursive: true })
    for (let i = 0; i < CLI_SLOTS; i++) {
      const slot = path.join(slotDir, `slot-${i}`)
      try {
        fs.mkdirSync(slot)
        fs.writeFileSync(path.join(slot, "pid"), String(process.pid))
        return slot
      } catch {
        const owner = Number(fs.readFileSync(path.join(slot, "pid"), { encoding: "utf8", flag: "a+" }))
        if (owner > 0 && !alive(owner)) fs.rmSync(slot, { recursive: true, force: true })
      }
    }
  } catch {
    // another worker removed the directory meanwhile: try again at the next poll
  }
  return undefined
}

/** Frees a slot; the last one out removes the directory (it fails while another slot is held). */
const release = (slot: string) => {
  fs.rmSync(slot, { recursive: true, force: true })
  try {
    fs.rmdirSync(slotDir)
  } catch {
    // not empty: another test holds a slot
  }
}

/**
 * Holds one of `CLI_SLOTS` slots for the rest of the scope: waits (polling the slot directory,
 * bounded by `WAIT_MS`) while every slot is taken by another test.
 */
export const cliSlot: Effect.Effect<void, string, Scope.Scope> = Effect.acquireRelease(
  until(tryTake, WAIT_MS, () => `no free CLI slot in ${slotDir} within ${WAIT_MS} ms`),
  (slot) => Effect.sync(() => release(slot))
).pipe(Effect.asVoid)
