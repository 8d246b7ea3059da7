/**
 * `semver::Version` through serde: its string form, parsed strictly on decode.
 * @internal
 */
import * as Schema from "effect/Schema"
import type { Codec } from "./codec.js"
import { canonFail, make } from "./codec.js"
import { utf8Length, varSize } from "./writer.js"

const NUM = "(0|[1-9][0-9]*)"
const PRE_ID = "(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
const BUILD_ID = "[0-9A-Za-z-]+"
const SEMVER = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`)
const U64_MAX = 0xffffffffffffffffn

/** Strict semver as the Rust `semver` crate parses it. @internal */
export const isSemver = (s: string): boolean => {
  const m = SEMVER.exec(s)
  if (m === null) return false
  return BigInt(m[1]!) <= U64_MAX && BigInt(m[2]!) <= U64_MAX && BigInt(m[3]!) <= U64_MAX
}

/** @internal */
export const SemverStringSchema = Schema.String.pipe(
  Schema.filter(isSemver, { message: () => "not a semver version" })
).annotations({
  identifier: "SemVer",
  arbitrary: () => (fc) =>
    fc.tuple(
      fc.nat(40),
      fc.nat(40),
      fc.nat(40),
      fc.option(fc.constantFrom("alpha.1", "rc.1", "beta", "0"), { nil: undefined }),
      fc.option(fc.constantFrom("build.5", "001"), { nil: undefined })
    ).map(([a, b, c, pre, build]) =>
      `${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}${build === undefined ? "" : `+${build}`}`
    )
})

/** @internal */
export const semver: Codec<string> = make({
  typeName: "SemVer",
  size: (a) => {
    const n = utf8Length(a)
    return varSize(n) + n
  },
  write: (w, a) => w.str(a, utf8Length(a)),
  read: (r) => {
    const at = r.pos
    const s = r.str()
    if (!isSemver(s)) return r.invalid("InvalidSemver", at, `invalid semver ${JSON.stringify(s.slice(0, 64))}`)
    return s
  },
  toCanon: (a) => a,
  fromCanon: (j, p) => (typeof j === "string" && isSemver(j) ? j : canonFail(p, "expected a semver string")),
  makeSchema: () => SemverStringSchema
})
