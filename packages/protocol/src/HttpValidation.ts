/**
 * HTTP value validation by protocol era. A mirrord peer validates the HTTP values it decodes
 * (method, URI, header names, repeated header names) with the `http` crate (and http-serde) its
 * protocol version was locked to, not 1.29's; `Codec.decoderFor(version)` does the same, so a
 * test sees the drop a real old agent would cause. Observed by running the real crate at each
 * protocol version's commit; a version between two observed rows takes the older row.
 *
 * @since 0.1.0
 */
import * as semver from "semver"
import type { HttpEra } from "./internal/wire/httpEra.js"
import { httpEraFor, httpEraRows, NEWEST_HTTP_ERA, SINGLE_VALUE_REPLACES_FROM } from "./internal/wire/httpEra.js"
import * as http from "./internal/wire/http.js"

/**
 * What one era accepts.
 *
 * @since 0.1.0
 * @category models
 */
export interface EraRules {
  /** the first protocol version the rules apply to ("0.0.0": every version below the next row) */
  readonly from: string
  /** the protocol versions they were observed at */
  readonly observed: string
  /** a method may contain `# $ % & '` (http 0.2's method table lacked them) */
  readonly methodSpecialChars: boolean
  /** a header name may contain `"` (http 0.2's header-name table had it) */
  readonly headerNameQuote: boolean
  /** a URI path or query may contain non-ASCII characters as they are */
  readonly uriNonAscii: boolean
  /** a URI path or query may contain DEL (0x7F) */
  readonly uriDel: boolean
  /**
   * a later header-map entry with one value replaces the values decoded before for that name;
   * false: every value is kept (`x-a: 1,2,3`)
   */
  readonly singleValueReplaces: boolean
}

const rulesOf = (era: HttpEra): EraRules => ({
  from: era.from,
  observed: era.observed,
  methodSpecialChars: era.methodChars["#".charCodeAt(0)] === 1,
  headerNameQuote: era.headerNameChars["\"".charCodeAt(0)] === 1,
  uriNonAscii: era.uriHighFrom <= 0x80,
  uriDel: era.uriHighFrom <= 0x7f,
  singleValueReplaces: era.singleValueReplaces
})

/**
 * The observed rows, oldest first (their header-map rule as observed for their first version).
 *
 * @since 0.1.0
 * @category constants
 */
export const eras: ReadonlyArray<EraRules> = httpEraRows.map(rulesOf)

/**
 * The first protocol version whose decoder lets a later single-value header entry replace the
 * earlier values (observed: 1.2.2 and 1.3.0 keep every value, 1.29.0 replaces).
 *
 * @since 0.1.0
 * @category constants
 */
export const singleValueReplacesFrom: string = SINGLE_VALUE_REPLACES_FROM

const eraOfVersion = (version: string | undefined): HttpEra => {
  const v = version === undefined ? null : semver.valid(version)
  return v === null ? NEWEST_HTTP_ERA : httpEraFor(v)
}

/**
 * The rules a peer of `version` validates with (an unparsable version: the newest).
 *
 * @since 0.1.0
 * @category getters
 */
export const rulesAt = (version: string): EraRules => rulesOf(eraOfVersion(version))

/**
 * @since 0.1.0
 * @category predicates
 */
export const isMethodAt = (version: string, method: string): boolean => http.isMethodIn(method, eraOfVersion(version))

/**
 * The `http::Uri` Display form of a request target at `version`, or undefined when that era's
 * crate rejects it.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalizeUriAt = (version: string, uri: string): string | undefined =>
  http.normalizeUriIn(uri, eraOfVersion(version))

const yes = (b: boolean, accepted = "ok"): string => (b ? accepted : "invalid")

/**
 * The era table as Markdown (a section of `docs/capabilities.md`).
 *
 * @since 0.1.0
 * @category rendering
 */
export const erasMarkdown = (): string => {
  const out: Array<string> = []
  out.push("## HTTP validation by era")
  out.push("")
  out.push(
    "What `Codec.decoderFor(V)` (and so agent-sim) rejects, as the `http` crate locked at protocol V's commit " +
      "did (observed with the real crate). A rejected value makes a real peer of that version drop the " +
      "connection. **A version between two observed rows takes the older row** (the change may have come " +
      "later than the older row's last observed version): so 1.8.2–1.13.3 decode as 1.2.2–1.8.1, " +
      "1.15.1–1.19.2 as 1.15.0, 1.27.1–1.28.x as 1.27.0, and versions below 1.2.2 as 1.2.2. " +
      "`Codec.decoder` (no version) and `decoderFor(V, root, { httpValidation: \"newest\" })` use the 1.29.0 row."
  )
  out.push("")
  out.push("| from | observed at | method with `# $ % & '` | header name with `\"` | non-ASCII in URI | DEL in URI |")
  out.push("|---|---|---|---|---|---|")
  for (const e of eras) {
    out.push(
      `| ${e.from === "0.0.0" ? "(oldest)" : e.from} | ${e.observed} | ${yes(e.methodSpecialChars)} | ` +
        `${yes(e.headerNameQuote, "accepted")} | ${yes(e.uriNonAscii)} | ${yes(e.uriDel, "accepted")} |`
    )
  }
  out.push("")
  out.push(
    "The `http` crate changes behind the rows: `# $ % & '` allowed in methods and `\"` removed from header " +
      "names (both in http 1.2.0), non-ASCII bytes allowed in path and query as 0x7F..=0xFF, so DEL too " +
      "(http 1.3.0), DEL rejected again (http 1.4.2)."
  )
  out.push("")
  out.push(
    "Repeated header names (a header map whose entries repeat a name, e.g. `x-a: [1]`, `x-a: [2]`, `x-a: [3]`): " +
      `below ${SINGLE_VALUE_REPLACES_FROM} every value is kept (\`x-a: 1,2,3\`, observed at 1.2.2 and 1.3.0); ` +
      `from ${SINGLE_VALUE_REPLACES_FROM} a later entry with one value replaces the earlier values (\`x-a: 3\`), ` +
      "an entry with several values is appended. Nothing between 1.3.0 and 1.29.0 was observed, so by the " +
      "older-row rule every version below 1.29.0 keeps every value."
  )
  out.push("")
  return out.join("\n")
}
