/**
 * What the Rust `http` crate (and http-serde) of a protocol version's era accepts when an HTTP
 * value is decoded. Old agents validate with the crate locked at their commit, not 1.29's, so a
 * decoder emulating one must reject what it rejects. Observed per protocol version by running the
 * real crate (issue 11); versions between two observed rows take the older row.
 * @internal
 */
import * as semver from "semver"

/** @internal */
export interface HttpEra {
  /** the first protocol version of the row (the oldest one for the first row) */
  readonly from: string
  /** the protocol versions the row was observed at, as written in the issue table */
  readonly observed: string
  /** 1 for the bytes (< 128) a method token may contain */
  readonly methodChars: Uint8Array
  /** 1 for the bytes (< 128) a header name may contain (upper case is lower-cased first) */
  readonly headerNameChars: Uint8Array
  /**
   * the lowest byte >= 0x7F a URI path or query may contain as is (Infinity: none). http 1.3.0
   * allowed 0x7F..=0xFF, so DEL too; 1.4.2 excluded DEL again.
   */
  readonly uriHighFrom: number
  /**
   * a later header-map entry of one value replaces the values already decoded for that name
   * (http-serde's `single`); false: every value is appended
   */
  readonly singleValueReplaces: boolean
}

const RFC_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

const table = (chars: string): Uint8Array => {
  const t = new Uint8Array(128)
  for (const c of chars) t[c.charCodeAt(0)] = 1
  return t
}

/** RFC 9110 tchar: the method and header-name alphabet of http >= 1.2 */
export const TOKEN_CHARS: Uint8Array = table(RFC_TCHAR)
/** http 0.2's METHOD_CHARS: tchar without `# $ % & '` */
const OLD_METHOD_CHARS = table(RFC_TCHAR.replace(/[#$%&']/g, ""))
/** http 0.2's HEADER_CHARS: tchar and `"` */
const OLD_HEADER_NAME_CHARS = table(RFC_TCHAR + "\"")

/** Oldest first. The header-map rule changes at a different version than the rest: see below. @internal */
const rows: ReadonlyArray<Omit<HttpEra, "singleValueReplaces">> = [
  {
    from: "0.0.0",
    observed: "1.2.2–1.8.1",
    methodChars: OLD_METHOD_CHARS,
    headerNameChars: OLD_HEADER_NAME_CHARS,
    uriHighFrom: Infinity
  },
  {
    from: "1.13.4",
    observed: "1.13.4, 1.15.0",
    methodChars: TOKEN_CHARS,
    headerNameChars: TOKEN_CHARS,
    uriHighFrom: Infinity
  },
  {
    from: "1.19.3",
    observed: "1.19.3–1.27.0",
    methodChars: TOKEN_CHARS,
    headerNameChars: TOKEN_CHARS,
    uriHighFrom: 0x7f
  },
  {
    from: "1.29.0",
    observed: "1.29.0",
    methodChars: TOKEN_CHARS,
    headerNameChars: TOKEN_CHARS,
    uriHighFrom: 0x80
  }
]

/**
 * Repeated header names were observed to append at 1.2.2 and 1.3.0 and to replace (a later
 * single-value entry) at 1.29.0; nothing between was observed, so the older behaviour holds below.
 * @internal
 */
export const SINGLE_VALUE_REPLACES_FROM = "1.29.0"

/** @internal */
export const httpEraRows: ReadonlyArray<HttpEra> = rows.map((row) => ({
  ...row,
  singleValueReplaces: semver.gte(row.from, SINGLE_VALUE_REPLACES_FROM)
}))

/** The newest era: what a decoder with no version (1.29.0) validates. @internal */
export const NEWEST_HTTP_ERA: HttpEra = httpEraRows[httpEraRows.length - 1]!

const eraCache = new Map<string, HttpEra>()

/**
 * The era of a protocol version: the newest row whose first version is <= it. Pre-releases
 * compare as semver does (1.13.4-rc.1 is still the older row).
 * @internal
 */
export const httpEraFor = (version: string): HttpEra => {
  let era = eraCache.get(version)
  if (era === undefined) {
    let row = rows[0]!
    for (const candidate of rows) if (semver.gte(version, candidate.from)) row = candidate
    const replaces = semver.gte(version, SINGLE_VALUE_REPLACES_FROM)
    era = httpEraRows.find((e) => e.from === row.from && e.singleValueReplaces === replaces) ??
      { ...row, singleValueReplaces: replaces }
    eraCache.set(version, era)
  }
  return era
}
