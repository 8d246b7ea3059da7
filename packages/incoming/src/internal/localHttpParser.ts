/**
 * An incremental HTTP/1.x response parser (RFC 9112): status line, header section, 1xx
 * interim responses, body framing (content-length, chunked with trailers, close-delimited)
 * and 101 upgrades. Header values are kept as raw bytes.
 *
 * @internal
 */
import type { HeaderMap, HttpVersion } from "../LocalHttp.js"
import { HeaderMapBuilder, isToken, tokens } from "./localHttpHeaders.js"

/** @internal */
export interface ResponseHead {
  readonly version: HttpVersion
  readonly status: number
  readonly reason: string
  readonly headers: HeaderMap
  /** How the body is delimited. */
  readonly framing: "none" | "length" | "chunked" | "close"
}

/** @internal */
export interface ParserEvents {
  /** The final response head (never a 1xx other than 101). For 101, `rest` holds the bytes after the head. */
  readonly onHead: (head: ResponseHead, rest: Uint8Array) => void
  readonly onData: (chunk: Uint8Array) => void
  readonly onTrailers: (trailers: HeaderMap) => void
  /** The message is complete; `leftover` holds any bytes received after it. */
  readonly onComplete: (leftover: Uint8Array) => void
  readonly onError: (detail: string) => void
}

/** @internal */
export const MAX_HEAD_BYTES = 64 * 1024
const MAX_LINE_BYTES = 8 * 1024

type State =
  | "head"
  | "length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-crlf"
  | "trailers"
  | "close"
  | "done"
  | "upgraded"
  | "failed"

const EMPTY = new Uint8Array(0)

/** @internal */
export class ResponseParser {
  private state: State = "head"
  private buf: Buffer = Buffer.alloc(0)
  private scanFrom = 0
  private remaining = 0
  private trailers = new HeaderMapBuilder()

  constructor(
    private readonly requestMethod: string,
    private readonly events: ParserEvents
  ) {}

  get isDone(): boolean {
    return this.state === "done"
  }

  get isFailed(): boolean {
    return this.state === "failed"
  }

  get inBody(): boolean {
    return this.state !== "head" && this.state !== "failed"
  }

  /** Feeds bytes received from the socket. */
  push(chunk: Uint8Array): void {
    if (this.state === "failed") return
    if (this.state === "done" || this.state === "upgraded") {
      // bytes after a complete message: reported as leftover by the caller's bookkeeping
      return
    }
    let input: Buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.buf.length > 0) {
      input = Buffer.concat([this.buf, input])
      this.buf = Buffer.alloc(0)
    }
    try {
      this.run(input)
    } catch (e) {
      this.state = "failed"
      this.events.onError(e instanceof ProtocolViolation ? e.detail : String(e))
    }
  }

  /**
   * The peer closed its side. Returns `true` when that completes the message (close-delimited
   * body), `false` when the message is incomplete.
   */
  eof(): boolean {
    if (this.state === "close") {
      this.state = "done"
      this.events.onComplete(EMPTY)
      return true
    }
    return this.state === "done" || this.state === "upgraded"
  }

  private run(input: Buffer): void {
    let pos = 0
    while (pos < input.length || this.state === "done") {
      switch (this.state) {
        case "head": {
          const end = this.findHeadEnd(input, pos)
          if (end === -1) {
            this.keep(input, pos, MAX_HEAD_BYTES, "response head too large")
            return
          }
          const headBytes = input.subarray(pos, end.valueOf())
          pos = this.headEnd
          this.scanFrom = 0
          const head = this.parseHead(headBytes)
          if (head === undefined) continue // 1xx interim response: skip it
          if (head.status === 101) {
            this.state = "upgraded"
            this.events.onHead(head, copy(input.subarray(pos)))
            return
          }
          this.events.onHead(head, EMPTY)
          switch (head.framing) {
            case "none":
              this.state = "done"
              break
            case "length":
              this.state = this.remaining === 0 ? "done" : "length"
              break
            case "chunked":
              this.state = "chunk-size"
              break
            case "close":
              this.state = "close"
              break
          }
          break
        }
        case "length": {
          const n = Math.min(this.remaining, input.length - pos)
          // body bytes are handed on as views of the socket's buffer (each read is a new buffer)
          this.events.onData(input.subarray(pos, pos + n))
          pos += n
          this.remaining -= n
          if (this.remaining === 0) this.state = "done"
          break
        }
        case "close": {
          this.events.onData(input.subarray(pos))
          pos = input.length
          break
        }
        case "chunk-size": {
          const nl = input.indexOf(0x0a, pos)
          if (nl === -1) {
            this.keep(input, pos, MAX_LINE_BYTES, "chunk size line too long")
            return
          }
          const line = input.subarray(pos, nl).toString("latin1").replace(/\r$/, "")
          pos = nl + 1
          const sizeText = line.split(";")[0]!.trim()
          if (!/^[0-9A-Fa-f]{1,12}$/.test(sizeText)) throw new ProtocolViolation(`invalid chunk size ${JSON.stringify(line)}`)
          const size = parseInt(sizeText, 16)
          if (size === 0) {
            this.state = "trailers"
            this.trailers = new HeaderMapBuilder()
          } else {
            this.remaining = size
            this.state = "chunk-data"
          }
          break
        }
        case "chunk-data": {
          const n = Math.min(this.remaining, input.length - pos)
          this.events.onData(input.subarray(pos, pos + n))
          pos += n
          this.remaining -= n
          if (this.remaining === 0) this.state = "chunk-crlf"
          break
        }
        case "chunk-crlf": {
          const nl = input.indexOf(0x0a, pos)
          if (nl === -1) {
            this.keep(input, pos, 2, "missing CRLF after chunk data")
            return
          }
          const between = input.subarray(pos, nl)
          if (!(between.length === 0 || (between.length === 1 && between[0] === 0x0d))) {
            throw new ProtocolViolation("missing CRLF after chunk data")
          }
          pos = nl + 1
          this.state = "chunk-size"
          break
        }
        case "trailers": {
          const nl = input.indexOf(0x0a, pos)
          if (nl === -1) {
            this.keep(input, pos, MAX_HEAD_BYTES, "trailer section too large")
            return
          }
          let line = input.subarray(pos, nl)
          if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1)
          pos = nl + 1
          if (line.length === 0) {
            if (this.trailers.size > 0) this.events.onTrailers(this.trailers.build())
            this.state = "done"
          } else {
            this.headerLine(line, this.trailers)
          }
          break
        }
        case "done": {
          this.events.onComplete(copy(input.subarray(pos)))
          return
        }
        case "upgraded":
        case "failed":
          return
      }
    }
  }

  private headEnd = 0

  /** Finds the end of the header section (exclusive of the blank line); sets `headEnd` past it. */
  private findHeadEnd(input: Buffer, pos: number): number {
    let from = Math.max(pos, pos + this.scanFrom)
    for (;;) {
      const nl = input.indexOf(0x0a, from)
      if (nl === -1) {
        this.scanFrom = Math.max(0, input.length - pos - 2)
        return -1
      }
      // blank line: "\n\n" or "\n\r\n"
      if (nl + 1 < input.length && input[nl + 1] === 0x0a) {
        this.headEnd = nl + 2
        return nl
      }
      if (nl + 2 < input.length && input[nl + 1] === 0x0d && input[nl + 2] === 0x0a) {
        this.headEnd = nl + 3
        return nl
      }
      if (nl + 2 >= input.length) {
        this.scanFrom = Math.max(0, nl - pos)
        return -1
      }
      from = nl + 1
    }
  }

  private keep(input: Buffer, pos: number, limit: number, message: string): void {
    const rest = input.subarray(pos)
    if (rest.length > limit) throw new ProtocolViolation(message)
    this.buf = Buffer.from(rest)
  }

  /** Parses a head; returns `undefined` for a skipped 1xx interim response. */
  private parseHead(bytes: Buffer): ResponseHead | undefined {
    const lines = splitLines(bytes)
    const statusLine = lines[0]!.toString("latin1")
    const m = /^HTTP\/1\.([01]) (\d{3})(?:[ \t](.*))?$/.exec(statusLine)
    if (m === null) throw new ProtocolViolation(`invalid status line ${JSON.stringify(statusLine.slice(0, 100))}`)
    const version: HttpVersion = m[1] === "0" ? "HTTP/1.0" : "HTTP/1.1"
    const status = parseInt(m[2]!, 10)
    const builder = new HeaderMapBuilder()
    for (let i = 1; i < lines.length; i++) this.headerLine(lines[i]!, builder)
    if (status >= 100 && status < 200 && status !== 101) return undefined
    const headers = builder.build()
    const head = { version, status, reason: m[3] ?? "", headers }
    if (status === 101) return { ...head, framing: "none" }
    if (this.requestMethod === "HEAD" || status === 204 || status === 304) return { ...head, framing: "none" }
    const te = tokens(headers, "transfer-encoding")
    if (te.length > 0) {
      return { ...head, framing: te[te.length - 1] === "chunked" ? "chunked" : "close" }
    }
    const lengths = tokens(headers, "content-length")
    if (lengths.length > 0) {
      const first = lengths[0]!
      if (!/^\d{1,15}$/.test(first) || lengths.some((l) => l !== first)) {
        throw new ProtocolViolation(`invalid content-length ${JSON.stringify(lengths.join(","))}`)
      }
      this.remaining = parseInt(first, 10)
      return { ...head, framing: "length" }
    }
    return { ...head, framing: "close" }
  }

  private headerLine(line: Buffer, builder: HeaderMapBuilder): void {
    if (line[0] === 0x20 || line[0] === 0x09) {
      // obs-fold: replace with a single space (RFC 9112 §5.2)
      if (!builder.appendToLast(trimBytes(line))) throw new ProtocolViolation("header section starts with whitespace")
      return
    }
    const colon = line.indexOf(0x3a)
    if (colon <= 0) throw new ProtocolViolation(`invalid header line ${JSON.stringify(line.toString("latin1").slice(0, 100))}`)
    const name = line.subarray(0, colon).toString("latin1")
    if (!isToken(name)) throw new ProtocolViolation(`invalid header name ${JSON.stringify(name.slice(0, 100))}`)
    const value = trimBytes(line.subarray(colon + 1))
    for (const b of value) {
      if (b === 0x00 || b === 0x0d) throw new ProtocolViolation(`invalid header value for ${name}`)
    }
    builder.add(name, value)
  }
}

class ProtocolViolation {
  constructor(readonly detail: string) {}
}

const copy = (b: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(b)

const splitLines = (bytes: Buffer): Array<Buffer> => {
  const out: Array<Buffer> = []
  let start = 0
  for (;;) {
    const nl = bytes.indexOf(0x0a, start)
    const end = nl === -1 ? bytes.length : nl
    let line = bytes.subarray(start, end)
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1)
    out.push(line)
    if (nl === -1) break
    start = nl + 1
  }
  return out
}

const trimBytes = (b: Uint8Array): Uint8Array => {
  let s = 0
  let e = b.length
  while (s < e && (b[s] === 0x20 || b[s] === 0x09)) s++
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--
  return Uint8Array.prototype.slice.call(b, s, e)
}
