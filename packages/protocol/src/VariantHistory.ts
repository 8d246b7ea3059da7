/**
 * Which enum variants each protocol version can decode.
 *
 * mirrord-protocol's history is append-only: no variant was ever inserted,
 * removed or reordered between 1.0.0 and 1.29.0, so the variants a version
 * knows are always a prefix of the enum's variant list. A variant index `i`
 * is decodable by version `V` iff `since(i) <= V` (plain semver order; this is
 * about which variants a build contains, not a `VersionReq` gate).
 *
 * @since 0.1.0
 */
import type { SemVer } from "./Version.js"
import * as Version from "./Version.js"
import * as internal from "./internal/variantHistory.js"

/**
 * One variant of a protocol enum.
 *
 * @since 0.1.0
 * @category models
 */
export interface VariantInfo {
  readonly name: string
  /** The first protocol version whose definition contains this index. */
  readonly since: string
}

/**
 * For every protocol enum (39), its variants in index order.
 *
 * @since 0.1.0
 * @category data
 */
export const variantHistory: Readonly<Record<string, ReadonlyArray<VariantInfo>>> = internal.variantHistory

/**
 * The name of a protocol enum present in the history.
 *
 * @since 0.1.0
 * @category models
 */
export type EnumName = (typeof internal.enumNames)[number]

/**
 * The enum names, `ClientMessage` and `DaemonMessage` first.
 *
 * @since 0.1.0
 * @category data
 */
export const enumNames: ReadonlyArray<EnumName> = internal.enumNames

/**
 * Every protocol crate version released from 1.0.0 to 1.29.0, ascending
 * (version-history.md §2.1).
 *
 * @since 0.1.0
 * @category data
 */
export const knownVersions: ReadonlyArray<string> = internal.knownVersions

const parsedKnown: ReadonlyArray<SemVer> = knownVersions.map(Version.unsafeParseVersion)

const parsedSince: Readonly<Record<string, ReadonlyArray<SemVer>>> = Object.fromEntries(
  Object.entries(variantHistory).map(([name, variants]) => [
    name,
    variants.map((v) => Version.unsafeParseVersion(v.since))
  ])
)

const hasEnum = (enumName: string): boolean => Object.prototype.hasOwnProperty.call(variantHistory, enumName)

const toVersion = (version: SemVer | string): SemVer => {
  const v = Version.toSemVer(version)
  if (v === undefined) throw new Version.VersionParseError({ input: String(version), reason: "not a strict semantic version" })
  return v
}

/**
 * The version that introduced variant `index` of `enumName`; `undefined` for
 * an unknown enum or an index beyond the last variant.
 *
 * @since 0.1.0
 * @category getters
 */
export const sinceOf = (enumName: string, index: number): string | undefined =>
  hasEnum(enumName) ? variantHistory[enumName]?.[index]?.since : undefined

/**
 * Every variant name of `enumName` (1.29.0 names, index order), or
 * `undefined` for an enum not in the history.
 *
 * @since 0.1.0
 * @category getters
 */
export const variantNames = (enumName: string): ReadonlyArray<string> | undefined =>
  hasEnum(enumName) ? namesByEnum[enumName] : undefined

const namesByEnum: Readonly<Record<string, ReadonlyArray<string>>> = Object.fromEntries(
  Object.entries(variantHistory).map(([name, variants]) => [name, variants.map((v) => v.name)])
)

/**
 * The index of the variant called `variantName` (its 1.29.0 name), or
 * `undefined`.
 *
 * @since 0.1.0
 * @category getters
 */
export const indexOf = (enumName: string, variantName: string): number | undefined => {
  if (!hasEnum(enumName)) return undefined
  const i = (variantHistory[enumName] ?? []).findIndex((v) => v.name === variantName)
  return i < 0 ? undefined : i
}

/**
 * How many variants of `enumName` version `version` can decode (indices
 * `0 .. n-1`); `0` for an unknown enum. Throws a `VersionParseError` for an
 * invalid version string.
 *
 * @since 0.1.0
 * @category getters
 */
export const variantCountAt = (enumName: string, version: SemVer | string): number => {
  if (!hasEnum(enumName)) return 0
  const v = toVersion(version)
  const since = parsedSince[enumName] ?? []
  let n = 0
  while (n < since.length && Version.compare(since[n]!, v) <= 0) n++
  return n
}

/**
 * Whether version `version` can decode variant `index` of `enumName`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDecodableAt = (enumName: string, index: number, version: SemVer | string): boolean =>
  Number.isInteger(index) && index >= 0 && index < variantCountAt(enumName, version)

/**
 * The variant names (index order) that `version` knows, for every enum.
 * Enums introduced after `version` map to an empty list.
 *
 * @since 0.1.0
 * @category getters
 */
export const variantsAt = (version: SemVer | string): Record<string, ReadonlyArray<string>> => {
  const v = toVersion(version)
  const out: Record<string, ReadonlyArray<string>> = {}
  for (const name of enumNames) {
    out[name] = (variantHistory[name] ?? []).slice(0, variantCountAt(name, v)).map((x) => x.name)
  }
  return out
}

/**
 * The highest known protocol version strictly lower than `version`, or
 * `undefined` when there is none (below or at 1.0.0). Used as "the release
 * just before `since`", which must reject a message.
 *
 * @since 0.1.0
 * @category getters
 */
export const releaseBefore = (version: SemVer | string): string | undefined => {
  const v = toVersion(version)
  let found: string | undefined
  parsedKnown.forEach((k, i) => {
    if (Version.compare(k, v) < 0) found = knownVersions[i]
  })
  return found
}

/**
 * Every version at which some variant was introduced, ascending.
 *
 * @since 0.1.0
 * @category getters
 */
export const changeVersions = (): ReadonlyArray<string> => {
  const set = new Set<string>()
  for (const variants of Object.values(variantHistory)) for (const v of variants) set.add(v.since)
  return [...set].sort((a, b) => Version.compare(toVersion(a), toVersion(b)))
}

/**
 * The variants introduced exactly at `version`, as `[enumName, index, name]`
 * in enum order then index order.
 *
 * @since 0.1.0
 * @category getters
 */
export const introducedAt = (
  version: SemVer | string
): ReadonlyArray<readonly [enumName: string, index: number, name: string]> => {
  const v = toVersion(version)
  const out: Array<readonly [string, number, string]> = []
  for (const name of enumNames) {
    const since = parsedSince[name] ?? []
    since.forEach((s, i) => {
      if (Version.compare(s, v) === 0) out.push([name, i, variantHistory[name]?.[i]?.name ?? ""])
    })
  }
  return out
}
