/**
 * The light receiver and load generator of B2 and B5: an agent of protocol 1.29.0 on real TCP
 * that does only what the benchmark needs, in plain callbacks, so that the proxy — not the
 * harness — is the bottleneck. It negotiates, answers Pings, confirms steal subscriptions,
 * injects requests (`HttpRequestChunked::StartV2`, whole body, a fresh connection id per
 * request as current agents do) and hands each response's head, body bytes (views into the
 * socket's chunks, no copies) and end to a sink; after a response it sends `Close`, as the
 * agent does. Messages are decoded straight from the socket's chunks (agent-sim's MessageReader).
 */
import * as MessageReader from "@mirrord-effect/agent-sim/MessageReader"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage } from "@mirrord-effect/protocol/Message"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

const VERSION = "1.29.0"

export interface ResponseSink {
  readonly head: (status: number, variant: string) => void
  readonly data: (bytes: Uint8Array) => void
  readonly end: () => void
  readonly fail: (why: string) => void
}

export interface LightSession {
  /** Resolves with the port of the first confirmed steal subscription. */
  readonly subscribed: Promise<number>
  /** Injects `GET uri` on `port`; the response goes to `sink`. */
  readonly request: (port: number, uri: string, sink: ResponseSink) => void
  /** Resolves when the client's connection has closed (with why decoding stopped, if it did). */
  readonly closed: Promise<string | undefined>
}

export interface LightAgent {
  readonly address: { readonly host: string; readonly port: number }
  /** The next client connection. */
  readonly accept: Effect.Effect<LightSession>
}

const HOST_HEADER: Tcp.HeaderMap = [["host", [Buffer.from("bench")]]]

const serve = (socket: net.Socket): LightSession => {
  const agentVersion = Version.unsafeParseVersion(VERSION)
  const sinks = new Map<bigint, ResponseSink>()
  let nextConnectionId = 0n
  let corked = false
  let stopReason: string | undefined
  let onSubscribed: (port: number) => void = () => {}
  const subscribed = new Promise<number>((resolve) => (onSubscribed = resolve))
  const closed = new Promise<string | undefined>((resolve) => socket.on("close", () => resolve(stopReason)))
  socket.setNoDelay(true)

  // the writes of one tick go out together
  const send = (message: DaemonMessage) => {
    if (socket.destroyed) return
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(() => {
        corked = false
        socket.uncork()
      })
    }
    socket.write(Codec.encode("DaemonMessage", message))
  }
  const steal = (value: Tcp.DaemonTcp) => send({ _tag: "TcpSteal", value })

  const finish = (connectionId: bigint) => {
    sinks.delete(connectionId)
    steal({ _tag: "Close", value: { connection_id: connectionId } })
  }

  const frames = (sink: ResponseSink, body: ReadonlyArray<Tcp.BodyFrame>) => {
    for (const frame of body) if (frame._tag === "Data" && frame.value.length > 0) sink.data(frame.value)
  }

  const onResponse = (m: Extract<Tcp.LayerTcpSteal, { _tag: `HttpResponse${string}` }>) => {
    if (m._tag === "HttpResponseChunked") {
      const c = m.value
      const id = c._tag === "Body" ? c.value.connection_id : c.value.connection_id
      const sink = sinks.get(id)
      if (sink === undefined) return
      switch (c._tag) {
        case "Start":
          sink.head(c.value.internal_response.status, "HttpResponseChunked")
          frames(sink, c.value.internal_response.body)
          return
        case "Body":
          frames(sink, c.value.frames)
          if (c.value.is_last) {
            sink.end()
            finish(id)
          }
          return
        case "Error":
          sinks.delete(id)
          sink.fail("ChunkedResponse::Error")
          return
      }
    }
    const r = m.value
    const sink = sinks.get(r.connection_id)
    if (sink === undefined) return
    sink.head(r.internal_response.status, m._tag)
    if (m._tag === "HttpResponse") {
      if (m.value.internal_response.body.length > 0) sink.data(m.value.internal_response.body)
    } else {
      frames(sink, m.value.internal_response.body)
    }
    sink.end()
    finish(r.connection_id)
  }

  const handle = (message: ClientMessage) => {
    switch (message._tag) {
      case "SwitchProtocolVersion": {
        const offered = Version.toSemVer(message.value) ?? agentVersion
        return send({ _tag: "SwitchProtocolVersionResponse", value: Version.format(Version.min(agentVersion, offered)) })
      }
      case "Ping":
        return send({ _tag: "Pong" })
      case "TcpSteal": {
        const m = message.value
        if (m._tag === "PortSubscribe") {
          const port = m.value._tag === "All" ? m.value.value : m.value.values[0]
          steal({ _tag: "SubscribeResult", value: { _tag: "Ok", value: port } })
          return onSubscribed(port)
        }
        if (m._tag === "HttpResponse" || m._tag === "HttpResponseFramed" || m._tag === "HttpResponseChunked") {
          return onResponse(m)
        }
      }
    }
  }

  const reader = MessageReader.make(Codec.decoderFor(VERSION, "ClientMessage"))
  socket.on("data", (chunk: Buffer) => {
    const { error, messages } = reader.feed(chunk)
    for (const message of messages) handle(message)
    if (error !== undefined) {
      stopReason = `undecodable client message: ${error.message}`
      socket.destroy()
    }
  })
  socket.on("error", () => {})
  socket.on("close", () => {
    for (const sink of sinks.values()) sink.fail(stopReason ?? "the client connection closed")
    sinks.clear()
  })

  return {
    subscribed,
    closed,
    request: (port, uri, sink) => {
      const connection_id = nextConnectionId++
      sinks.set(connection_id, sink)
      steal({
        _tag: "HttpRequestChunked",
        value: {
          _tag: "StartV2",
          value: {
            connection_id,
            request_id: 0,
            request: { method: "GET", uri, headers: HOST_HEADER, version: "HTTP/1.1", body: { frames: [], is_last: true } },
            metadata: { _tag: "V1", source: "10.0.0.1:40000", destination: `10.0.0.2:${port}` },
            transport: { _tag: "Tcp" }
          }
        }
      })
    }
  }
}

/** Listens on 127.0.0.1, any port; closing the scope closes the listener and every connection. */
export const lightAgent: Effect.Effect<LightAgent, never, Scope.Scope> = Effect.gen(function*() {
  const waiting: Array<(session: LightSession) => void> = []
  const ready: Array<LightSession> = []
  const sockets = new Set<net.Socket>()
  const server = yield* Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const s = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        const session = serve(socket)
        const taker = waiting.shift()
        if (taker === undefined) ready.push(session)
        else taker(session)
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        s.close(() => resume(Effect.void))
      })
  )
  const port = (server.address() as net.AddressInfo).port
  return {
    address: { host: "127.0.0.1", port },
    accept: Effect.async<LightSession>((resume) => {
      const session = ready.shift()
      if (session !== undefined) return resume(Effect.succeed(session))
      waiting.push((s) => resume(Effect.succeed(s)))
    })
  }
})
