/**
 * Header-map conversions: mirrord wire header maps <-> HTTP/1 head bytes and node:http2
 * header objects. Values are raw bytes; where a string is needed they are mapped through
 * latin1 (one byte = one code unit), so obs-text and non-UTF-8 bytes survive unchanged.
 *
 * @internal
 */
import type { HeaderMap } from "../LocalHttp.js"

/** @internal */
export const toLatin1 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

/** @internal */
export const fromLatin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"))

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** @internal */
export const isToken = (s: string): boolean => TOKEN.test(s)

/** A header value may not contain NUL, CR or LF (anything else, including obs-text, is passed). @internal */
export const isValidValue = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === 0x00 || b === 0x0a || b === 0x0d) return false
  }
  return true
}

/** All values of `name` (lower-case), in order. @internal */
export const getValues = (headers: HeaderMap, name: string): ReadonlyArray<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (const [n, values] of headers) {
    if (n === name) out.push(...values)
  }
  return out
}

/** @internal */
export const has = (headers: HeaderMap, name: string): boolean => headers.some(([n]) => n === name)

/** The comma-separated, lower-cased, trimmed tokens of every value of `name`. @internal */
export const tokens = (headers: HeaderMap, name: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const value of getValues(headers, name)) {
    for (const part of toLatin1(value).split(",")) {
      const t = part.trim().toLowerCase()
      if (t.length > 0) out.push(t)
    }
  }
  return out
}

/** @internal */
export const hasToken = (headers: HeaderMap, name: string, token: string): boolean =>
  tokens(headers, name).includes(token)

/**
 * Accumulates a header map in first-insertion order, merging repeated names.
 *
 * @internal
 */
export class HeaderMapBuilder {
  private readonly entries: Array<readonly [string, Array<Uint8Array>]> = []
  private readonly index = new Map<string, Array<Uint8Array>>()
  add(name: string, value: Uint8Array): void {
    const lower = name.toLowerCase()
    const existing = this.index.get(lower)
    if (existing !== undefined) {
      existing.push(value)
    } else {
      const values = [value]
      this.index.set(lower, values)
      this.entries.push([lower, values])
    }
  }
  appendToLast(extra: Uint8Array): boolean {
    const last = this.entries[this.entries.length - 1]
    if (last === undefined) return false
    const values = last[1]
    const prev = values[values.length - 1]!
    const merged = new Uint8Array(prev.length + 1 + extra.length)
    merged.set(prev, 0)
    merged[prev.length] = 0x20
    merged.set(extra, prev.length + 1)
    values[values.length - 1] = merged
    return true
  }
  get size(): number {
    return this.entries.length
  }
  build(): HeaderMap {
    return this.entries
  }
}

/**
 * Builds a header map from node's raw `[name, value, name, value, ...]` list (latin1 strings),
 * skipping HTTP/2 pseudo-headers.
 *
 * @internal
 */
export const fromRawPairs = (raw: ReadonlyArray<string>): HeaderMap => {
  const builder = new HeaderMapBuilder()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    if (name.startsWith(":")) continue
    builder.add(name, fromLatin1(raw[i + 1]!))
  }
  return builder.build()
}

/**
 * Builds a header map from a node:http2 header object (`set-cookie` and other repeated
 * headers arrive as arrays), skipping pseudo-headers.
 *
 * @internal
 */
export const fromHeaderObject = (headers: Record<string, string | ReadonlyArray<string> | number | undefined>): HeaderMap => {
  const builder = new HeaderMapBuilder()
  for (const name of Object.keys(headers)) {
    if (name.startsWith(":")) continue
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value)) {
      for (const v of value as ReadonlyArray<string>) builder.add(name, fromLatin1(v))
    } else {
      builder.add(name, fromLatin1(String(value)))
    }
  }
  return builder.build()
}

/**
 * The parts of a request target (RFC 9112 §3.2).
 *
 * @internal
 */
export interface RequestTarget {
  readonly form: "origin" | "absolute" | "authority" | "asterisk"
  readonly scheme: string | undefined
  readonly authority: string | undefined
  /** What goes on the HTTP/1 request line / into `:path`. */
  readonly path: string
}

const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/

/** @internal */
export const parseRequestTarget = (uri: string, method: string): RequestTarget | string => {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f || c > 0xff) return `invalid character in request target ${JSON.stringify(uri)}`
  }
  if (uri.length === 0) return { form: "origin", scheme: undefined, authority: undefined, path: "/" }
  if (uri === "*") return { form: "asterisk", scheme: undefined, authority: undefined, path: "*" }
  if (uri.startsWith("/")) {
    const hash = uri.indexOf("#")
    return { form: "origin", scheme: undefined, authority: undefined, path: hash >= 0 ? uri.slice(0, hash) : uri }
  }
  const m = ABSOLUTE.exec(uri)
  if (m !== null) {
    const rest = m[3]!
    const path = rest.length === 0 ? "/" : rest.startsWith("?") ? `/${rest}` : rest
    return { form: "absolute", scheme: m[1]!.toLowerCase(), authority: m[2]!, path }
  }
  if (method === "CONNECT") return { form: "authority", scheme: undefined, authority: uri, path: uri }
  return `unsupported request target ${JSON.stringify(uri)}`
}

/** Validates every header name (token) and value (no NUL/CR/LF). @internal */
export const validateHeaders = (headers: HeaderMap, what: string): string | undefined => {
  for (const [name, values] of headers) {
    if (!isToken(name)) return `invalid ${what} name ${JSON.stringify(name)}`
    for (const value of values) {
      if (!isValidValue(value)) return `invalid ${what} value for ${JSON.stringify(name)}`
    }
  }
  return undefined
}

const CRLF = Buffer.from("\r\n", "latin1")
const COLON_SP = Buffer.from(": ", "latin1")

/**
 * Serializes header lines (each `name: value\r\n`, repeated names repeated) without the final
 * empty line.
 *
 * @internal
 */
export const headerLines = (headers: HeaderMap, extra: ReadonlyArray<readonly [string, string]> = []): Array<Uint8Array> => {
  const parts: Array<Uint8Array> = []
  for (const [name, values] of headers) {
    const n = Buffer.from(name, "latin1")
    for (const value of values) parts.push(n, COLON_SP, value, CRLF)
  }
  for (const [name, value] of extra) parts.push(Buffer.from(`${name}: ${value}\r\n`, "latin1"))
  return parts
}

/** HTTP/1 connection-specific headers, not allowed in HTTP/2 (RFC 9113 §8.2.2). @internal */
export const h2ForbiddenHeaders: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade"
])

/**
 * Converts a header map to a node:http2 header object (latin1 strings, arrays for repeated
 * names), dropping connection-specific headers and `te` values other than `trailers`.
 *
 * @internal
 */
export const toH2Object = (headers: HeaderMap): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  for (const [name, values] of headers) {
    if (h2ForbiddenHeaders.has(name) || name.startsWith(":")) continue
    if (name === "te") {
      if (tokens(headers, "te").includes("trailers")) out["te"] = "trailers"
      continue
    }
    const strings = values.map(toLatin1)
    out[name] = strings.length === 1 ? strings[0]! : strings
  }
  return out
}
