/**
 * An `@effect/platform` `Socket` as a `ByteDuplex`, for runtimes without `node:net`.
 *
 * That Socket cannot cork, report its buffer, or pause reading, so this adapter is not at the
 * floor: writes go through one writer fiber (one socket write per chunk), `'drain'` is emulated
 * from the bytes it holds, and pause/resume do nothing (inbound bytes keep arriving into memory
 * while the connection's mailbox is full). Use a `node:net` socket (`NodeTransport`) where there is one.
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type { ByteDuplex } from "../ByteDuplex.js"

/** Bytes held before `write` returns false (like a Node stream's default highWaterMark). */
const HIGH_WATER_MARK = 16 * 1024

type Listener = (...args: Array<any>) => void

export const toByteDuplex = (socket: Socket.Socket): Effect.Effect<ByteDuplex, Socket.SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const write = yield* socket.writer
    const listeners = new Map<string, Array<Listener>>()
    const emit = (event: string, ...args: Array<unknown>) => {
      for (const l of listeners.get(event)?.slice() ?? []) l(...args)
    }
    let pending: Array<{ chunk: Uint8Array; callback: ((e?: Error | null) => void) | undefined }> = []
    let held = 0
    let needDrain = false
    let destroyed = false
    let writing = false
    /** `end` was called: `'finish'` once the writer fiber has written everything */
    let ending = false
    let finished = false
    const finishIfFlushed = () => {
      if (ending && !finished && !writing && pending.length === 0 && !destroyed) {
        finished = true
        emit("finish")
      }
    }

    const flush = Effect.gen(function*() {
      while (pending.length > 0 && !destroyed) {
        const batch = pending
        pending = []
        for (const { callback, chunk } of batch) {
          const exit = yield* Effect.exit(write(chunk))
          held -= chunk.length
          if (Exit.isFailure(exit)) {
            const error = Object.assign(new Error(String(exit.cause)), { cause: exit.cause })
            callback?.(error)
            duplex.destroy(error)
            return
          }
          callback?.()
        }
        if (needDrain && held < HIGH_WATER_MARK) {
          needDrain = false
          emit("drain")
        }
      }
    }).pipe(Effect.ensuring(Effect.sync(() => {
      writing = false
      finishIfFlushed()
    })))

    const opened = yield* Deferred.make<void, Socket.SocketError>()
    let reader: Fiber.RuntimeFiber<void, Socket.SocketError> | undefined

    const duplex: ByteDuplex = {
      write(chunk, callback) {
        if (destroyed || ending) {
          callback?.(new Error("the socket is closed"))
          return false
        }
        pending.push({ chunk, callback })
        held += chunk.length
        if (!writing) {
          writing = true
          runFork(flush)
        }
        if (held >= HIGH_WATER_MARK) needDrain = true
        return !needDrain
      },
      end() {
        ending = true
        finishIfFlushed()
      },
      cork() {},
      uncork() {},
      get writableNeedDrain() {
        return needDrain
      },
      pause() {},
      resume() {},
      destroy(error) {
        if (destroyed) return
        destroyed = true
        if (error !== undefined) emit("error", error)
        if (reader !== undefined) runFork(Fiber.interrupt(reader))
        emit("close")
      },
      get destroyed() {
        return destroyed
      },
      on(event, listener) {
        const list = listeners.get(event) ?? []
        list.push(listener)
        listeners.set(event, list)
      },
      removeListener(event, listener) {
        const list = listeners.get(event)
        if (list === undefined) return
        const i = list.indexOf(listener)
        if (i >= 0) list.splice(i, 1)
      }
    }

    reader = yield* socket.run((chunk) => {
      emit("data", chunk)
    }, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (destroyed) return
          if (Exit.isSuccess(exit)) emit("end")
          else if (!Exit.isInterrupted(exit)) emit("error", Object.assign(new Error(String(exit.cause)), { cause: exit.cause }))
          destroyed = true
          emit("close")
        })
      ),
      Effect.tapError((e) => Deferred.fail(opened, e)),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => duplex.destroy()))
    yield* Deferred.await(opened)
    return duplex
  })
