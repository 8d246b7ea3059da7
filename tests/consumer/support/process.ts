/**
 * Child processes and temporary directories for the packaging tests, as scoped Effects.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A command that exited non-zero, timed out or could not start; its output says why. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly reason: "NonZeroExit" | "TimedOut" | "CouldNotStart"
  readonly command: string
  readonly code: number | null
  readonly output: string
}> {
  override get message(): string {
    return `\`${this.command}\` ${this.reason} (code ${this.code}):\n${this.output.slice(-4000)}`
  }
}

export interface CommandResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/**
 * Runs a command to completion and fails unless it exits 0 (`allowFailure` returns the result of a
 * non-zero exit instead). The child is killed if the fiber is interrupted — as when the test that
 * runs it times out, which is what bounds it (no `timeoutMs` by default: no deadline shorter than
 * the test's own).
 */
export const command = (
  file: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env?: NodeJS.ProcessEnv
    readonly timeoutMs?: number
    readonly allowFailure?: boolean
  }
): Effect.Effect<CommandResult, CommandFailed> =>
  Effect.async<CommandResult, CommandFailed>((resume, signal) => {
    const text = [file, ...args].join(" ")
    execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: 64 * 1024 * 1024,
        signal
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`
        if (error === null) return resume(Effect.succeed({ stdout, stderr, code: 0 }))
        const e = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean }
        if (typeof e.code === "string") {
          return resume(Effect.fail(new CommandFailed({ reason: "CouldNotStart", command: text, code: null, output: e.message })))
        }
        if (e.killed === true) {
          return resume(Effect.fail(new CommandFailed({ reason: "TimedOut", command: text, code: null, output })))
        }
        const code = typeof e.code === "number" ? e.code : 1
        if (options.allowFailure === true) return resume(Effect.succeed({ stdout, stderr, code }))
        resume(Effect.fail(new CommandFailed({ reason: "NonZeroExit", command: text, code, output })))
      }
    )
  })

/** A fresh directory under `parent` (the OS temp dir), removed with everything in it when the scope closes. */
export const tempDir = (prefix: string, parent: string = os.tmpdir()): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      fs.mkdirSync(parent, { recursive: true })
      return fs.mkdtempSync(path.join(parent, prefix))
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
