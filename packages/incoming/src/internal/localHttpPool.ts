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
    const idle = new Map<string, Array<IdleEntry>>()
    const all = new Set<Connection>()
    let nextId = 0
    let opened = 0
    let closed = false

    const removeIdle = (conn: Connection): void => {
      const list = idle.get(conn.key)
      if (list === undefined) return
      const i = list.findIndex((e) => e.conn === conn)
      if (i === -1) return
      clearTimeout(list[i]!.timer)
      list.splice(i, 1)
      if (list.length === 0) idle.delete(conn.key)
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

    const takeIdle = (key: string, wantH2: boolean): Connection | undefined => {
      const list = idle.get(key)
      if (list === undefined) return undefined
      for (let i = list.length - 1; i >= 0; i--) {
        const entry = list[i]!
        if (!entry.conn.usable) {
          clearTimeout(entry.timer)
          list.splice(i, 1)
          entry.conn.destroy()
        }
      }
      const pick = (kind: Connection["kind"]) => {
        for (let i = list.length - 1; i >= 0; i--) if (list[i]!.conn.kind === kind) return i
        return -1
      }
      let index = wantH2 ? pick("h2") : -1
      if (index === -1) index = pick("h1")
      if (index === -1) {
        if (list.length === 0) idle.delete(key)
        return undefined
      }
      const [entry] = list.splice(index, 1)
      if (list.length === 0) idle.delete(key)
      clearTimeout(entry!.timer)
      return entry!.conn
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
        const entry: IdleEntry = { conn, timer: undefined }
        entry.timer = setTimeout(() => {
          removeIdle(conn)
          conn.destroy()
        }, idleTimeoutMs)
        entry.timer.unref?.()
        const list = idle.get(conn.key)
        if (list === undefined) idle.set(conn.key, [entry])
        else list.push(entry)
      })

    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closed = true
        for (const list of idle.values()) for (const entry of list) clearTimeout(entry.timer)
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
      let idleCount = 0
      for (const list of idle.values()) idleCount += list.length
      return { openConnections: all.size, idleConnections: idleCount, connectionsOpened: opened }
    })

    return { send, stats } satisfies LocalHttpService
  })
