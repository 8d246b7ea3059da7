/**
 * `IpAddr` and `SocketAddr` (bincode's own impls): tag, network-order octets, varint port.
 * Values are their canonical text, as Rust's `Display` prints them.
 * @internal
 */
import * as Schema from "effect/Schema"
import type { Codec } from "./codec.js"
import { canonFail, make } from "./codec.js"
import type { Reader } from "./reader.js"
import type { Writer } from "./writer.js"
import { varSize } from "./writer.js"

/** Dotted-quad octets: four decimal numbers 0..255 without leading zeros (a char scan: this is hot). */
const parseV4 = (s: string): Array<number> | undefined => {
  const out: Array<number> = []
  let value = 0
  let digits = 0
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i)
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || out.length === 4) return undefined
      out.push(value)
      value = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return undefined // leading zero
      if (++digits > 3) return undefined
      value = value * 10 + (c - 0x30)
    } else return undefined
  }
  return out.length === 4 ? out : undefined
}

/** 16 octets of an IPv6 text form (any valid RFC 4291 form, including embedded IPv4). */
const parseV6 = (s: string): Array<number> | undefined => {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined
  let text = s
  if (s.includes(".")) {
    // embedded IPv4 in the last 32 bits: rewrite it as two hex groups
    const lastColon = s.lastIndexOf(":")
    const v4 = parseV4(s.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16)
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16)
    text = `${s.slice(0, lastColon + 1)}${hi}:${lo}`
  }
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groups = (h: string): Array<number> | undefined => {
    if (h === "") return []
    const out: Array<number> = []
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
      out.push(parseInt(g, 16))
    }
    return out
  }
  let all: Array<number>
  if (halves.length === 2) {
    const a = groups(halves[0]!)
    const b = groups(halves[1]!)
    if (a === undefined || b === undefined) return undefined
    const fill = 8 - a.length - b.length
    if (fill < 1) return undefined
    all = [...a, ...new Array<number>(fill).fill(0), ...b]
  } else {
    const a = groups(halves[0]!)
    if (a === undefined) return undefined
    all = a
  }
  if (all.length !== 8) return undefined
  const out: Array<number> = []
  for (const g of all) out.push(g >> 8, g & 0xff)
  return out
}

/** Rust's `Ipv6Addr` Display: `::ffff:a.b.c.d` for mapped v4, else RFC 5952. @internal */
export const formatV6 = (o: ArrayLike<number>): string => {
  const g: Array<number> = []
  for (let i = 0; i < 16; i += 2) g.push((o[i]! << 8) | o[i + 1]!)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${o[12]}.${o[13]}.${o[14]}.${o[15]}`
  }
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (xs: Array<number>) => xs.map((x) => x.toString(16)).join(":")
  if (bestLen < 2) return hex(g)
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`
}

/** Octets of a canonical IP text, or undefined. @internal */
export const ipOctets = (s: string): Array<number> | undefined => {
  const v4 = parseV4(s)
  if (v4 !== undefined) return v4
  const v6 = parseV6(s)
  if (v6 === undefined) return undefined
  return v6
}

/** @internal */
export const isCanonicalIp = (s: string): boolean => {
  const o = ipOctets(s)
  if (o === undefined) return false
  return o.length === 4 ? true : formatV6(o) === s
}

const readIp = (r: Reader): string => {
  const at = r.pos
  const t = r.tag()
  if (t === 0) {
    const b = r.bytes(4)
    return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  }
  if (t === 1) return formatV6(r.bytes(16))
  return r.invalid("UnknownVariant", at, `IpAddr tag ${t}`)
}

const writeIp = (w: Writer, s: string): void => {
  const o = ipOctets(s)
  if (o === undefined) throw new TypeError(`not an IP address: ${s}`)
  w.u8(o.length === 4 ? 0 : 1)
  for (const x of o) w.u8(x)
}

const ipSize = (s: string): number => (s.includes(":") ? 17 : 5)

const v4Arb = (fc: typeof import("effect/FastCheck")) =>
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((xs) => xs.join("."))
const v6Arb = (fc: typeof import("effect/FastCheck")) =>
  fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // zero-heavy addresses exercise the "::" compression rules
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0xffff), { minLength: 8, maxLength: 8 }).map((gs) =>
      Uint8Array.from(gs.flatMap((x) => [x >> 8, x & 0xff]))
    )
  ).map(formatV6)

/** @internal */
export const IpAddrSchema = Schema.String.pipe(
  Schema.filter(isCanonicalIp, { message: () => "not a canonical IP address text" })
).annotations({ identifier: "IpAddr", arbitrary: () => (fc) => fc.oneof(v4Arb(fc), v6Arb(fc)) })

/** @internal */
export const ipAddr: Codec<string> = make({
  typeName: "IpAddr",
  size: ipSize,
  write: writeIp,
  read: readIp,
  toCanon: (a) => a,
  fromCanon: (j, p) => (typeof j === "string" && isCanonicalIp(j) ? j : canonFail(p, "expected an IP address")),
  makeSchema: () => IpAddrSchema
})

/** Splits "1.2.3.4:80" / "[::1]:80" into ip text and port. @internal */
export const splitSocketAddr = (s: string): { ip: string; port: number } | undefined => {
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(s)
  if (m === null) return undefined
  const ip = m[1] ?? m[2]!
  const port = Number(m[3])
  if (port > 0xffff || String(port) !== m[3]) return undefined
  const o = ipOctets(ip)
  if (o === undefined || (m[1] !== undefined) !== (o.length === 16)) return undefined
  return { ip, port }
}

/** @internal */
export const formatSocketAddr = (ip: string, port: number): string =>
  ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`

const isCanonicalSocketAddr = (s: string): boolean => {
  const p = splitSocketAddr(s)
  return p !== undefined && isCanonicalIp(p.ip)
}

/** @internal */
export const SocketAddrSchema = Schema.String.pipe(
  Schema.filter(isCanonicalSocketAddr, { message: () => "not a canonical socket address" })
).annotations({
  identifier: "SocketAddr",
  arbitrary: () => (fc) =>
    fc.tuple(fc.oneof(v4Arb(fc), v6Arb(fc)), fc.nat(0xffff)).map(([ip, port]) => formatSocketAddr(ip, port))
})

/** @internal */
export const socketAddr: Codec<string> = make({
  typeName: "SocketAddr",
  size: (s) => {
    const p = splitSocketAddr(s)
    if (p === undefined) throw new TypeError(`not a socket address: ${s}`)
    return ipSize(p.ip) + varSize(p.port)
  },
  write: (w, s) => {
    const p = splitSocketAddr(s)!
    writeIp(w, p.ip)
    w.varint(p.port)
  },
  read: (r) => {
    const ip = readIp(r)
    return formatSocketAddr(ip, r.u16())
  },
  toCanon: (a) => a,
  fromCanon: (j, p) =>
    typeof j === "string" && isCanonicalSocketAddr(j) ? j : canonFail(p, "expected a socket address"),
  makeSchema: () => SocketAddrSchema
})
