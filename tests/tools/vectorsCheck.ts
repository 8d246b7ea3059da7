/**
 * Checks the shared codec test vectors (../shared/vectors, format in its README.md) against the
 * codec: byte-exact decode/encode, canonical JSON both ways, exact invalid/incomplete
 * classification, streaming through `MessageChannel.decodeWith` under random chunkings, and the
 * per-version decoders (`decoderFor(since)` accepts, `decoderFor(releaseBefore(since))` rejects).
 *
 * Used by `pnpm vectors:check` (tests/tools/vectors-check.ts) and tests/protocol/vectors.test.ts.
 */
import * as Canonical from "@mirrord-effect/protocol/Canonical"
import * as Codec from "@mirrord-effect/protocol/Codec"
import type { Root } from "@mirrord-effect/protocol/Message"
import * as MessageChannel from "@mirrord-effect/protocol/MessageChannel"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { isDeepStrictEqual } from "node:util"
import * as Prng from "./prng.js"

/** The repository root (the folder holding `packages/` and `tests/`). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Where the shared vectors live next to the repository. */
export const defaultVectorsDir = path.resolve(repoRoot, "..", "shared", "vectors")

/** Every `*.jsonl` of a vectors folder, sorted (empty when the folder does not exist). */
export const vectorFiles = (dir: string = defaultVectorsDir): ReadonlyArray<string> =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort().map((f) => path.join(dir, f))
    : []

export interface Failure {
  readonly id: string
  readonly problems: ReadonlyArray<string>
}

export interface FileReport {
  readonly file: string
  readonly passed: number
  readonly failed: number
  readonly failures: ReadonlyArray<Failure>
}

/** The first few failures of a report, one line each, for a readable assertion message. */
export const describeFailures = (report: FileReport, max = 10): string =>
  report.failures.slice(0, max).map((f) => `${f.id}: ${f.problems.join("; ")}`).join("\n")

// ---------------------------------------------------------------------------------------------
// helpers

type Json = Canonical.Canonical
type Line = Readonly<Record<string, unknown>>

const fromHex = (hex: unknown): Uint8Array | undefined =>
  typeof hex === "string" && hex.length % 2 === 0 && /^[0-9a-f]*$/.test(hex)
    ? new Uint8Array(Buffer.from(hex, "hex"))
    : undefined

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

const isRoot = (r: unknown): r is Root => r === "ClientMessage" || r === "DaemonMessage"

const short = (s: string, n = 160): string => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s)

/** The first place where two canonical values differ, as a JSON path. */
const firstDifference = (a: unknown, b: unknown, at = "$"): string => {
  if (isDeepStrictEqual(a, b)) return ""
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    if (Array.isArray(a) !== Array.isArray(b)) return at
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of keys) {
      const d = firstDifference((a as any)[k], (b as any)[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`)
      if (d !== "") return d
    }
  }
  return `${at}: got ${short(JSON.stringify(a) ?? "undefined", 80)}, want ${short(JSON.stringify(b) ?? "undefined", 80)}`
}

const describeResult = (r: Codec.DecodeResult<unknown>): string =>
  r._tag === "Complete"
    ? `Complete(${r.bytesConsumed} bytes)`
    : r._tag === "Incomplete"
    ? `Incomplete(needed ${r.needed})`
    : `Invalid(${r.reason} at ${r.offset}: ${short(r.detail, 100)})`

/** Decodes a byte stream cut into `pieces`, grouped at random into channel inputs. */
const decodeThroughChannel = (
  root: Root,
  pieces: ReadonlyArray<Uint8Array>,
  rng: Prng.Prng
) => {
  const chunks: Array<Chunk.Chunk<Uint8Array>> = []
  for (let i = 0; i < pieces.length;) {
    const n = 1 + rng.int(3)
    chunks.push(Chunk.unsafeFromArray(pieces.slice(i, i + n)))
    i += n
  }
  return MessageChannel.decodeStream(Stream.fromChunks(...chunks), Codec.decoder(root)).pipe(
    Stream.runCollect,
    Effect.map((c) => Chunk.toReadonlyArray(c) as ReadonlyArray<any>),
    Effect.either
  )
}

/** The chunkings every stream is decoded under: whole, 1-byte pieces and random piece sizes. */
const chunkings = (bytes: Uint8Array, rng: Prng.Prng): ReadonlyArray<ReadonlyArray<Uint8Array>> => [
  [bytes],
  Prng.chunk(bytes, rng, 1),
  Prng.chunk(bytes, rng, 7),
  Prng.chunk(bytes, rng, 300),
  Prng.chunk(bytes, rng, Math.max(1, bytes.length >> 1))
]

// ---------------------------------------------------------------------------------------------
// per kind of vector

/** `variants`, `random-*` (want = hex) and `noncanonical` (want = reencoded_hex). */
const checkValid = (v: Line, root: Root, bytes: Uint8Array): Array<string> => {
  const problems: Array<string> = []
  const r = Codec.decoder(root).decode(bytes)
  if (r._tag !== "Complete") return [`decode: ${describeResult(r)}`]
  if (r.bytesConsumed !== bytes.length) problems.push(`consumed ${r.bytesConsumed} of ${bytes.length} bytes`)

  const canon = Canonical.toCanonical(root, r.message as never)
  if (!isDeepStrictEqual(canon, v.canon)) problems.push(`toCanonical differs at ${firstDifference(canon, v.canon)}`)

  const want = typeof v.reencoded_hex === "string" ? v.reencoded_hex : (v.hex as string)
  const reencoded = toHex(Codec.encode(root, r.message as never))
  if (reencoded !== want) problems.push(`encode(decode(hex)) = ${short(reencoded)}, want ${short(want)}`)

  const back = Canonical.fromCanonical(root, v.canon)
  if (Either.isLeft(back)) problems.push(`fromCanonical: ${back.left.message}`)
  else {
    const fromCanon = Codec.encode(root, back.right as never)
    if (toHex(fromCanon) !== want) problems.push(`encode(fromCanonical(canon)) = ${short(toHex(fromCanon))}, want ${short(want)}`)
    if (Codec.encodedSize(root, back.right as never) !== fromCanon.length) problems.push("encodedSize disagrees with encode")
  }

  if (typeof v.since === "string") problems.push(...checkSince(root, bytes, r.message, v.since))
  return problems
}

const checkSince = (root: Root, bytes: Uint8Array, message: unknown, since: string): Array<string> => {
  const problems: Array<string> = []
  const computed = Codec.sinceVersion(root, message as never)
  if (computed !== since) problems.push(`sinceVersion = ${computed}, want ${since}`)
  // the vectors are 1.29 encodings: `since` is about enum variants, not the HTTP rules of that era
  const atSince = Codec.decoderFor(since, root, { httpValidation: "newest" }).decode(bytes)
  if (atSince._tag !== "Complete") problems.push(`decoderFor(${since}): ${describeResult(atSince)}`)
  if (since !== "1.0.0") {
    const before = VariantHistory.releaseBefore(since)
    if (before === undefined) problems.push(`no release before ${since}`)
    else {
      const older = Codec.decoderFor(before, root, { httpValidation: "newest" }).decode(bytes)
      if (older._tag !== "Invalid" || older.reason !== "UnknownVariant") {
        problems.push(`decoderFor(${before}) should reject with UnknownVariant: ${describeResult(older)}`)
      }
    }
  }
  return problems
}

/** `invalid` / `incomplete`: the exact outcome class, directly and through the channel. */
const checkOutcome = (v: Line, root: Root, bytes: Uint8Array, rng: Prng.Prng) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const r = Codec.decoder(root).decode(bytes)
    if (v.outcome === "invalid") {
      if (r._tag !== "Invalid") problems.push(`want Invalid, got ${describeResult(r)}`)
      else if (typeof v.at === "number" && r.offset !== v.at) problems.push(`invalid element reported at byte ${r.offset}, want ${v.at}`)
    } else if (r._tag !== "Incomplete") problems.push(`want Incomplete, got ${describeResult(r)}`)

    const streamed = yield* decodeThroughChannel(root, Prng.chunk(bytes, rng, 1 + rng.int(16)), rng)
    if (Either.isRight(streamed)) problems.push(`channel: no error (${streamed.right.length} messages)`)
    else {
      const reason = streamed.left.reason
      if (v.outcome === "incomplete" && reason !== "Truncated") problems.push(`channel: ${reason}, want Truncated`)
      if (v.outcome === "invalid" && (reason === "Truncated" || (r._tag === "Invalid" && reason !== r.reason))) {
        problems.push(`channel: ${reason}, want ${r._tag === "Invalid" ? r.reason : "an invalid reason"}`)
      }
    }
    return problems
  })

interface Reference {
  readonly length: number
  readonly canon: Json
}

const referenceCache = new Map<string, ReadonlyMap<string, Reference>>()

/** Valid vectors of the folder by id (what `concatenated.jsonl` refers to). */
const referencesIn = (dir: string): ReadonlyMap<string, Reference> => {
  let refs = referenceCache.get(dir)
  if (refs === undefined) {
    const m = new Map<string, Reference>()
    for (const f of vectorFiles(dir)) {
      for (const line of readLines(f)) {
        const v = parseLine(line)
        if (v !== undefined && typeof v.id === "string" && typeof v.hex === "string" && "canon" in v && !("reencoded_hex" in v)) {
          m.set(v.id, { length: v.hex.length / 2, canon: v.canon as Json })
        }
      }
    }
    referenceCache.set(dir, (refs = m))
  }
  return refs
}

/** `concatenated`: message by message directly, then under several chunkings through the channel. */
const checkStream = (v: Line, root: Root, bytes: Uint8Array, dir: string, rng: Prng.Prng) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const ids = Array.isArray(v.ids) ? (v.ids as ReadonlyArray<string>) : []
    if (ids.length !== v.count) problems.push(`count ${String(v.count)} but ${ids.length} ids`)
    const refs = referencesIn(dir)
    const expected: Array<Reference> = []
    for (const id of ids) {
      const ref = refs.get(id)
      if (ref === undefined) problems.push(`referenced vector ${id} not found`)
      else expected.push(ref)
    }
    if (problems.length > 0) return problems

    const decoder = Codec.decoder(root)
    let offset = 0
    for (let i = 0; i < expected.length; i++) {
      const r = decoder.decode(bytes, offset)
      if (r._tag !== "Complete") {
        problems.push(`message ${i} at byte ${offset}: ${describeResult(r)}`)
        return problems
      }
      if (r.bytesConsumed !== expected[i]!.length) problems.push(`message ${i} consumed ${r.bytesConsumed}, want ${expected[i]!.length}`)
      const canon = Canonical.toCanonical(root, r.message as never)
      if (!isDeepStrictEqual(canon, expected[i]!.canon)) problems.push(`message ${i} differs at ${firstDifference(canon, expected[i]!.canon)}`)
      offset += r.bytesConsumed
    }
    if (offset !== bytes.length) problems.push(`${bytes.length - offset} bytes left after ${expected.length} messages`)

    for (const pieces of chunkings(bytes, rng)) {
      const streamed = yield* decodeThroughChannel(root, pieces, rng)
      const label = `channel (${pieces.length} pieces)`
      if (Either.isLeft(streamed)) problems.push(`${label}: ${streamed.left.message}`)
      else if (streamed.right.length !== expected.length) problems.push(`${label}: ${streamed.right.length} messages, want ${expected.length}`)
      else {
        streamed.right.forEach((m, i) => {
          const canon = Canonical.toCanonical(root, m)
          if (!isDeepStrictEqual(canon, expected[i]!.canon)) problems.push(`${label}: message ${i} differs at ${firstDifference(canon, expected[i]!.canon)}`)
        })
      }
    }
    return problems
  })

// ---------------------------------------------------------------------------------------------
// files

const readLines = (file: string): ReadonlyArray<string> =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim().length > 0)

const parseLine = (line: string): Line | undefined => {
  try {
    const v: unknown = JSON.parse(line)
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Line) : undefined
  } catch {
    return undefined
  }
}

const checkLine = (line: string, index: number, dir: string, fileSeed: number) =>
  Effect.gen(function*() {
    const v = parseLine(line)
    const id = typeof v?.id === "string" ? v.id : `line ${index + 1}`
    if (v === undefined) return { id, problems: ["not a JSON object"] }
    const root = v.root
    if (!isRoot(root)) return { id, problems: [`unknown root ${String(root)}`] }
    const bytes = fromHex(v.hex)
    if (bytes === undefined) return { id, problems: ["hex is not lowercase hex"] }
    const rng = Prng.make(fileSeed ^ Prng.seedOf(id))
    if (v.outcome === "invalid" || v.outcome === "incomplete") return { id, problems: yield* checkOutcome(v, root, bytes, rng) }
    if (Array.isArray(v.ids)) return { id, problems: yield* checkStream(v, root, bytes, dir, rng) }
    if ("canon" in v) return { id, problems: checkValid(v, root, bytes) }
    return { id, problems: ["unrecognised vector shape"] }
  })

/**
 * Checks every vector of one `.jsonl` file. Random chunkings derive from `seed` and each
 * vector's id, so a failure replays exactly.
 */
export const checkFile = (file: string, seed = 1): Effect.Effect<FileReport> =>
  Effect.gen(function*() {
    const dir = path.dirname(file)
    const failures: Array<Failure> = []
    let passed = 0
    const lines = readLines(file)
    for (let i = 0; i < lines.length; i++) {
      const r = yield* checkLine(lines[i]!, i, dir, seed)
      if (r.problems.length === 0) passed++
      else failures.push(r)
    }
    return { file, passed, failed: failures.length, failures }
  })
