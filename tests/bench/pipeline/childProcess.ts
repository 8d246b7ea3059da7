/**
 * A helper process of a benchmark: this repository's TypeScript run by the same node + tsx
 * loader as the parent, talking JSON lines (stdout: child → parent, stdin: parent → child).
 * Scoped: closing the scope ends the child (SIGTERM, then SIGKILL after a second).
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as cp from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"

export type ChildMessage = Record<string, unknown> & { readonly type: string }

export interface Child {
  readonly pid: number
  /** The next message of `type` (others before it are skipped); dies after `timeoutMs`. */
  readonly next: (type: string, timeoutMs?: number) => Effect.Effect<ChildMessage>
  readonly send: (message: ChildMessage) => Effect.Effect<void>
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** Starts `file` (relative to this directory) with `args`. */
export const spawnChild = (file: string, args: ReadonlyArray<string> = []): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<ChildMessage | { readonly type: "exit"; readonly code: number | null }>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        // BENCH_CHILD_NODE_ARGS: extra node flags for helper processes, e.g. "--cpu-prof"
        const extra = (process.env["BENCH_CHILD_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")
        const proc = cp.spawn(process.execPath, [...extra, ...process.execArgv, path.join(here, file), ...args], {
          stdio: ["pipe", "pipe", "inherit"]
        })
        readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
          try {
            Queue.unsafeOffer(inbox, JSON.parse(line) as ChildMessage)
          } catch {
            process.stderr.write(`[${file}] ${line}\n`)
          }
        })
        proc.on("exit", (code) => Queue.unsafeOffer(inbox, { type: "exit", code }))
        return proc
      }),
      (proc) =>
        Effect.async<void>((resume) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
          const timer = setTimeout(() => proc.kill("SIGKILL"), 1000)
          proc.once("exit", () => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          proc.stdin?.end()
          proc.kill("SIGTERM")
        })
    )
    const next = (type: string, timeoutMs = 30_000): Effect.Effect<ChildMessage> =>
      Effect.gen(function*() {
        for (;;) {
          const message = yield* Queue.take(inbox)
          if (message.type === type) return message as ChildMessage
          if (message.type === "exit") {
            return yield* Effect.dieMessage(`${file} exited (code ${String(message.code)}) before sending ${type}`)
          }
          if (message.type === "error") return yield* Effect.dieMessage(`${file}: ${String(message["detail"])}`)
        }
      }).pipe(
        Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`${file}: no ${type} within ${timeoutMs} ms`) }),
        Effect.orDie
      )
    return {
      pid: child.pid ?? 0,
      next,
      send: (message) => Effect.sync(() => void child.stdin?.write(`${JSON.stringify(message)}\n`))
    }
  })

/** In a child: send one message to the parent. */
export const toParent = (message: ChildMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** In a child: the parent's messages, one callback per line. Also exits when the parent goes. */
export const fromParent = (onMessage: (message: ChildMessage) => void): void => {
  readline.createInterface({ input: process.stdin }).on("line", (line) => onMessage(JSON.parse(line) as ChildMessage))
  process.stdin.on("end", () => process.exit(0))
}
