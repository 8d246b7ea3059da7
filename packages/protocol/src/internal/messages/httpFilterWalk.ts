/**
 * `HttpFilter` decoded, sized, encoded and visited without recursion: the one recursive type of
 * the protocol, nested as deep as outside input (bytes, a user's filter) makes it. With an
 * explicit stack the nesting accepted (`maxDepth`, 4,096 by default) never depends on the
 * JavaScript stack a caller left: recursive code ran out at ≈ 1,900 levels in cold code.
 * These are the only loops below the codec DSL for it; every other variant goes through the
 * enum's own codec, so variant limits, validation and error paths stay the DSL's.
 * @internal
 */
import type { EnumDef, TagVisitor } from "../wire/codec.js"
import { encodeDepth, TooDeepSignal } from "../wire/codec.js"
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
      if (r.depth + open.length > r.maxDepth) {
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
  const levels: Array<number> = [encodeDepth.current]
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
    })
})
