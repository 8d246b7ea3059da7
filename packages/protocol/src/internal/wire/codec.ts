/**
 * The wire-type DSL: one definition per protocol type gives its bincode size/write/read, its
 * canonical JSON mapping, its `Schema` (validation, arbitraries) and its enum variant history.
 * @internal
 */
import * as Schema from "effect/Schema"
import type { Reader } from "./reader.js"
import { DEFAULT_MAX_DEPTH, InvalidSignal } from "./reader.js"
import type { FieldsAccess } from "./specialize.js"
import { specialize } from "./specialize.js"
import type { Writer } from "./writer.js"
import { varSize } from "./writer.js"

/** @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

/** Thrown by `fromCanon` on a JSON value that does not describe the type. @internal */
export class CanonSignal {
  constructor(readonly path: string, readonly detail: string) {}
}

/** @internal */
export const canonFail = (path: string, detail: string): never => {
  throw new CanonSignal(path, detail)
}

/** Visits every enum tag in a value: used for `sinceVersion`. @internal */
export type TagVisitor = (enumDef: EnumDef, index: number) => void

/** @internal */
export interface Codec<A> {
  readonly typeName: string
  size(a: A): number
  write(w: Writer, a: A): void
  read(r: Reader): A
  toCanon(a: A): Json
  fromCanon(j: unknown, path: string): A
  visitTags(a: A, f: TagVisitor): void
  readonly schema: Schema.Schema<A>
}

/** @internal */
export type TypeOf<C> = C extends Codec<infer A> ? A : never

const noTags = (): void => {}

/** Builds a codec whose schema is created on first use (schemas of recursive types need it). @internal */
export const make = <A>(c: Omit<Codec<A>, "schema" | "visitTags"> & {
  readonly makeSchema: () => Schema.Schema<A>
  readonly visitTags?: (a: A, f: TagVisitor) => void
}): Codec<A> => {
  let schema: Schema.Schema<A> | undefined
  return {
    typeName: c.typeName,
    size: c.size,
    write: c.write,
    read: c.read,
    toCanon: c.toCanon,
    fromCanon: c.fromCanon,
    visitTags: c.visitTags ?? noTags,
    get schema() {
      return (schema ??= c.makeSchema())
    }
  }
}

// ---------------------------------------------------------------------------------------------
// structs

/** @internal */
export type Fields = Readonly<Record<string, Codec<any>>>
/** @internal */
export type StructOf<F extends Fields> = { readonly [K in keyof F]: TypeOf<F[K]> }

const isObject = (j: unknown): j is Record<string, unknown> =>
  typeof j === "object" && j !== null && !Array.isArray(j)

/** @internal */
export const struct = <const F extends Fields>(typeName: string, fields: F): Codec<StructOf<F>> => {
  const keys = Object.keys(fields)
  const codecs = keys.map((k) => fields[k]!)
  const n = keys.length
  const fast = specialize(keys, codecs)
  return make<StructOf<F>>({
    typeName,
    size: fast.size,
    write: fast.write,
    read: fast.read,
    toCanon: (a) => {
      const o: Record<string, Json> = {}
      for (let i = 0; i < n; i++) o[keys[i]!] = codecs[i]!.toCanon((a as any)[keys[i]!])
      return o
    },
    fromCanon: (j, path) => {
      if (!isObject(j)) return canonFail(path, `expected an object for ${typeName}`)
      const o: any = {}
      for (let i = 0; i < n; i++) {
        const k = keys[i]!
        if (!(k in j)) canonFail(path, `missing field ${k} of ${typeName}`)
        o[k] = codecs[i]!.fromCanon(j[k], `${path}.${k}`)
      }
      return o
    },
    visitTags: (a, f) => {
      for (let i = 0; i < n; i++) codecs[i]!.visitTags((a as any)[keys[i]!], f)
    },
    makeSchema: () => {
      const fs: Record<string, Schema.Schema<any>> = {}
      for (let i = 0; i < n; i++) fs[keys[i]!] = codecs[i]!.schema
      return Schema.Struct(fs).annotations({ identifier: typeName }) as any
    }
  })
}

// ---------------------------------------------------------------------------------------------
// enums

/** @internal */
export interface UnitSpec {
  readonly kind: "unit"
}
/** @internal */
export interface NewtypeSpec<A> {
  readonly kind: "newtype"
  readonly codec: Codec<A>
}
/** @internal */
export interface TupleSpec<T extends ReadonlyArray<Codec<any>>> {
  readonly kind: "tuple"
  readonly codecs: T
}
/** @internal */
export interface FieldsSpec<F extends Fields> {
  readonly kind: "fields"
  readonly fields: F
}
/** @internal */
export type VariantSpec = UnitSpec | NewtypeSpec<any> | TupleSpec<ReadonlyArray<Codec<any>>> | FieldsSpec<Fields>

/** @internal */
export const unit: UnitSpec = { kind: "unit" }
/** @internal */
export const newtype = <A>(codec: Codec<A>): NewtypeSpec<A> => ({ kind: "newtype", codec })
/** @internal */
export const tuple = <const T extends ReadonlyArray<Codec<any>>>(...codecs: T): TupleSpec<T> => ({
  kind: "tuple",
  codecs
})
/** @internal */
export const fields = <const F extends Fields>(fields: F): FieldsSpec<F> => ({ kind: "fields", fields })

type TupleValues<T extends ReadonlyArray<Codec<any>>> = { readonly [K in keyof T]: TypeOf<T[K]> }

/** @internal */
export type VariantValue<K extends string, S> = S extends UnitSpec ? { readonly _tag: K }
  : S extends NewtypeSpec<infer A> ? { readonly _tag: K; readonly value: A }
  : S extends TupleSpec<infer T> ? { readonly _tag: K; readonly values: TupleValues<T> }
  : S extends FieldsSpec<infer F> ? { readonly _tag: K } & StructOf<F>
  : never

/** @internal */
export type EnumOf<V extends Record<string, VariantSpec>> = {
  [K in keyof V & string]: VariantValue<K, V[K]>
}[keyof V & string]

/** Static facts about an enum, shared by the decoder's version limits and `sinceVersion`. @internal */
export interface EnumDef {
  readonly id: number
  readonly name: string
  readonly variantNames: ReadonlyArray<string>
}

const enumRegistry: Array<EnumDef> = []

/** Every enum defined so far, indexed by id. @internal */
export const enums: ReadonlyArray<EnumDef> = enumRegistry

interface Variant {
  readonly name: string
  readonly spec: VariantSpec
  readonly keys: ReadonlyArray<string>
  readonly codecs: ReadonlyArray<Codec<any>>
  /** the variant's payload (everything after the tag) */
  readonly payload: FieldsAccess
}

const tupleAccess = (name: string, codecs: ReadonlyArray<Codec<any>>): FieldsAccess => ({
  size: (a) => {
    let s = 0
    for (let k = 0; k < codecs.length; k++) s += codecs[k]!.size(a.values[k])
    return s
  },
  write: (w, a) => {
    for (let k = 0; k < codecs.length; k++) codecs[k]!.write(w, a.values[k])
  },
  read: (r) => {
    const values = new Array(codecs.length)
    for (let k = 0; k < codecs.length; k++) values[k] = codecs[k]!.read(r)
    return { _tag: name, values }
  }
})

const variantOf = (name: string, spec: VariantSpec): Variant => {
  switch (spec.kind) {
    case "unit":
      return { name, spec, keys: [], codecs: [], payload: specialize([], [], name) }
    case "newtype":
      return { name, spec, keys: ["value"], codecs: [spec.codec], payload: specialize(["value"], [spec.codec], name) }
    case "tuple":
      return { name, spec, keys: [], codecs: spec.codecs, payload: tupleAccess(name, spec.codecs) }
    case "fields": {
      const keys = Object.keys(spec.fields)
      const codecs = keys.map((k) => spec.fields[k]!)
      return { name, spec, keys, codecs, payload: specialize(keys, codecs, name) }
    }
  }
}

/** @internal */
export const enumOf = <const V extends Record<string, VariantSpec>>(
  typeName: string,
  specs: V
): Codec<EnumOf<V>> & { readonly def: EnumDef } => {
  const variants = Object.keys(specs).map((k) => variantOf(k, specs[k]!))
  const def: EnumDef = { id: enumRegistry.length, name: typeName, variantNames: variants.map((v) => v.name) }
  enumRegistry.push(def)
  if (variants.length > 250) throw new TypeError(`${typeName}: tags above 250 need a wider varint`)
  const index = new Map(variants.map((v, i) => [v.name, i]))
  const count = variants.length
  const id = def.id
  const payloads = variants.map((v) => v.payload)

  const indexOf = (a: { readonly _tag: string }): number => {
    const i = index.get(a._tag)
    if (i === undefined) throw new TypeError(`${typeName}: unknown variant ${String(a._tag)}`)
    return i
  }

  const codec = make<EnumOf<V>>({
    typeName,
    // every enum here has fewer than 251 variants: the tag is always one byte
    size: (a: any) => 1 + payloads[indexOf(a)]!.size(a),
    write: (w, a: any) => {
      const i = indexOf(a)
      w.u8(i)
      payloads[i]!.write(w, a)
    },
    read: (r) => {
      const at = r.pos
      const i = r.tag()
      const allowed = r.variantLimits === undefined ? count : r.variantLimits[id]!
      if (i >= allowed) {
        throw new InvalidSignal(
          "UnknownVariant",
          at,
          i < count
            ? `${typeName} variant ${i} (${variants[i]!.name}) is not known at this protocol version (${allowed} variants)`
            : `${typeName} has ${count} variants, tag is ${i}`,
          [typeName],
          i
        )
      }
      try {
        return payloads[i]!.read(r)
      } catch (e) {
        // innermost first while unwinding (a push, not an unshift: deep values make long paths);
        // decodeOne reverses it once
        if (e instanceof InvalidSignal) e.path.push(`${typeName}::${variants[i]!.name}`)
        throw e
      }
    },
    toCanon: (a: any) => {
      const v = variants[indexOf(a)]!
      const o: Record<string, Json> = { $: v.name }
      switch (v.spec.kind) {
        case "unit":
          break
        case "newtype":
          o.value = v.codecs[0]!.toCanon(a.value)
          break
        case "tuple":
          o.values = v.codecs.map((c, k) => c.toCanon(a.values[k]))
          break
        case "fields":
          for (let k = 0; k < v.codecs.length; k++) o[v.keys[k]!] = v.codecs[k]!.toCanon(a[v.keys[k]!])
      }
      return o
    },
    fromCanon: (j, path) => {
      if (!isObject(j) || typeof j.$ !== "string") return canonFail(path, `expected {"$": variant} for ${typeName}`)
      const i = index.get(j.$)
      if (i === undefined) return canonFail(path, `${typeName} has no variant ${j.$}`)
      const v = variants[i]!
      const p = `${path}/${typeName}::${v.name}`
      switch (v.spec.kind) {
        case "unit":
          return { _tag: v.name } as any
        case "newtype":
          if (!("value" in j)) canonFail(p, "missing value")
          return { _tag: v.name, value: v.codecs[0]!.fromCanon(j.value, p) } as any
        case "tuple": {
          const vs = j.values
          if (!Array.isArray(vs) || vs.length !== v.codecs.length) {
            return canonFail(p, `expected values with ${v.codecs.length} elements`)
          }
          return { _tag: v.name, values: v.codecs.map((c, k) => c.fromCanon(vs[k], `${p}[${k}]`)) } as any
        }
        case "fields": {
          const o: any = { _tag: v.name }
          for (let k = 0; k < v.codecs.length; k++) {
            const key = v.keys[k]!
            if (!(key in j)) canonFail(p, `missing field ${key}`)
            o[key] = v.codecs[k]!.fromCanon(j[key], `${p}.${key}`)
          }
          return o
        }
      }
    },
    visitTags: (a: any, f) => {
      const i = indexOf(a)
      const v = variants[i]!
      f(def, i)
      if (v.spec.kind === "tuple") {
        for (let k = 0; k < v.codecs.length; k++) v.codecs[k]!.visitTags(a.values[k], f)
      } else {
        for (let k = 0; k < v.codecs.length; k++) v.codecs[k]!.visitTags(a[v.keys[k]!], f)
      }
    },
    makeSchema: () =>
      Schema.Union(
        ...variants.map((v) => {
          switch (v.spec.kind) {
            case "unit":
              return Schema.TaggedStruct(v.name, {})
            case "newtype":
              return Schema.TaggedStruct(v.name, { value: v.codecs[0]!.schema })
            case "tuple":
              return Schema.TaggedStruct(v.name, { values: Schema.Tuple(...v.codecs.map((c) => c.schema)) })
            case "fields": {
              const fs: Record<string, Schema.Schema<any>> = {}
              v.keys.forEach((k, n) => (fs[k] = v.codecs[n]!.schema))
              return Schema.TaggedStruct(v.name, fs)
            }
          }
        })
      ).annotations({ identifier: typeName }) as any
  })
  return Object.assign(codec, { def })
}

// ---------------------------------------------------------------------------------------------
// generic containers

/** A reference resolved on first use: breaks import cycles between message modules. @internal */
export const lazy = <A>(typeName: string, f: () => Codec<A>): Codec<A> => {
  let c: Codec<A> | undefined
  const get = () => (c ??= f())
  return make<A>({
    typeName,
    size: (a) => get().size(a),
    write: (w, a) => get().write(w, a),
    read: (r) => get().read(r),
    toCanon: (a) => get().toCanon(a),
    fromCanon: (j, p) => get().fromCanon(j, p),
    visitTags: (a, f) => get().visitTags(a, f),
    makeSchema: () => Schema.suspend(() => get().schema)
  })
}

/**
 * Thrown when a value being encoded (or converted) nests recursive values beyond
 * `encodeDepth.max`; turned into an `EncodeError` at the public boundary. @internal
 */
export class TooDeepSignal {
  constructor(readonly typeName: string, readonly maxDepth: number) {}
}

/**
 * The nesting limit of recursive values when encoding or converting (the decoder's is the
 * reader's `maxDepth`). `size`, `write`, `visitTags` and the canonical conversions take no
 * options, and run synchronously: a module-level setting, changed only for the duration of one
 * call (`withMaxDepth`). @internal
 */
export const encodeDepth = { max: DEFAULT_MAX_DEPTH }

/** A JavaScript stack overflow (V8: "Maximum call stack size exceeded"). @internal */
export const isStackOverflow = (e: unknown): boolean =>
  e instanceof RangeError && /call stack/i.test(e.message)

/** `Option<T>`: a raw u8 tag 0/1; `null` in canon. Represented as `T | null`. @internal */
export const option = <A>(c: Codec<A>): Codec<A | null> =>
  make<A | null>({
    typeName: `Option<${c.typeName}>`,
    size: (a) => (a === null ? 1 : 1 + c.size(a)),
    write: (w, a) => {
      if (a === null) w.u8(0)
      else {
        w.u8(1)
        c.write(w, a)
      }
    },
    read: (r) => (r.optionTag() ? c.read(r) : null),
    toCanon: (a) => (a === null ? null : c.toCanon(a)),
    fromCanon: (j, p) => (j === null ? null : c.fromCanon(j, p)),
    visitTags: (a, f) => {
      if (a !== null) c.visitTags(a, f)
    },
    makeSchema: () => Schema.NullOr(c.schema)
  })

/** @internal */
export type Result<A, E> = { readonly _tag: "Ok"; readonly value: A } | { readonly _tag: "Err"; readonly value: E }

/** `Result<T, E>`: a u32 varint tag 0 (Ok) / 1 (Err). @internal */
export const result = <A, E>(ok: Codec<A>, err: Codec<E>): Codec<Result<A, E>> =>
  make<Result<A, E>>({
    typeName: `Result<${ok.typeName}, ${err.typeName}>`,
    size: (a) => 1 + (a._tag === "Ok" ? ok.size(a.value) : err.size(a.value)),
    write: (w, a) => {
      if (a._tag === "Ok") {
        w.u8(0)
        ok.write(w, a.value)
      } else {
        w.u8(1)
        err.write(w, a.value)
      }
    },
    read: (r) => {
      const at = r.pos
      const t = r.tag()
      if (t === 0) return { _tag: "Ok", value: ok.read(r) }
      if (t === 1) return { _tag: "Err", value: err.read(r) }
      return r.invalid("UnknownVariant", at, `Result tag ${t}`)
    },
    toCanon: (a) => ({ $: a._tag, value: a._tag === "Ok" ? ok.toCanon(a.value) : err.toCanon(a.value) }),
    fromCanon: (j, p) => {
      if (isObject(j) && j.$ === "Ok" && "value" in j) return { _tag: "Ok", value: ok.fromCanon(j.value, p) }
      if (isObject(j) && j.$ === "Err" && "value" in j) return { _tag: "Err", value: err.fromCanon(j.value, p) }
      return canonFail(p, "expected a Result")
    },
    visitTags: (a, f) => (a._tag === "Ok" ? ok.visitTags(a.value, f) : err.visitTags(a.value, f)),
    makeSchema: () =>
      Schema.Union(
        Schema.TaggedStruct("Ok", { value: ok.schema }),
        Schema.TaggedStruct("Err", { value: err.schema })
      ) as any
  })

const seqLike = <A>(
  typeName: string,
  c: Codec<A>,
  dedupe: boolean
): Codec<ReadonlyArray<A>> =>
  make<ReadonlyArray<A>>({
    typeName,
    size: (a) => {
      let s = varSize(a.length)
      for (let i = 0; i < a.length; i++) s += c.size(a[i]!)
      return s
    },
    write: (w, a) => {
      w.varint(a.length)
      for (let i = 0; i < a.length; i++) c.write(w, a[i]!)
    },
    read: (r) => {
      const at = r.pos
      const n = r.length()
      // every element takes at least one byte: a count that cannot fit is rejected at once, and
      // nothing is pre-allocated from it (elements are read one by one, so an invalid element
      // before the end of the input still wins over "incomplete", as in Rust)
      if (n > r.limit - r.pos) r.invalid("MessageTooLarge", at, `declared count ${n} cannot fit`)
      const out: Array<A> = []
      for (let i = 0; i < n; i++) out.push(c.read(r))
      if (!dedupe) return out
      // a set: duplicates collapse, first occurrence keeps its place
      const seen = new Set<string>()
      return out.filter((x) => {
        const k = JSON.stringify(c.toCanon(x))
        if (seen.has(k)) return false
        seen.add(k)
        return true
      })
    },
    toCanon: (a) => a.map((x) => c.toCanon(x)),
    fromCanon: (j, p) => {
      if (!Array.isArray(j)) return canonFail(p, `expected an array for ${typeName}`)
      return j.map((x, i) => c.fromCanon(x, `${p}[${i}]`))
    },
    visitTags: (a, f) => {
      for (const x of a) c.visitTags(x, f)
    },
    makeSchema: () => Schema.Array(c.schema) as any
  })

/** `Vec<T>` / `VecDeque<T>`. @internal */
export const seq = <A>(c: Codec<A>): Codec<ReadonlyArray<A>> => seqLike(`Vec<${c.typeName}>`, c, false)

/** `HashSet<T>`: wire order kept, duplicates collapse on decode. @internal */
export const set = <A>(c: Codec<A>): Codec<ReadonlyArray<A>> => {
  const base = seqLike(`HashSet<${c.typeName}>`, c, true)
  return make({
    ...base,
    makeSchema: () =>
      Schema.Array(c.schema).pipe(
        Schema.filter((xs) => new Set(xs.map((x) => JSON.stringify(c.toCanon(x)))).size === xs.length, {
          message: () => "set elements must be distinct"
        })
      ) as any
  })
}

/** `HashMap<K, V>` as ordered pairs; a duplicate key on decode keeps its first place and the last value. @internal */
export const map = <K, V>(k: Codec<K>, v: Codec<V>): Codec<ReadonlyArray<readonly [K, V]>> =>
  make<ReadonlyArray<readonly [K, V]>>({
    typeName: `HashMap<${k.typeName}, ${v.typeName}>`,
    size: (a) => {
      let s = varSize(a.length)
      for (const [x, y] of a) s += k.size(x) + v.size(y)
      return s
    },
    write: (w, a) => {
      w.varint(a.length)
      for (const [x, y] of a) {
        k.write(w, x)
        v.write(w, y)
      }
    },
    read: (r) => {
      const start = r.pos
      const n = r.length()
      if (n > r.limit - r.pos) r.invalid("MessageTooLarge", start, `declared count ${n} cannot fit`)
      const out: Array<[K, V]> = []
      const at = new Map<string, number>()
      for (let i = 0; i < n; i++) {
        const key = k.read(r)
        const value = v.read(r)
        const id = JSON.stringify(k.toCanon(key))
        const prev = at.get(id)
        if (prev === undefined) {
          at.set(id, out.length)
          out.push([key, value])
        } else out[prev] = [key, value]
      }
      return out
    },
    toCanon: (a) => a.map(([x, y]) => [k.toCanon(x), v.toCanon(y)]),
    fromCanon: (j, p) => {
      if (!Array.isArray(j)) return canonFail(p, "expected an array of pairs")
      return j.map((e, i) => {
        if (!Array.isArray(e) || e.length !== 2) return canonFail(`${p}[${i}]`, "expected a [key, value] pair")
        return [k.fromCanon(e[0], `${p}[${i}][0]`), v.fromCanon(e[1], `${p}[${i}][1]`)] as const
      })
    },
    visitTags: (a, f) => {
      for (const [x, y] of a) {
        k.visitTags(x, f)
        v.visitTags(y, f)
      }
    },
    makeSchema: () =>
      Schema.Array(Schema.Tuple(k.schema, v.schema)).pipe(
        Schema.filter((xs) => new Set(xs.map(([x]) => JSON.stringify(k.toCanon(x)))).size === xs.length, {
          message: () => "map keys must be distinct"
        })
      ) as any
  })

/** `[T; N]`: N elements, no length. @internal */
export const array = <A>(c: Codec<A>, n: number): Codec<ReadonlyArray<A>> =>
  make<ReadonlyArray<A>>({
    typeName: `[${c.typeName}; ${n}]`,
    size: (a) => {
      let s = 0
      for (let i = 0; i < n; i++) s += c.size(a[i]!)
      return s
    },
    write: (w, a) => {
      for (let i = 0; i < n; i++) c.write(w, a[i]!)
    },
    read: (r) => {
      const out: Array<A> = []
      for (let i = 0; i < n; i++) out.push(c.read(r))
      return out
    },
    toCanon: (a) => a.map((x) => c.toCanon(x)),
    fromCanon: (j, p) => {
      if (!Array.isArray(j) || j.length !== n) return canonFail(p, `expected an array of ${n}`)
      return j.map((x, i) => c.fromCanon(x, `${p}[${i}]`))
    },
    visitTags: (a, f) => {
      for (const x of a) c.visitTags(x, f)
    },
    makeSchema: () => Schema.Array(c.schema).pipe(Schema.itemsCount(n)) as any
  })

/** A newtype struct (`Filter(String)`): exactly its inner value, on the wire and in canon. @internal */
export const alias = <A>(typeName: string, c: Codec<A>): Codec<A> =>
  make<A>({ ...c, typeName, makeSchema: () => c.schema.annotations({ identifier: typeName }) })
