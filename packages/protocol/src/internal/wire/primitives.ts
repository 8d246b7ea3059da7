/**
 * Integer, bool, string and byte-buffer wire types.
 * @internal
 */
import * as Schema from "effect/Schema"
import type { Codec, Json } from "./codec.js"
import { canonFail, make } from "./codec.js"
import { sizeStats, utf8Length, varSize, varSizeBig, ZERO_COPY_MIN } from "./writer.js"

const intCanon = (typeName: string, min: number, max: number) => (j: unknown, p: string): number => {
  if (typeof j !== "number" || !Number.isInteger(j) || j < min || j > max) {
    return canonFail(p, `expected a ${typeName} (${min}..${max})`)
  }
  return j
}

const bigCanon = (typeName: string, min: bigint, max: bigint) => (j: unknown, p: string): bigint => {
  if (typeof j !== "string" || !/^-?[0-9]+$/.test(j)) return canonFail(p, `expected a decimal string for ${typeName}`)
  const v = BigInt(j)
  if (v < min || v > max) return canonFail(p, `${typeName} out of range`)
  return v
}

/** @internal */
export const u8: Codec<number> = make({
  typeName: "u8",
  size: () => 1,
  write: (w, a) => w.u8(a),
  read: (r) => r.u8(),
  toCanon: (a) => a,
  fromCanon: intCanon("u8", 0, 255),
  makeSchema: () => Schema.Int.pipe(Schema.between(0, 255))
})

/** @internal */
export const bool: Codec<boolean> = make({
  typeName: "bool",
  size: () => 1,
  write: (w, a) => w.u8(a ? 1 : 0),
  read: (r) => r.bool(),
  toCanon: (a) => a,
  fromCanon: (j, p) => (typeof j === "boolean" ? j : canonFail(p, "expected a bool")),
  makeSchema: () => Schema.Boolean
})

/** @internal */
export const u16: Codec<number> = make({
  typeName: "u16",
  size: (a) => varSize(a),
  write: (w, a) => w.varint(a),
  read: (r) => r.u16(),
  toCanon: (a) => a,
  fromCanon: intCanon("u16", 0, 0xffff),
  makeSchema: () => Schema.Int.pipe(Schema.between(0, 0xffff))
})

/** @internal */
export const u32: Codec<number> = make({
  typeName: "u32",
  size: (a) => varSize(a),
  write: (w, a) => w.varint(a),
  read: (r) => r.u32(),
  toCanon: (a) => a,
  fromCanon: intCanon("u32", 0, 0xffffffff),
  makeSchema: () => Schema.Int.pipe(Schema.between(0, 0xffffffff))
})

const zigzag32 = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1)

/** @internal */
export const i32: Codec<number> = make({
  typeName: "i32",
  size: (a) => varSize(zigzag32(a)),
  write: (w, a) => w.varint(zigzag32(a)),
  read: (r) => r.i32(),
  toCanon: (a) => a,
  fromCanon: intCanon("i32", -0x80000000, 0x7fffffff),
  makeSchema: () => Schema.Int.pipe(Schema.between(-0x80000000, 0x7fffffff))
})

const U64_MAX = 0xffffffffffffffffn
const bigSchema = (min: bigint, max: bigint) => Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(min, max))

/** u64 and usize. @internal */
export const u64: Codec<bigint> = make({
  typeName: "u64",
  size: (a) => varSizeBig(a),
  write: (w, a) => w.varintBig(a),
  read: (r) => r.u64(),
  toCanon: (a) => a.toString(),
  fromCanon: bigCanon("u64", 0n, U64_MAX),
  makeSchema: () => bigSchema(0n, U64_MAX)
})

/** @internal */
export const usize: Codec<bigint> = make({ ...u64, typeName: "usize", makeSchema: () => u64.schema })

const zigzag64 = (v: bigint): bigint => (v >= 0n ? v << 1n : ((-v) << 1n) - 1n)

/** @internal */
export const i64: Codec<bigint> = make({
  typeName: "i64",
  size: (a) => varSizeBig(zigzag64(a)),
  write: (w, a) => w.varintBig(zigzag64(a)),
  read: (r) => r.i64(),
  toCanon: (a) => a.toString(),
  fromCanon: bigCanon("i64", -(2n ** 63n), 2n ** 63n - 1n),
  makeSchema: () => bigSchema(-(2n ** 63n), 2n ** 63n - 1n)
})

const U128_MAX = 2n ** 128n - 1n

/** u128 (also `Uid`, a UUID as the big-endian u128 of its bytes). @internal */
export const u128: Codec<bigint> = make({
  typeName: "u128",
  size: (a) => varSizeBig(a),
  write: (w, a) => w.varintBig(a),
  read: (r) => r.u128(),
  toCanon: (a) => a.toString(),
  fromCanon: bigCanon("u128", 0n, U128_MAX),
  makeSchema: () => bigSchema(0n, U128_MAX)
})

/** `()` @internal */
export const unitValue: Codec<null> = make({
  typeName: "()",
  size: () => 0,
  write: () => {},
  read: () => null,
  toCanon: () => null,
  fromCanon: (j, p) => (j === null ? null : canonFail(p, "expected null for ()")),
  makeSchema: () => Schema.Null
})

/** A string that UTF-8 can carry (no lone surrogates). @internal */
export const WellFormedString = Schema.String.pipe(
  Schema.filter((s) => (s as any).isWellFormed(), { message: () => "string has a lone surrogate" })
)

const stringCodec = (typeName: string): Codec<string> =>
  make({
    typeName,
    size: (a) => {
      const n = utf8Length(a)
      return varSize(n) + n
    },
    write: (w, a) => w.str(a, utf8Length(a)),
    read: (r) => r.str(),
    toCanon: (a) => a,
    fromCanon: (j, p) =>
      typeof j === "string" && (j as any).isWellFormed() ? j : canonFail(p, `expected a string for ${typeName}`),
    makeSchema: () => WellFormedString
  })

/** @internal */
export const string = stringCodec("String")
/** `PathBuf`: always UTF-8 text on the wire. @internal */
export const path = stringCodec("PathBuf")

/** @internal */
export const toHex = (b: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16)
  return s
}

/** @internal */
export const fromHex = (h: string): Uint8Array | undefined => {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return undefined
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** @internal */
export const hexCanon = (a: Uint8Array): Json => ({ hex: toHex(a) })

/** @internal */
export const hexFromCanon = (j: unknown, p: string): Uint8Array => {
  if (typeof j === "object" && j !== null && typeof (j as any).hex === "string") {
    const b = fromHex((j as any).hex)
    if (b !== undefined) return b
  }
  return canonFail(p, `expected {"hex": "…"}`)
}

/** Bytes of any length; arbitraries stay small. @internal */
export const BytesSchema = Schema.Uint8ArrayFromSelf.annotations({
  arbitrary: () => (fc) => fc.uint8Array({ maxLength: 64 })
})

const bytesCodec = (typeName: string): Codec<Uint8Array> =>
  make({
    typeName,
    size: (a) => {
      const n = a.length
      if (n >= ZERO_COPY_MIN) sizeStats.large += n
      return varSize(n) + n
    },
    write: (w, a) => w.bytes(a),
    read: (r) => r.bytes(r.length()),
    toCanon: hexCanon,
    fromCanon: hexFromCanon,
    makeSchema: () => BytesSchema
  })

/** `Vec<u8>` @internal */
export const bytes = bytesCodec("Vec<u8>")
/** `Payload`: decoded as a view into the received buffer, never copied. @internal */
export const payload = bytesCodec("Payload")
