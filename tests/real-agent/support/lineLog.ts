/**
 * The lines a child process printed (stdout and stderr), and waiting for one: the suite
 * synchronises on these events, never on time. The bound of a wait only turns a hang into a
 * failure that shows the process's output.
 */
import type { ChildProcess } from "node:child_process"
import * as readline from "node:readline"

export type Event = Record<string, unknown> & { readonly ev?: string }

interface Waiter {
  readonly match: (line: string) => boolean
  readonly resolve: (line: string) => void
}

export class LineLog {
  readonly lines: Array<string> = []
  private readonly waiters = new Set<Waiter>()
  private exited: string | undefined

  constructor(readonly child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue
      readline.createInterface({ input: stream }).on("line", (line) => this.push(line))
    }
    child.on("exit", (code, signal) => {
      this.exited = `exited (code ${code}, signal ${signal})`
      this.push(`<${this.exited}>`)
    })
  }

  private push(line: string) {
    this.lines.push(line)
    for (const waiter of this.waiters) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter)
        waiter.resolve(line)
      }
    }
  }

  /** The JSON events printed so far (from line `from`). */
  events(from = 0): Array<Event> {
    const out: Array<Event> = []
    for (const line of this.lines.slice(from)) {
      if (!line.startsWith("{")) continue
      try {
        out.push(JSON.parse(line) as Event)
      } catch {
        // not an event line
      }
    }
    return out
  }

  /** Resolves with the first line (already printed or to come, from index `from`) that matches. */
  waitFor(match: (line: string) => boolean, what: string, options: { timeoutMs?: number; from?: number } = {}): Promise<string> {
    const seen = this.lines.slice(options.from ?? 0).find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    const timeoutMs = options.timeoutMs ?? 45_000
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter)
        reject(new Error(`no ${what} within ${timeoutMs} ms; output:\n${this.lines.slice(-40).join("\n")}`))
      }, timeoutMs)
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        }
      }
      this.waiters.add(waiter)
    })
  }

  /** Waits for a JSON event whose fields include `fields`. */
  async waitForEvent(fields: Event, options: { timeoutMs?: number; from?: number } = {}): Promise<Event> {
    const matches = (line: string) => {
      if (!line.startsWith("{")) return false
      try {
        const event = JSON.parse(line) as Event
        return Object.entries(fields).every(([k, v]) => event[k] === v)
      } catch {
        return false
      }
    }
    return JSON.parse(await this.waitFor(matches, `event ${JSON.stringify(fields)}`, options)) as Event
  }

  /** This log seen from its current end: events and waits ignore what was printed before. */
  since(): LogView {
    return new LogView(this, this.lines.length)
  }
}

/** A log from one line on (one proxy session of a long-lived process). */
export class LogView {
  constructor(readonly log: LineLog, readonly from: number) {}
  get lines(): Array<string> {
    return this.log.lines.slice(this.from)
  }
  events(): Array<Event> {
    return this.log.events(this.from)
  }
  waitFor(match: (line: string) => boolean, what: string, options: { timeoutMs?: number; from?: number } = {}): Promise<string> {
    return this.log.waitFor(match, what, { ...options, from: this.from + (options.from ?? 0) })
  }
  waitForEvent(fields: Event, options: { timeoutMs?: number; from?: number } = {}): Promise<Event> {
    return this.log.waitForEvent(fields, { ...options, from: this.from + (options.from ?? 0) })
  }
}
