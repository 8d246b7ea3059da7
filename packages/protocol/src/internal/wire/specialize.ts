/**
 * Field-list encoders specialised per type. A generic loop over field names reads properties
 * by computed key, which V8 cannot keep monomorphic across the protocol's ~150 record shapes;
 * a function generated per shape reads `a.connection_id` directly and builds its result with
 * one object literal (one hidden class). Field names come from our own static definitions and
 * are checked to be identifiers, so no outside text reaches the generated code.
 * @internal
 */
import type { Codec } from "./codec.js"
import type { Reader } from "./reader.js"
import type { Writer } from "./writer.js"

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** @internal */
export interface FieldsAccess {
  readonly size: (a: any) => number
  readonly write: (w: Writer, a: any) => void
  /** reads the fields in order into a fresh object (with `_tag` first when given) */
  readonly read: (r: Reader) => any
}

/** @internal */
export const specialize = (
  keys: ReadonlyArray<string>,
  codecs: ReadonlyArray<Codec<any>>,
  tag?: string
): FieldsAccess => {
  for (const k of keys) {
    if (!IDENTIFIER.test(k) || k === "_tag") throw new TypeError(`not a field name: ${k}`)
  }
  const params = codecs.map((_, i) => `c${i}`)
  const build = (body: string) => new Function("tag", ...params, body)(tag, ...codecs)
  const size = build(`return function size(a) { return 0${keys.map((k, i) => ` + c${i}.size(a.${k})`).join("")} }`)
  const write = build(`return function write(w, a) {${keys.map((k, i) => ` c${i}.write(w, a.${k});`).join("")} }`)
  const fields = keys.map((k, i) => `${k}: c${i}.read(r)`)
  // object literal initialisers run in source order: fields are read in wire order
  const read = build(`return function read(r) { return { ${[...(tag === undefined ? [] : ["_tag: tag"]), ...fields].join(", ")} } }`)
  return { size, write, read }
}
