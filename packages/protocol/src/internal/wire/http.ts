/**
 * HTTP values carried through http-serde: method, URI, version, status and header map, each
 * validated and normalised exactly as the Rust `http` crate does on decode.
 * @internal
 */
import * as Schema from "effect/Schema"
import type { Codec, Json } from "./codec.js"
import { canonFail, make } from "./codec.js"
import { BytesSchema, hexCanon, hexFromCanon } from "./primitives.js"
import type { HttpEra } from "./httpEra.js"
import { NEWEST_HTTP_ERA, TOKEN_CHARS } from "./httpEra.js"
import type { Reader } from "./reader.js"
import { asciiString } from "./reader.js"
import { utf8Length, varSize } from "./writer.js"

// ---------------------------------------------------------------------------------------------
// tokens (RFC 9110 tchar)

const TOKEN = TOKEN_CHARS

/** A non-empty string of the bytes `chars` marks (the token alphabet of an era). */
const isTokenOf = (s: string, chars: Uint8Array): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || chars[c] === 0) return false
  }
  return true
}

const isToken = (s: string): boolean => isTokenOf(s, TOKEN)

/** @internal */
export const isMethod = isToken

/** A method as the `http` crate of `era` accepts it. @internal */
export const isMethodIn = (s: string, era: HttpEra): boolean => isTokenOf(s, era.methodChars)

/** @internal */
export const isHeaderName = (s: string): boolean => isToken(s) && s.length <= 0xffff && s === s.toLowerCase()

/** 1 for the bytes a header value may not contain: controls except HTAB, and DEL */
const NOT_IN_VALUE = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) NOT_IN_VALUE[c] = c === 0x09 ? 0 : 1
NOT_IN_VALUE[0x7f] = 1

/** Header value bytes: HTAB, SP..~, obs-text. @internal */
export const isHeaderValue = (b: Uint8Array): boolean => {
  let bad = 0
  for (let i = 0; i < b.length; i++) bad |= NOT_IN_VALUE[b[i]!]!
  return bad === 0
}

// ---------------------------------------------------------------------------------------------
// URI (http::Uri parse + Display)

const MAX_URI_LEN = 65534

// `high`: the lowest code >= 0x7F taken as is (HttpEra.uriHighFrom: 0x80 now, 0x7F for http 1.3-1.4.1,
// Infinity before http 1.3)
const pathChar = (c: number, high: number): boolean =>
  c === 0x21 || (c >= 0x24 && c <= 0x3b) || c === 0x3d || (c >= 0x40 && c <= 0x5f) || (c >= 0x61 && c <= 0x7a) ||
  c === 0x7c || c === 0x7e || c === 0x22 || c === 0x7b || c === 0x7d || c >= high

const queryChar = (c: number, high: number): boolean =>
  c === 0x21 || (c >= 0x24 && c <= 0x3b) || c === 0x3d || (c >= 0x3f && c <= 0x7e) || c >= high

const authorityChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
  "-._~!$&'()*+,;=:@[]".includes(String.fromCharCode(c))

const schemeChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2d ||
  c === 0x2e

/** Parses path-and-query; returns the Display form without the fragment, or undefined. */
const pathAndQuery = (s: string, high: number): string | undefined => {
  let i = 0
  let query = -1
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x3f) {
      query = i
      break
    }
    if (c === 0x23) return s.slice(0, i)
    if (!pathChar(c, high)) return undefined
  }
  if (query >= 0) {
    for (i = query + 1; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c === 0x23) return s.slice(0, i)
      if (!queryChar(c, high)) return undefined
    }
  }
  return s
}

/** Length of the authority at the start of s, or undefined when it is malformed. */
const authorityEnd = (s: string): number | undefined => {
  let colons = 0
  let open = false
  let close = false
  let percent = false
  let at = -1
  let end = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i
      break
    }
    if (c === 0x3a) {
      if (++colons > 8) return undefined
    } else if (c === 0x5b) {
      if (percent || open) return undefined
      open = true
    } else if (c === 0x5d) {
      if (!open || close) return undefined
      close = true
      colons = 0
      percent = false
    } else if (c === 0x40) {
      at = i
      colons = 0
      percent = false
    } else if (c === 0x25) {
      percent = true
    } else if (!authorityChar(c)) return undefined
  }
  if (open !== close) return undefined
  if (colons > 1) return undefined
  if (end > 0 && at === end - 1) return undefined
  if (percent) return undefined
  return end
}

/** The `http::Uri` Display form of a request target, or undefined when http rejects it. @internal */
export const normalizeUri = (s: string): string | undefined => normalizeUriIn(s, NEWEST_HTTP_ERA)

/** `normalizeUri` as the `http` crate of `era` does it. @internal */
export const normalizeUriIn = (s: string, era: HttpEra): string | undefined => {
  if (s.length === 0 || utf8Length(s) > MAX_URI_LEN) return undefined
  if (s === "*" || s === "/") return s
  const high = era.uriHighFrom
  if (s.charCodeAt(0) === 0x2f) return pathAndQuery(s, high)
  // scheme
  let scheme: string | undefined
  let rest = s
  const lower = s.slice(0, 8).toLowerCase()
  if (lower.startsWith("http://")) {
    scheme = "http"
    rest = s.slice(7)
  } else if (lower.startsWith("https://")) {
    scheme = "https"
    rest = s.slice(8)
  } else if (s.length > 3) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c === 0x3a) {
        if (s.length >= i + 3 && s.slice(i + 1, i + 3) === "//") {
          if (i > 64) return undefined
          scheme = s.slice(0, i)
          rest = s.slice(i + 3)
        }
        break
      }
      if (!schemeChar(c)) break
    }
  }
  const end = authorityEnd(rest)
  if (end === undefined) return undefined
  if (scheme === undefined) {
    // authority-form: the whole string must be the authority
    return end === rest.length && end > 0 ? rest : undefined
  }
  if (end === 0) return undefined
  const pq = pathAndQuery(rest.slice(end), high)
  if (pq === undefined) return undefined
  const path = pq.length === 0 || pq.charCodeAt(0) === 0x3f ? `/${pq}` : pq
  return `${scheme}://${rest.slice(0, end)}${path}`
}

// ---------------------------------------------------------------------------------------------
// string-like values validated after the whole string is read

const validatedString = (
  typeName: string,
  validate: (s: string, era: HttpEra) => string | undefined,
  reason: "InvalidMethod" | "InvalidUri" | "InvalidHttpVersion",
  schema: () => Schema.Schema<string>
): Codec<string> =>
  make({
    typeName,
    size: (a) => {
      const n = utf8Length(a)
      return varSize(n) + n
    },
    write: (w, a) => w.str(a, utf8Length(a)),
    read: (r: Reader) => {
      const at = r.pos
      const s = r.str()
      const v = validate(s, r.era)
      if (v === undefined) return r.invalid(reason, at, `invalid ${typeName}: ${JSON.stringify(s.slice(0, 64))}`)
      return v
    },
    toCanon: (a) => a,
    fromCanon: (j, p) => {
      if (typeof j !== "string") return canonFail(p, `expected a string for ${typeName}`)
      const v = validate(j, NEWEST_HTTP_ERA)
      return v === j ? v : canonFail(p, `not a canonical ${typeName}: ${JSON.stringify(j)}`)
    },
    makeSchema: schema
  })

const STANDARD_METHODS = ["GET", "PUT", "POST", "HEAD", "PATCH", "TRACE", "DELETE", "OPTIONS", "CONNECT"]

/** @internal */
export const MethodSchema = Schema.String.pipe(Schema.filter(isMethod, { message: () => "not an HTTP method token" }))
  .annotations({
    identifier: "Method",
    arbitrary: () => (fc) =>
      fc.oneof(
        fc.constantFrom(...STANDARD_METHODS),
        fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)
      )
  })

/** @internal */
export const method = validatedString("Method", (s, era) => (isMethodIn(s, era) ? s : undefined), "InvalidMethod", () =>
  MethodSchema
)

/** @internal */
export const UriSchema = Schema.String.pipe(
  Schema.filter((s) => normalizeUri(s) === s, { message: () => "not a normalised http::Uri" })
).annotations({
  identifier: "Uri",
  arbitrary: () => (fc) => {
    const seg = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,8}$/)
    const path = fc.array(seg, { maxLength: 4 }).map((xs) => "/" + xs.join("/"))
    const query = fc.option(fc.stringMatching(/^[A-Za-z0-9=&_.-]{0,10}$/), { nil: undefined })
    const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5})?$/)
    const port = fc.option(fc.nat(65535), { nil: undefined })
    const origin = fc.tuple(path, query).map(([p, q]) => (q === undefined ? p : `${p}?${q}`))
    const absolute = fc.tuple(fc.constantFrom("http", "https"), host, port, origin).map(([s, h, po, o]) =>
      `${s}://${h}${po === undefined ? "" : `:${po}`}${o}`
    )
    const authority = fc.tuple(host, fc.nat(65535)).map(([h, p]) => `${h}:${p}`)
    return fc.oneof({ arbitrary: origin, weight: 6 }, absolute, authority, fc.constant("*")).filter((s) =>
      normalizeUri(s) === s
    )
  }
})

/** @internal */
export const uri = validatedString("Uri", normalizeUriIn, "InvalidUri", () => UriSchema)

/** @internal */
export const HTTP_VERSIONS = ["HTTP/0.9", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/3.0"] as const
/** @internal */
export type HttpVersion = typeof HTTP_VERSIONS[number]
/** @internal */
export const HttpVersionSchema = Schema.Literal(...HTTP_VERSIONS)

/** @internal */
export const httpVersion = validatedString(
  "Version",
  (s) => ((HTTP_VERSIONS as ReadonlyArray<string>).includes(s) ? s : undefined),
  "InvalidHttpVersion",
  () => HttpVersionSchema as unknown as Schema.Schema<string>
) as unknown as Codec<HttpVersion>

/** @internal */
export const StatusCodeSchema = Schema.Int.pipe(Schema.between(100, 999)).annotations({ identifier: "StatusCode" })

/** @internal */
export const statusCode: Codec<number> = make({
  typeName: "StatusCode",
  size: (a) => varSize(a),
  write: (w, a) => w.varint(a),
  read: (r) => {
    const at = r.pos
    const v = r.u16()
    if (v < 100 || v > 999) return r.invalid("InvalidStatus", at, `HTTP status ${v} outside 100..=999`)
    return v
  },
  toCanon: (a) => a,
  fromCanon: (j, p) =>
    typeof j === "number" && Number.isInteger(j) && j >= 100 && j <= 999 ? j : canonFail(p, "expected a status"),
  makeSchema: () => StatusCodeSchema
})

// ---------------------------------------------------------------------------------------------
// HeaderMap: Map<String name, Seq<Bytes value>>

/** @internal */
export type HeaderMap = ReadonlyArray<readonly [name: string, values: ReadonlyArray<Uint8Array>]>

const MAX_HEADER_NAMES = 24576

/** @internal */
export const HeaderNameSchema = Schema.String.pipe(
  Schema.filter(isHeaderName, { message: () => "not a lower-case header name token" })
).annotations({
  identifier: "HeaderName",
  arbitrary: () => (fc) =>
    fc.oneof(
      fc.constantFrom("host", "content-type", "content-length", "set-cookie", "x-request-id", "te", "trailer"),
      fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,16}$/)
    )
})

/** @internal */
export const HeaderValueSchema = BytesSchema.pipe(
  Schema.filter(isHeaderValue, { message: () => "header value has a control byte" })
).annotations({
  arbitrary: () => (fc) =>
    fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })), {
      maxLength: 24
    }).map((xs) => Uint8Array.from(xs))
})

/** @internal */
export const HeaderMapSchema = Schema.Array(
  Schema.Tuple(HeaderNameSchema, Schema.NonEmptyArray(HeaderValueSchema).pipe(Schema.maxItems(3)))
).pipe(
  Schema.maxItems(8),
  Schema.filter((hs) => new Set(hs.map(([n]) => n)).size === hs.length, { message: () => "header names repeat" })
).annotations({ identifier: "HeaderMap" }) as unknown as Schema.Schema<HeaderMap>

/**
 * Reads a header name string. A name made only of token bytes comes back lower-cased, as
 * `HeaderName::from_bytes` normalises it; otherwise `undefined` (invalid, reported by the caller
 * after the values are read) — but invalid UTF-8 fails at once, as the Rust `String` read does.
 */
const readHeaderName = (r: Reader): string | undefined => {
  const start = r.pos
  const n = r.length()
  r.need(n)
  const b = r.buf
  const at = r.pos
  const end = at + n
  let upper = false
  let token = n > 0 && n <= 0xffff
  const chars = r.era.headerNameChars
  for (let i = at; token && i < end; i++) {
    const c = b[i]!
    if (c >= 128 || chars[c] === 0) token = false
    else if (c >= 0x41 && c <= 0x5a) upper = true
  }
  if (!token) {
    r.pos = start
    r.str() // fails on invalid UTF-8; a valid but non-token name is invalid once the values are read
    return undefined
  }
  r.pos = end
  const name = asciiString(b, at, end)
  return upper ? name.toLowerCase() : name
}

/** @internal */
export const headerMap: Codec<HeaderMap> = make({
  typeName: "HeaderMap",
  size: (a) => {
    let s = varSize(a.length)
    for (let i = 0; i < a.length; i++) {
      const [name, values] = a[i]!
      s += varSize(name.length) + name.length + varSize(values.length)
      for (let k = 0; k < values.length; k++) s += varSize(values[k]!.length) + values[k]!.length
    }
    return s
  },
  write: (w, a) => {
    w.varint(a.length)
    for (let i = 0; i < a.length; i++) {
      const [name, values] = a[i]!
      w.str(name, name.length)
      w.varint(values.length)
      for (let k = 0; k < values.length; k++) w.bytes(values[k]!)
    }
  },
  read: (r) => {
    const countAt = r.pos
    const n = r.length()
    if (n > MAX_HEADER_NAMES) return r.invalid("TooManyHeaders", countAt, `header map declares ${n} names`)
    const out: Array<[string, Array<Uint8Array>]> = []
    // duplicate names are rare: a linear scan is cheaper than a Map for a typical header count
    let index: Map<string, number> | undefined
    for (let i = 0; i < n; i++) {
      const nameAt = r.pos
      const name = readHeaderName(r)
      const k = r.length()
      const values: Array<Uint8Array> = []
      let badValueAt = -1
      for (let j = 0; j < k; j++) {
        const valueAt = r.pos
        const v = r.bytes(r.length())
        if (badValueAt < 0 && !isHeaderValue(v)) badValueAt = valueAt
        values.push(v)
      }
      // the entry is validated once its name and every value are read, as the http crate does
      if (name === undefined) {
        r.pos = nameAt
        const raw = r.str()
        return r.invalid("InvalidHeaderName", nameAt, `invalid header name ${JSON.stringify(raw.slice(0, 64))}`)
      }
      if (badValueAt >= 0) r.invalid("InvalidHeaderValue", badValueAt, `invalid value for header ${name}`)
      if (k === 0) continue
      let prev = -1
      if (index !== undefined) prev = index.get(name) ?? -1
      else {
        for (let x = 0; x < out.length; x++) {
          if (out[x]![0] === name) {
            prev = x
            break
          }
        }
        if (out.length >= 16) index = new Map(out.map(([nm], ix) => [nm, ix]))
      }
      if (prev < 0) {
        index?.set(name, out.length)
        out.push([name, values])
      } else if (k === 1 && r.era.singleValueReplaces) out[prev] = [name, values] // insert: replaces earlier values
      else out[prev]![1].push(...values) // append (every value, before http-serde's `single`)
    }
    return out
  },
  toCanon: (a) => a.map(([name, values]) => [name, values.map(hexCanon)] as Json),
  fromCanon: (j, p) => {
    if (!Array.isArray(j)) return canonFail(p, "expected a header array")
    return j.map((e, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || !isHeaderName(e[0]) ||
        !Array.isArray(e[1]) || e[1].length === 0) {
        return canonFail(`${p}[${i}]`, "expected [name, [values…]]")
      }
      const values = (e[1] as Array<unknown>).map((v, k) => hexFromCanon(v, `${p}[${i}][1][${k}]`))
      if (!values.every(isHeaderValue)) canonFail(`${p}[${i}]`, "invalid header value byte")
      return [e[0], values] as const
    })
  },
  makeSchema: () => HeaderMapSchema
})
