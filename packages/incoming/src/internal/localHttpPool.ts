/**
 * The connection pool and the `LocalHttp` service implementation.
 *
 * Reuse rules (mirroring the intproxy's `ClientStore`): same target address; an HTTP/2 session
 * only for HTTP/2 requests, an HTTP/1 connection for any request except HTTP/3; a connection is
 * leased exclusively and goes back to the pool only after a fully successful, non-upgrade
 * exchange whose response was completely read and whose connection the app kept open; idle
 * connections are evicted after `idleTimeout`, and dropped as soon as the app closes them.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type {
  LocalHttpOptions,
  LocalHttpService,
  LocalHttpStats,
  LocalRequest,
  LocalResponse,
  LocalTarget
} from "../LocalHttp.js"
import { BodyReader } from "./localHttpBody.js"
import { LocalHttpError } from "./localHttpError.js"
import * as H1 from "./localHttpH1.js"
import * as H2 from "./localHttpH2.js"
import { connect, describeTarget, type Lease } from "./localHttpSocket.js"

type Connection = H1.H1Connection | H2.H2Connection

interface IdleEntry {
  readonly conn: Connection
  timer: ReturnType<typeof setTimeout> | undefined
  /** position in its stack (kept up to date so removal is O(1)) */
  index: number
  stack: IdleStack | undefined
}

/**
 * The idle connections of one target and kind, most recently released on top. Acquire pops
 * from the top (the warmest connection); a connection that closes while idle is removed at
 * once by swapping the top into its place, so acquiring never scans the idle list.
 */
class IdleStack {
  readonly entries: Array<IdleEntry> = []

  push(entry: IdleEntry): void {
    entry.index = this.entries.length
    entry.stack = this
    this.entries.push(entry)
  }

  pop(): IdleEntry | undefined {
    const entry = this.entries.pop()
    if (entry !== undefined) entry.stack = undefined
    return entry
  }

  remove(entry: IdleEntry): void {
    const last = this.entries.pop()!
    if (last !== entry) {
      this.entries[entry.index] = last
      last.index = entry.index
    }
    entry.stack = undefined
  }
}

/** @internal */
export const DEFAULT_IDLE_TIMEOUT: Duration.Duration = Duration.seconds(3)
/** @internal */
export const DEFAULT_CONNECT_TIMEOUT: Duration.Duration = Duration.seconds(10)

/** @internal */
export const make = (options: LocalHttpOptions = {}): Effect.Effect<LocalHttpService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const idleTimeoutMs = Duration.toMillis(Duration.decode(options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT))
    const connectTimeout = Option.some(Duration.decode(options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT))
    // idle stacks per target key and kind; `idleOf` finds a connection's entry
    const idle = new Map<string, { readonly h1: IdleStack; readonly h2: IdleStack }>()
    const idleOf = new Map<Connection, IdleEntry>()
    const all = new Set<Connection>()
    let nextId = 0
    let opened = 0
    let closed = false

    const removeIdle = (conn: Connection): void => {
      const entry = idleOf.get(conn)
      if (entry === undefined) return
      idleOf.delete(conn)
      clearTimeout(entry.timer)
      entry.stack?.remove(entry)
    }

    const track = (conn: Connection): Connection => {
      all.add(conn)
      opened++
      conn.onClose(() => {
        all.delete(conn)
        removeIdle(conn)
      })
      return conn
    }

    const popUsable = (stack: IdleStack): Connection | undefined => {
      for (;;) {
        const entry = stack.pop()
        if (entry === undefined) return undefined
        idleOf.delete(entry.conn)
        clearTimeout(entry.timer)
        if (entry.conn.usable) return entry.conn
        entry.conn.destroy()
      }
    }

    const takeIdle = (key: string, wantH2: boolean): Connection | undefined => {
      const stacks = idle.get(key)
      if (stacks === undefined) return undefined
      return (wantH2 ? popUsable(stacks.h2) : undefined) ?? popUsable(stacks.h1)
    }

    const acquire = (target: LocalTarget, key: string, wantH2: boolean): Effect.Effect<Connection, LocalHttpError> =>
      Effect.suspend(() => {
        if (closed) {
          return Effect.fail(
            new LocalHttpError({ reason: "ConnectFailed", retryable: false, detail: "the LocalHttp service is shut down" })
          )
        }
        const reused = takeIdle(key, wantH2)
        if (reused !== undefined) return Effect.succeed(reused)
        // Only connecting is interruptible; registering the new connection is not.
        return Effect.interruptible(connect(target, { allowHalfOpen: !wantH2, timeout: connectTimeout })).pipe(
          Effect.map((socket) => {
            const id = nextId++
            const conn = wantH2 ? H2.H2Connection.open(id, key, target, socket) : new H1.H1Connection(id, key, socket)
            if (closed) conn.destroy()
            return track(conn)
          })
        )
      })

    const release = (conn: Connection, lease: Lease): Effect.Effect<void> =>
      Effect.sync(() => {
        if (closed || !lease.isClean() || !conn.usable) {
          conn.destroy()
          return
        }
        if (conn.kind === "h1") conn.setIdle()
        const entry: IdleEntry = { conn, timer: undefined, index: 0, stack: undefined }
        entry.timer = setTimeout(() => {
          removeIdle(conn)
          conn.destroy()
        }, idleTimeoutMs)
        entry.timer.unref?.()
        let stacks = idle.get(conn.key)
        if (stacks === undefined) {
          stacks = { h1: new IdleStack(), h2: new IdleStack() }
          idle.set(conn.key, stacks)
        }
        stacks[conn.kind].push(entry)
        idleOf.set(conn, entry)
      })

    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closed = true
        for (const entry of idleOf.values()) clearTimeout(entry.timer)
        idleOf.clear()
        idle.clear()
        const open = [...all]
        let pending = open.length
        if (pending === 0) return resume(Effect.void)
        for (const conn of open) {
          conn.onClose(() => {
            if (--pending === 0) resume(Effect.void)
          })
          conn.destroy()
        }
      }).pipe(Effect.timeout(Duration.seconds(2)), Effect.ignore)
    )

    const send = <E>(
      target: LocalTarget,
      request: LocalRequest<E>
    ): Effect.Effect<LocalResponse, LocalHttpError | E, Scope.Scope> =>
      Effect.gen(function*() {
        if (request.version === "HTTP/3.0") {
          return yield* new LocalHttpError({
            reason: "UnsupportedVersion",
            detail: "HTTP/3 requests cannot be sent to the local application"
          })
        }
        if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535 || target.host.length === 0) {
          return yield* new LocalHttpError({
            reason: "ConnectFailed",
            retryable: false,
            detail: `invalid local target ${describeTarget(target)}`
          })
        }
        const wantH2 = request.version === "HTTP/2.0"
        const key = describeTarget(target)
        // Validate before touching any connection.
        const h1 = yield* H1.prepare(request)
        const h2 = wantH2 ? yield* H2.prepare(request, target) : undefined
        const body = yield* BodyReader.make(request.body)
        const h1Resolved = wantH2 ? h1 : yield* H1.resolveFraming(h1, body)
        const lease: Lease = { isClean: () => false }
        const conn = yield* Effect.acquireRelease(acquire(target, key, wantH2), (conn) => release(conn, lease))
        return conn.kind === "h2"
          ? yield* H2.send(conn, h2!, body, lease)
          : yield* H1.send(conn, h1Resolved, body, lease)
      })

    const stats: Effect.Effect<LocalHttpStats> = Effect.sync(() => {
      return { openConnections: all.size, idleConnections: idleOf.size, connectionsOpened: opened }
    })

    return { send, stats } satisfies LocalHttpService
  })
