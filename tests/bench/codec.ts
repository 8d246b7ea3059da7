/**
 * Codec benchmark (B1): `pnpm bench:codec [--rounds N] [--round-ms MS]`.
 *
 * Encode and decode throughput of the bincode codec for small messages, chunked body frames
 * (16 KiB, 1 MiB) and a framed response with 20 headers, each measured in the same run against
 * msgpackr packing/unpacking the same message object and against `Buffer.copy` of as many bytes
 * as the encoded message. The three are interleaved in every round; each figure is the median of
 * the rounds after a warm-up. Not a test: it prints a table.
 */
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { ClientMessage, DaemonMessage, MessageOf, Root } from "@mirrord-effect/protocol/Message"
import { Packr, Unpackr } from "msgpackr"
import * as os from "node:os"

const args = process.argv.slice(2)
const argNum = (name: string, fallback: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ROUNDS = argNum("--rounds", 9)
const ROUND_MS = argNum("--round-ms", 120)

// ---------------------------------------------------------------------------------------------
// the messages

const filled = (n: number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff
  return b
}

const bodyFrame = (size: number): ClientMessage => ({
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponseChunked",
    value: {
      _tag: "Body",
      value: { frames: [{ _tag: "Data", value: filled(size) }], is_last: false, connection_id: 42n, request_id: 7 }
    }
  }
})

const twentyHeaders = Array.from({ length: 20 }, (_, i) =>
  [
    ["content-type", "x-request-id", "cache-control", "set-cookie", "x-trace"][i % 5] + (i < 5 ? "" : `-${i}`),
    [new TextEncoder().encode(`value-${i}-${"abcdefghij".repeat(2)}`)]
  ] as const
)

const framedResponse: ClientMessage = {
  _tag: "TcpSteal",
  value: {
    _tag: "HttpResponseFramed",
    value: {
      port: 8080,
      connection_id: 123456n,
      request_id: 300,
      internal_response: {
        status: 200,
        version: "HTTP/1.1",
        headers: twentyHeaders,
        body: [{ _tag: "Data", value: filled(512) }]
      }
    }
  }
}

interface Case {
  readonly name: string
  readonly root: Root
  readonly message: ClientMessage | DaemonMessage
}

const cases: ReadonlyArray<Case> = [
  { name: "Ping", root: "ClientMessage", message: { _tag: "Ping" } },
  {
    name: "TcpData 64 B",
    root: "DaemonMessage",
    message: { _tag: "TcpSteal", value: { _tag: "Data", value: { connection_id: 17n, bytes: filled(64) } } }
  },
  {
    name: "SubscribeResult",
    root: "DaemonMessage",
    message: { _tag: "TcpSteal", value: { _tag: "SubscribeResult", value: { _tag: "Ok", value: 8080 } } }
  },
  {
    name: "NewConnectionV1",
    root: "DaemonMessage",
    message: {
      _tag: "TcpSteal",
      value: {
        _tag: "NewConnectionV1",
        value: {
          connection_id: 9n,
          remote_address: "10.1.2.3",
          destination_port: 8080,
          source_port: 54321,
          local_address: "10.1.2.4"
        }
      }
    }
  },
  { name: "Chunked Body 16 KiB", root: "ClientMessage", message: bodyFrame(16 * 1024) },
  { name: "Chunked Body 1 MiB", root: "ClientMessage", message: bodyFrame(1024 * 1024) },
  { name: "HttpResponseFramed 20 headers", root: "ClientMessage", message: framedResponse }
]

// ---------------------------------------------------------------------------------------------
// measuring

let sink = 0

/** Operations per second of `op`, run for about `ms` (iterations calibrated in doubling batches). */
const opsPerSecond = (op: () => void, ms: number): number => {
  let n = 1
  let elapsed = 0
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) op()
    elapsed = performance.now() - t0
    if (elapsed >= ms / 4) break
    n *= 2
  }
  const iterations = Math.max(1, Math.round((n * ms) / Math.max(elapsed, 0.001)))
  const t0 = performance.now()
  for (let i = 0; i < iterations; i++) op()
  return (iterations * 1000) / (performance.now() - t0)
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Row {
  readonly name: string
  readonly bytes: number
  readonly encode: number
  /** the streaming encoder's path: large payloads referenced, not copied */
  readonly segments: number
  readonly decode: number
  readonly pack: number
  readonly unpack: number
  readonly copy: number
}

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint" })

const measure = (c: Case): Row => {
  const root = c.root
  const message = c.message as MessageOf<typeof root>
  const encoded = Codec.encode(root, message)
  const decoder = Codec.decoder(root)
  const packed = packr.pack(c.message)
  const source = Buffer.from(encoded)
  const target = Buffer.allocUnsafe(encoded.length)

  const check = decoder.decode(encoded)
  if (check._tag !== "Complete") throw new Error(`${c.name} does not decode`)

  const ops = {
    encode: () => {
      sink += Codec.encode(root, message).length
    },
    segments: () => {
      sink += Codec.encodeToSegments(root, [message]).length
    },
    decode: () => {
      const r = decoder.decode(encoded)
      sink += r._tag === "Complete" ? r.bytesConsumed : 0
    },
    pack: () => {
      sink += packr.pack(c.message).length
    },
    unpack: () => {
      sink += unpackr.unpack(packed) === undefined ? 0 : 1
    },
    copy: () => {
      sink += source.copy(target, 0, 0, source.length)
    }
  }
  const names = Object.keys(ops) as Array<keyof typeof ops>
  // warm-up: let every path get optimised before measuring
  for (const k of names) opsPerSecond(ops[k], ROUND_MS)
  const samples: Record<keyof typeof ops, Array<number>> = {
    encode: [],
    segments: [],
    decode: [],
    pack: [],
    unpack: [],
    copy: []
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of names) samples[k].push(opsPerSecond(ops[k], ROUND_MS))
  }
  return {
    name: c.name,
    bytes: encoded.length,
    encode: median(samples.encode),
    segments: median(samples.segments),
    decode: median(samples.decode),
    pack: median(samples.pack),
    unpack: median(samples.unpack),
    copy: median(samples.copy)
  }
}

// ---------------------------------------------------------------------------------------------
// report

const fmtOps = (v: number): string =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k/s` : `${v.toFixed(0)} /s`
const fmtMB = (ops: number, bytes: number): string => `${((ops * bytes) / 1e6).toFixed(0)} MB/s`
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`

const rows = cases.map(measure)

const header = [
  "message",
  "bytes",
  "encode",
  "encode MB/s",
  "× msgpackr pack",
  "streaming encode (zero-copy)",
  "× Buffer.copy",
  "decode",
  "decode MB/s",
  "× msgpackr unpack"
]
const lines = rows.map((r) => [
  r.name,
  String(r.bytes),
  fmtOps(r.encode),
  fmtMB(r.encode, r.bytes),
  ratio(r.encode, r.pack),
  fmtOps(r.segments),
  ratio(r.segments, r.copy),
  fmtOps(r.decode),
  fmtMB(r.decode, r.bytes),
  ratio(r.decode, r.unpack)
])

const table = [header, header.map(() => "---"), ...lines].map((cells) => `| ${cells.join(" | ")} |`).join("\n")

const baselines = [
  ["message", "msgpackr pack", "msgpackr unpack", "Buffer.copy"],
  ["---", "---", "---", "---"],
  ...rows.map((r) => [r.name, fmtOps(r.pack), fmtOps(r.unpack), `${fmtOps(r.copy)} (${fmtMB(r.copy, r.bytes)})`])
].map((cells) => `| ${cells.join(" | ")} |`).join("\n")

process.stdout.write(
  `Codec benchmark (B1) — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, ` +
    `${new Date().toISOString()}, ${ROUNDS} rounds × ${ROUND_MS} ms per figure, median\n\n` +
    `${table}\n\nBaselines:\n\n${baselines}\n`
)
const misses = rows.flatMap((r) => [
  ...(r.encode < 1.5 * r.pack ? [`${r.name}: encode ${ratio(r.encode, r.pack)} msgpackr (target 1.5×)`] : []),
  ...(r.decode < 1.5 * r.unpack ? [`${r.name}: decode ${ratio(r.decode, r.unpack)} msgpackr (target 1.5×)`] : []),
  ...(r.bytes >= 16 * 1024 && r.segments < 0.5 * r.copy
    ? [`${r.name}: streaming encode ${ratio(r.segments, r.copy)} Buffer.copy (target 0.5×)`]
    : [])
])
process.stdout.write(`\ntargets missed: ${misses.length === 0 ? "none" : `\n  ${misses.join("\n  ")}`}\n`)
if (sink === 42) process.stdout.write("\n")
