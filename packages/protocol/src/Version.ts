/**
 * Protocol versions and the version-requirement constants of mirrord-protocol.
 *
 * Versions are `semver` `SemVer` instances. Requirements are `semver` `Range`s
 * evaluated with the default (non-`includePrerelease`) semantics, which agree
 * with Rust's `semver::VersionReq::matches`: a pre-release version only
 * satisfies a comparator that itself names a pre-release of the same
 * `major.minor.patch` (so `1.9.0-rc.1` does not satisfy `>=1.8.1`).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { compareBuild, Range, SemVer as SemVerClass } from "semver"

/**
 * A parsed semantic version (the `semver` package's `SemVer` class).
 *
 * @since 0.1.0
 * @category models
 */
export type SemVer = SemVerClass

/**
 * The `semver` package's `SemVer` class (for `instanceof` checks).
 *
 * @since 0.1.0
 * @category models
 */
export const SemVer: typeof SemVerClass = SemVerClass

/**
 * Raised when a string is not a strict semantic version.
 *
 * @since 0.1.0
 * @category errors
 */
export class VersionParseError extends Data.TaggedError("VersionParseError")<{
  readonly input: string
  readonly reason: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `invalid protocol version ${JSON.stringify(this.input)}: ${this.reason}`
  }
}

const numeric = "(?:0|[1-9]\\d*)"
const preIdent = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)"
const buildIdent = "[0-9A-Za-z-]+"
const STRICT = new RegExp(
  `^(${numeric})\\.(${numeric})\\.(${numeric})` +
    `(?:-(${preIdent}(?:\\.${preIdent})*))?` +
    `(?:\\+(${buildIdent}(?:\\.${buildIdent})*))?$`
)

const explain = (input: string): string => {
  if (input.length === 0) return "empty string"
  if (input.trim() !== input) return "leading or trailing whitespace"
  if (/^[vV=]/.test(input)) return "unexpected prefix (no 'v' or '=' allowed)"
  const core = input.split(/[-+]/, 1)[0] ?? ""
  const parts = core.split(".")
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p))) {
    return "expected MAJOR.MINOR.PATCH with numeric components"
  }
  if (parts.some((p) => p.length > 1 && p.startsWith("0"))) return "leading zero in a numeric component"
  return "invalid pre-release or build metadata"
}

/**
 * Parses a version strictly, like Rust's `semver::Version::parse`: exactly
 * `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no `v`/`=` prefix, no surrounding
 * whitespace, no leading zeros in numeric components or numeric pre-release
 * identifiers. (Components above `Number.MAX_SAFE_INTEGER` are rejected too,
 * where Rust would accept up to `u64::MAX`.)
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseVersion = (input: string): Either.Either<SemVer, VersionParseError> => {
  if (!STRICT.test(input)) return Either.left(new VersionParseError({ input, reason: explain(input) }))
  try {
    return Either.right(new SemVerClass(input))
  } catch (cause) {
    return Either.left(new VersionParseError({ input, reason: cause instanceof Error ? cause.message : String(cause) }))
  }
}

/**
 * Parses a version strictly, throwing a `VersionParseError` on invalid input.
 * Intended for literals known to be valid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeParseVersion = (input: string): SemVer =>
  Either.getOrThrowWith(parseVersion(input), (e) => e)

/**
 * Accepts a `SemVer` or a strict version string; `undefined` when the string
 * is not a valid version.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toSemVer = (version: SemVer | string): SemVer | undefined =>
  typeof version === "string" ? Either.getOrUndefined(parseVersion(version)) : version

/**
 * Renders a version including its build metadata (like Rust's `Display`);
 * `SemVer#format()` drops the build metadata.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (version: SemVer): string => {
  const core = `${version.major}.${version.minor}.${version.patch}`
  const pre = version.prerelease.length > 0 ? `-${version.prerelease.join(".")}` : ""
  const build = version.build.length > 0 ? `+${version.build.join(".")}` : ""
  return core + pre + build
}

/**
 * Total order on versions, like Rust's `Ord for semver::Version`: major,
 * minor, patch, then pre-release (a pre-release sorts before its release),
 * then build metadata as a final tie-breaker.
 *
 * @since 0.1.0
 * @category utils
 */
export const compare = (self: SemVer, that: SemVer): -1 | 0 | 1 => compareBuild(self, that)

/**
 * The lower of two versions (the first one when they are equal), as the
 * agent computes `min(agent version, client version)`.
 *
 * @since 0.1.0
 * @category utils
 */
export const min = (self: SemVer, that: SemVer): SemVer => (compare(that, self) < 0 ? that : self)

/**
 * The higher of two versions (the first one when they are equal).
 *
 * @since 0.1.0
 * @category utils
 */
export const max = (self: SemVer, that: SemVer): SemVer => (compare(that, self) > 0 ? that : self)

/**
 * Parses a version literal for a shared constant. (`SemVer` instances cannot
 * be frozen: `SemVer#format` writes to the instance. Treat them as immutable.)
 */
const frozen = (input: string): SemVer => unsafeParseVersion(input)

/**
 * A version requirement, the counterpart of mirrord's `LazyLock<VersionReq>`
 * constants.
 *
 * @since 0.1.0
 * @category models
 */
export interface VersionRequirement {
  /** mirrord's constant name, or a descriptive name for implicit gates. */
  readonly name: string
  /** The requirement as written, e.g. `">=1.8.1"`. */
  readonly range: string
  /** The parsed `semver` range. */
  readonly req: Range
  /** The lowest release version that satisfies the requirement. */
  readonly minimum: SemVer
  /**
   * Rust `VersionReq::matches` semantics. A string is parsed strictly; an
   * invalid string matches nothing.
   */
  readonly matches: (version: SemVer | string) => boolean
}

/**
 * Builds a requirement of the form `>=X.Y.Z`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRequirement = (name: string, range: string): VersionRequirement => {
  const req = new Range(range)
  const lower = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range.trim())
  if (lower === null || lower[1] === undefined) {
    throw new Error(`makeRequirement(${name}): only ">=X.Y.Z" requirements are supported, got ${JSON.stringify(range)}`)
  }
  const minimum = frozen(lower[1])
  return Object.freeze({
    name,
    range,
    req,
    minimum,
    matches: (version: SemVer | string): boolean => {
      const v = toSemVer(version)
      return v !== undefined && req.test(v)
    }
  })
}

/**
 * The protocol version this implementation speaks (mirrord-protocol 1.29.0),
 * as a string.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION_STRING = "1.29.0" as const

/**
 * The protocol version this implementation speaks (mirrord's `VERSION`),
 * parsed.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION: SemVer = frozen(VERSION_STRING)

/**
 * The client version an agent assumes before any `SwitchProtocolVersion`
 * ("the last version that did not support version negotiation").
 *
 * @since 0.1.0
 * @category constants
 */
export const CLIENT_DEFAULT_VERSION: SemVer = frozen("1.2.2")

/**
 * `DaemonTcp::HttpRequestFramed` and `LayerTcpSteal::HttpResponseFramed`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_FRAMED_VERSION: VersionRequirement = makeRequirement("HTTP_FRAMED_VERSION", ">=1.3.0")

/**
 * `DaemonTcp::HttpRequestChunked`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_CHUNKED_REQUEST_VERSION: VersionRequirement = makeRequirement(
  "HTTP_CHUNKED_REQUEST_VERSION",
  ">=1.7.0"
)

/**
 * `LayerTcpSteal::HttpResponseChunked` (decodable since 1.8.0, but only sent
 * to agents `>=1.8.1`).
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_CHUNKED_RESPONSE_VERSION: VersionRequirement = makeRequirement(
  "HTTP_CHUNKED_RESPONSE_VERSION",
  ">=1.8.1"
)

/**
 * `ChunkedRequest::StartV2` / `ChunkedRequest::ErrorV2`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_CHUNKED_REQUEST_V2_VERSION: VersionRequirement = makeRequirement(
  "HTTP_CHUNKED_REQUEST_V2_VERSION",
  ">=1.19.0"
)

/**
 * `DaemonTcp::Data` may follow an HTTP request on the same connection
 * (HTTP upgrades through a filtered steal).
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_FILTERED_UPGRADE_VERSION: VersionRequirement = makeRequirement(
  "HTTP_FILTERED_UPGRADE_VERSION",
  ">=1.5.0"
)

/**
 * `HttpFilter::Composite`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_COMPOSITE_FILTER_VERSION: VersionRequirement = makeRequirement(
  "HTTP_COMPOSITE_FILTER_VERSION",
  ">=1.11.0"
)

/**
 * `HttpFilter::Method`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_METHOD_FILTER_VERSION: VersionRequirement = makeRequirement(
  "HTTP_METHOD_FILTER_VERSION",
  ">=1.20.0"
)

/**
 * `HttpFilter::Body` (JSON body filter).
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_BODY_JSON_FILTER_VERSION: VersionRequirement = makeRequirement(
  "HTTP_BODY_JSON_FILTER_VERSION",
  ">=1.23.0"
)

/**
 * `HttpFilter::HeaderJq`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const HTTP_HEADER_JQ_FILTER_VERSION: VersionRequirement = makeRequirement(
  "HTTP_HEADER_JQ_FILTER_VERSION",
  ">=1.26.0"
)

/**
 * `DaemonTcp::NewConnectionV2`, HTTP requests in mirror mode and HTTP
 * requests for unfiltered steal subscriptions.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MODE_AGNOSTIC_HTTP_REQUESTS: VersionRequirement = makeRequirement(
  "MODE_AGNOSTIC_HTTP_REQUESTS",
  ">=1.19.4"
)

/**
 * `LayerTcp::PortSubscribeFilteredHttp`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MIRROR_HTTP_FILTER_VERSION: VersionRequirement = makeRequirement(
  "MIRROR_HTTP_FILTER_VERSION",
  ">=1.21.1"
)

/**
 * `ClientMessage::ReadyForLogs`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const CLIENT_READY_FOR_LOGS: VersionRequirement = makeRequirement("CLIENT_READY_FOR_LOGS", ">=1.3.1")

/**
 * `LogLevel::Info`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const INFO_LOG_VERSION: VersionRequirement = makeRequirement("INFO_LOG_VERSION", ">=1.13.4")

/**
 * `ClientMessage::GetAddrInfoRequestV2`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const ADDRINFO_V2_VERSION: VersionRequirement = makeRequirement("ADDRINFO_V2_VERSION", ">=1.15.0")

/**
 * `ClientMessage::ReverseDnsLookup`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const REVERSE_DNS_VERSION: VersionRequirement = makeRequirement("REVERSE_DNS_VERSION", ">=1.25.0")

/**
 * `BlockedAction::Mirror`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MIRROR_BLOCK_VERSION: VersionRequirement = makeRequirement("MIRROR_BLOCK_VERSION", ">=1.12.0")

/**
 * `ResponseError::ForbiddenWithReason`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MIRROR_POLICY_REASON_VERSION: VersionRequirement = makeRequirement(
  "MIRROR_POLICY_REASON_VERSION",
  ">=1.17.0"
)

/**
 * The client can decode `ResponseError::SystemFailure`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const SYSTEM_FAILURE_VERSION: VersionRequirement = makeRequirement("SYSTEM_FAILURE_VERSION", ">=1.28.0")

/**
 * `FileRequest::ReadLink`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const READLINK_VERSION: VersionRequirement = makeRequirement("READLINK_VERSION", ">=1.6.0")

/**
 * `FileRequest::ReadDirBatch`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const READDIR_BATCH_VERSION: VersionRequirement = makeRequirement("READDIR_BATCH_VERSION", ">=1.9.0")

/**
 * `FileRequest::MakeDir` / `FileRequest::MakeDirAt`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MKDIR_VERSION: VersionRequirement = makeRequirement("MKDIR_VERSION", ">=1.13.0")

/**
 * `FileRequest::RemoveDir` / `Unlink` / `UnlinkAt`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const RMDIR_VERSION: VersionRequirement = makeRequirement("RMDIR_VERSION", ">=1.14.0")

/**
 * `ResponseError::OpenLocal`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const OPEN_LOCAL_VERSION: VersionRequirement = makeRequirement("OPEN_LOCAL_VERSION", ">=1.13.3")

/**
 * `FileRequest::StatFs`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const STATFS_VERSION: VersionRequirement = makeRequirement("STATFS_VERSION", ">=1.16.0")

/**
 * `FileRequest::XstatFsV2` / `StatFsV2` and `FileResponse::XstatFsV2`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const STATFS_V2_VERSION: VersionRequirement = makeRequirement("STATFS_V2_VERSION", ">=1.18.0")

/**
 * `FileRequest::Rename`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const RENAME_VERSION: VersionRequirement = makeRequirement("RENAME_VERSION", ">=1.21.0")

/**
 * `FileRequest::Ftruncate` / `Futimens` / `Fchown` / `Fchmod`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const COPYFILE_VERSION: VersionRequirement = makeRequirement("COPYFILE_VERSION", ">=1.24.0")

/**
 * `DaemonMessage::OperatorPing` / `ClientMessage::OperatorPong`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const MIRRORD_OPERATOR_LATENCY_PING_PONG: VersionRequirement = makeRequirement(
  "MIRRORD_OPERATOR_LATENCY_PING_PONG",
  ">=1.19.8"
)

/**
 * The `ConnectV2` variants of the outgoing TCP/UDP enums.
 *
 * @since 0.1.0
 * @category requirements
 */
export const OUTGOING_CONNECT_V2: VersionRequirement = makeRequirement("OUTGOING_CONNECT_V2", ">=1.22.0")

/**
 * Unix `SOCK_SEQPACKET` outgoing (`SeqpacketOutgoing`).
 *
 * @since 0.1.0
 * @category requirements
 */
export const OUTGOING_SEQPACKET: VersionRequirement = makeRequirement("OUTGOING_SEQPACKET", ">=1.27.0")

/**
 * `ClientMessage::ShareLink`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const SHARE_LINK_VERSION: VersionRequirement = makeRequirement("SHARE_LINK_VERSION", ">=1.29.0")

/**
 * Every mirrord-protocol `VersionReq` constant, in the order of the spec.
 *
 * @since 0.1.0
 * @category requirements
 */
export const requirements: ReadonlyArray<VersionRequirement> = [
  HTTP_FRAMED_VERSION,
  HTTP_CHUNKED_REQUEST_VERSION,
  HTTP_CHUNKED_RESPONSE_VERSION,
  HTTP_CHUNKED_REQUEST_V2_VERSION,
  HTTP_FILTERED_UPGRADE_VERSION,
  HTTP_COMPOSITE_FILTER_VERSION,
  HTTP_METHOD_FILTER_VERSION,
  HTTP_BODY_JSON_FILTER_VERSION,
  HTTP_HEADER_JQ_FILTER_VERSION,
  MODE_AGNOSTIC_HTTP_REQUESTS,
  MIRROR_HTTP_FILTER_VERSION,
  CLIENT_READY_FOR_LOGS,
  INFO_LOG_VERSION,
  ADDRINFO_V2_VERSION,
  REVERSE_DNS_VERSION,
  MIRROR_BLOCK_VERSION,
  MIRROR_POLICY_REASON_VERSION,
  SYSTEM_FAILURE_VERSION,
  READLINK_VERSION,
  READDIR_BATCH_VERSION,
  MKDIR_VERSION,
  RMDIR_VERSION,
  OPEN_LOCAL_VERSION,
  STATFS_VERSION,
  STATFS_V2_VERSION,
  RENAME_VERSION,
  COPYFILE_VERSION,
  MIRRORD_OPERATOR_LATENCY_PING_PONG,
  OUTGOING_CONNECT_V2,
  OUTGOING_SEQPACKET,
  SHARE_LINK_VERSION
]

/**
 * A strict semantic-version string (`"1.8.1"`, `"1.9.0-rc.1"`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const VersionString: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter((s) => Either.isRight(parseVersion(s)) || `expected a strict semantic version, got ${JSON.stringify(s)}`),
  Schema.annotations({ identifier: "VersionString" })
)

/**
 * A `SemVer` instance.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SemVerFromSelf: Schema.Schema<SemVer> = Schema.instanceOf(SemVerClass).annotations({
  identifier: "SemVer"
})

/**
 * Decodes a strict semantic-version string into a `SemVer` and encodes it
 * back (build metadata included). This is the form in which
 * `SwitchProtocolVersion` carries its version on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SemVerFromString: Schema.Schema<SemVer, string> = Schema.transformOrFail(
  Schema.String,
  SemVerFromSelf,
  {
    strict: true,
    decode: (s, _, ast) =>
      Either.match(parseVersion(s), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, s, e.message)),
        onRight: (v) => ParseResult.succeed(v)
      }),
    encode: (v) => ParseResult.succeed(format(v))
  }
).annotations({ identifier: "SemVerFromString" })
