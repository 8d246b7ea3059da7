/**
 * `HttpFilter` decoded, sized, encoded, visited and converted without recursion: the one recursive type of
 * the protocol, nested as deep as outside input (bytes, a user's filter) makes it. With an
 * explicit stack the nesting accepted (`maxDepth`, 4,096 by default) never depends on the
 * JavaScript stack a caller left (a recursive reader ran out at ≈ 1,900 levels in unoptimised code).
 * These are the only loops below the codec DSL for it; every other variant goes through the
 * enum's own codec, so variant limits, validation and error paths stay the DSL's.
 * @internal
 */
import type { EnumDef, Json, TagVisitor } from "../wire/codec.js"
import { canonFail, encodeDepth, TooDeepSignal } from "../wire/codec.js"
import type { Reader } from "../wire/reader.js"
import { InvalidSignal } from "../wire/reader.js"
import type { Writer } from "../wire/writer.js"
import { varSize } from "../wire/writer.js"
import type { HttpFilter } from "./tcp.js"

type Composite = Extract<HttpFilter, { readonly _tag: "Composite" }>

interface OpenComposite {
  all: boolean
  count: number
  readonly filters: Array<HttpFilter>
}

/** The reader: the `Composite`s being read are an explicit stack. @internal */
export const iterativeHttpFilterReader = (
  enumId: number,
  compositeIndex: number,
  readOther: (r: Reader) => HttpFilter
) =>
(r: Reader): HttpFilter => {
  const open: Array<OpenComposite> = []
  try {
    for (;;) {
      if (open.length > r.maxDepth) {
        r.invalid("TooDeep", r.pos, `HttpFilter nested deeper than ${r.maxDepth} levels`)
      }
      const at = r.pos
      const tag = r.tag()
      const allowed = r.variantLimits === undefined ? compositeIndex + 1 : r.variantLimits[enumId]!
      let value: HttpFilter
      if (tag !== compositeIndex || tag >= allowed) {
        // not a Composite (or one this version does not know): the enum reader decides
        r.pos = at
        value = readOther(r)
      } else {
        const frame: OpenComposite = { all: false, count: 0, filters: [] }
        open.push(frame)
        frame.all = r.bool()
        const countAt = r.pos
        frame.count = r.length()
        // as the DSL's Vec: every element takes a byte, so a count that cannot fit is invalid now
        if (frame.count > r.limit - r.pos) r.invalid("MessageTooLarge", countAt, `declared count ${frame.count} cannot fit`)
        if (frame.count > 0) continue
        open.pop()
        value = { _tag: "Composite", all: frame.all, filters: frame.filters }
      }
      // a finished filter goes to its Composite, which may itself be finished by it
      for (;;) {
        const top = open[open.length - 1]
        if (top === undefined) return value
        top.filters.push(value)
        if (top.filters.length < top.count) break
        open.pop()
        value = { _tag: "Composite", all: top.all, filters: top.filters }
      }
    }
  } catch (e) {
    // the path the recursive reader would have built: one entry per Composite still open
    if (e instanceof InvalidSignal) for (let i = 0; i < open.length; i++) e.path.push("HttpFilter::Composite")
    throw e
  }
}

/**
 * Every filter of a tree, pre-order (wire order), with its nesting level (0 = the tree's root);
 * beyond `encodeDepth.max` levels, a `TooDeepSignal`.
 */
const walk = (root: HttpFilter, onFilter: (filter: HttpFilter) => void): void => {
  const pending: Array<HttpFilter> = [root]
  const levels: Array<number> = [0]
  while (pending.length > 0) {
    const filter = pending.pop()!
    const level = levels.pop()!
    if (level > encodeDepth.max) throw new TooDeepSignal("HttpFilter", encodeDepth.max)
    onFilter(filter)
    if (filter._tag === "Composite") {
      const children = filter.filters
      for (let i = children.length - 1; i >= 0; i--) {
        pending.push(children[i]!)
        levels.push(level + 1)
      }
    }
  }
}

/** The encoding operations of `HttpFilter`, the non-`Composite` variants by the enum's codec. @internal */
export const iterativeHttpFilterEncoding = (
  def: EnumDef,
  compositeIndex: number,
  other: {
    readonly size: (a: HttpFilter) => number
    readonly write: (w: Writer, a: HttpFilter) => void
    readonly visitTags: (a: HttpFilter, f: TagVisitor) => void
    readonly toCanon: (a: HttpFilter) => Json
    readonly fromCanon: (j: unknown, path: string) => HttpFilter
  }
) => ({
  size: (a: HttpFilter): number => {
    let total = 0
    walk(a, (filter) => {
      // tag, `all`, the filter count; the filters follow as their own entries
      total += filter._tag === "Composite" ? 2 + varSize((filter as Composite).filters.length) : other.size(filter)
    })
    return total
  },
  write: (w: Writer, a: HttpFilter): void =>
    walk(a, (filter) => {
      if (filter._tag === "Composite") {
        w.u8(compositeIndex)
        w.u8((filter as Composite).all ? 1 : 0)
        w.varint((filter as Composite).filters.length)
      } else other.write(w, filter)
    }),
  visitTags: (a: HttpFilter, f: TagVisitor): void =>
    walk(a, (filter) => {
      if (filter._tag === "Composite") f(def, compositeIndex)
      else other.visitTags(filter, f)
    }),
  // canonical JSON: each Composite's object is made first, its filters fill their slots later
  toCanon: (a: HttpFilter): Json => {
    const top: Array<Json> = [null]
    const slots: Array<Array<Json>> = [top]
    const indices: Array<number> = [0]
    const pending: Array<HttpFilter> = []
    walk(a, (filter) => pending.push(filter))
    // `walk` visits in pre-order: a Composite comes right before its filters
    for (const filter of pending) {
      const slot = slots.pop()!
      const index = indices.pop()!
      if (filter._tag !== "Composite") {
        slot[index] = other.toCanon(filter)
        continue
      }
      const children = (filter as Composite).filters
      const filters: Array<Json> = new Array(children.length)
      slot[index] = { $: "Composite", all: (filter as Composite).all, filters }
      for (let i = children.length - 1; i >= 0; i--) {
        slots.push(filters)
        indices.push(i)
      }
    }
    return top[0]!
  },
  fromCanon: (json: unknown, path: string): HttpFilter => {
    // [json, its path, its level, the array its value goes to, at which index]
    const top: Array<HttpFilter | undefined> = [undefined]
    const pending: Array<readonly [unknown, string, number, Array<HttpFilter | undefined>, number]> = [
      [json, path, 0, top, 0]
    ]
    while (pending.length > 0) {
      const [j, p, level, slot, index] = pending.pop()!
      if (level > encodeDepth.max) canonFail(p, `HttpFilter nested deeper than ${encodeDepth.max} levels`)
      if (typeof j !== "object" || j === null || Array.isArray(j) || (j as { $?: unknown }).$ !== "Composite") {
        slot[index] = other.fromCanon(j, p)
        continue
      }
      const o = j as Record<string, unknown>
      const at = `${p}/HttpFilter::Composite`
      if (!("all" in o)) canonFail(at, "missing field all")
      if (typeof o.all !== "boolean") canonFail(`${at}.all`, "expected a bool")
      if (!("filters" in o)) canonFail(at, "missing field filters")
      const items = o.filters
      if (!Array.isArray(items)) return canonFail(`${at}.filters`, "expected an array for Vec<HttpFilter>")
      const filters: Array<HttpFilter | undefined> = new Array(items.length)
      slot[index] = { _tag: "Composite", all: o.all as boolean, filters: filters as Array<HttpFilter> }
      for (let i = items.length - 1; i >= 0; i--) {
        pending.push([items[i], `${at}.filters[${i}]`, level + 1, filters, i])
      }
    }
    return top[0]!
  }
})
