/**
 * Protocol capabilities: one per version gate / feature of mirrord-protocol,
 * with the requirement that enables it, when its wire items became decodable,
 * and a generated capability matrix.
 *
 * @since 0.1.0
 */
import * as HttpValidation from "./HttpValidation.js"
import type { SemVer, VersionRequirement } from "./Version.js"
import * as Version from "./Version.js"
import * as VariantHistory from "./VariantHistory.js"

/**
 * A wire item, written `Enum::Variant` (1.29.0 variant names).
 *
 * @since 0.1.0
 * @category models
 */
export type WireItem = `${string}::${string}`

/**
 * One row of the capability table.
 *
 * @since 0.1.0
 * @category models
 */
export interface CapabilityInfo {
  readonly capability: Capability
  /** The requirement a peer's version must match for the capability to be used. */
  readonly requirement: VersionRequirement
  /** mirrord's `VersionReq` constant name, when the gate has one. */
  readonly constant: string | undefined
  /**
   * The first version whose enums contain every wire item (may be lower than
   * the requirement: `HttpResponseChunked` is decodable since 1.8.0 but gated
   * at 1.8.1). Equals the requirement's minimum for behaviour-only gates.
   */
  readonly decodableSince: string
  readonly description: string
  /** Enum variants the capability introduces; empty for behaviour-only gates. */
  readonly wireItems: ReadonlyArray<WireItem>
}

interface Row {
  readonly requirement: VersionRequirement
  readonly constant: boolean
  readonly decodableSince?: string
  readonly description: string
  readonly wireItems: ReadonlyArray<WireItem>
}

const gate = (
  requirement: VersionRequirement,
  description: string,
  wireItems: ReadonlyArray<WireItem>,
  decodableSince?: string
): Row =>
  decodableSince === undefined
    ? { requirement, constant: true, description, wireItems }
    : { requirement, constant: true, description, wireItems, decodableSince }

const implicit = (name: string, range: string, description: string, wireItems: ReadonlyArray<WireItem>): Row => ({
  requirement: Version.makeRequirement(name, range),
  constant: false,
  description,
  wireItems
})

const rows = {
  StealHeaderRegexFilter: implicit(
    "StealHeaderRegexFilter",
    ">=1.0.0",
    "Legacy steal subscription filtered by a header regex",
    ["StealType::FilteredHttp"]
  ),
  HttpFilterEx: implicit("HttpFilterEx", ">=1.1.0", "Steal filter by header or path (`HttpFilter`)", [
    "StealType::FilteredHttpEx",
    "HttpFilter::Header",
    "HttpFilter::Path"
  ]),
  BadHttpFilterExRegexError: implicit(
    "BadHttpFilterExRegexError",
    ">=1.2.0",
    "`BadHttpFilterExRegex` remote error",
    ["RemoteError::BadHttpFilterExRegex"]
  ),
  VersionNegotiation: implicit(
    "VersionNegotiation",
    ">=1.3.0",
    "Version negotiation; agents 1.3.0-1.5.5 echo the client's version",
    ["ClientMessage::SwitchProtocolVersion", "DaemonMessage::SwitchProtocolVersionResponse"]
  ),
  HttpFramed: gate(Version.HTTP_FRAMED_VERSION, "Framed HTTP requests and responses (body frames incl. trailers)", [
    "DaemonTcp::HttpRequestFramed",
    "LayerTcpSteal::HttpResponseFramed",
    "InternalHttpBodyFrame::Data",
    "InternalHttpBodyFrame::Trailers"
  ]),
  ReadyForLogs: gate(Version.CLIENT_READY_FOR_LOGS, "Client opts in to `LogMessage`s", [
    "ClientMessage::ReadyForLogs"
  ]),
  PolicyForbidden: implicit("PolicyForbidden", ">=1.4.0", "Policy `Forbidden` error (steal blocked)", [
    "ResponseError::Forbidden",
    "BlockedAction::Steal"
  ]),
  HttpFilteredUpgrade: gate(
    Version.HTTP_FILTERED_UPGRADE_VERSION,
    "`Data` may follow an HTTP request on the same connection (HTTP upgrades via filtered steal)",
    []
  ),
  MinNegotiation: implicit(
    "MinNegotiation",
    ">=1.6.0",
    "Agent answers `SwitchProtocolVersion` with min(agent, client) instead of echoing",
    []
  ),
  ReadLink: gate(Version.READLINK_VERSION, "readlink", ["FileRequest::ReadLink", "FileResponse::ReadLink"]),
  StripPrefixError: implicit("StripPrefixError", ">=1.6.0", "`StripPrefix` error", ["ResponseError::StripPrefix"]),
  HttpChunkedRequest: gate(Version.HTTP_CHUNKED_REQUEST_VERSION, "Chunked (streamed) HTTP requests", [
    "DaemonTcp::HttpRequestChunked",
    "ChunkedRequest::StartV1",
    "ChunkedRequest::Body",
    "ChunkedRequest::ErrorV1"
  ]),
  HttpChunkedResponse: gate(
    Version.HTTP_CHUNKED_RESPONSE_VERSION,
    "Chunked (streamed) HTTP responses; decodable by 1.8.0 but only sent to >=1.8.1",
    ["LayerTcpSteal::HttpResponseChunked", "ChunkedResponse::Start", "ChunkedResponse::Body", "ChunkedResponse::Error"],
    "1.8.0"
  ),
  ReadDirBatch: gate(Version.READDIR_BATCH_VERSION, "Batched readdir", [
    "FileRequest::ReadDirBatch",
    "FileResponse::ReadDirBatch"
  ]),
  Vpn: implicit("Vpn", ">=1.10.0", "VPN messages (gated by the vpn crate's `MINIMAL_PROTOCOL_VERSION`)", [
    "ClientMessage::Vpn",
    "DaemonMessage::Vpn"
  ]),
  CompositeFilter: gate(Version.HTTP_COMPOSITE_FILTER_VERSION, "Composite (all/any) HTTP filter", [
    "HttpFilter::Composite"
  ]),
  DnsErrorKindsNotFoundPermissionDenied: implicit(
    "DnsErrorKindsNotFoundPermissionDenied",
    ">=1.11.6",
    "DNS error kinds `NotFound` / `PermissionDenied`",
    ["ResolveErrorKindInternal::NotFound", "ResolveErrorKindInternal::PermissionDenied"]
  ),
  MirrorBlock: gate(Version.MIRROR_BLOCK_VERSION, "Policy block of mirroring", ["BlockedAction::Mirror"]),
  MakeDir: gate(Version.MKDIR_VERSION, "mkdir / mkdirat", [
    "FileRequest::MakeDir",
    "FileRequest::MakeDirAt",
    "FileResponse::MakeDir"
  ]),
  OpenLocal: gate(Version.OPEN_LOCAL_VERSION, "\"Open locally\" policy error", ["ResponseError::OpenLocal"]),
  InfoLog: gate(Version.INFO_LOG_VERSION, "`Info` log level", ["LogLevel::Info"]),
  RemoveDir: gate(Version.RMDIR_VERSION, "rmdir / unlink / unlinkat", [
    "FileRequest::RemoveDir",
    "FileRequest::Unlink",
    "FileRequest::UnlinkAt",
    "FileResponse::RemoveDir",
    "FileResponse::Unlink"
  ]),
  AddrInfoV2: gate(Version.ADDRINFO_V2_VERSION, "getaddrinfo V2 (address family, socket type)", [
    "ClientMessage::GetAddrInfoRequestV2"
  ]),
  StatFs: gate(Version.STATFS_VERSION, "statfs", ["FileRequest::StatFs"]),
  MirrorPolicyReason: gate(Version.MIRROR_POLICY_REASON_VERSION, "Forbidden error with a reason", [
    "ResponseError::ForbiddenWithReason"
  ]),
  StatFsV2: gate(Version.STATFS_V2_VERSION, "statfs / fstatfs V2", [
    "FileRequest::XstatFsV2",
    "FileRequest::StatFsV2",
    "FileResponse::XstatFsV2"
  ]),
  HttpChunkedRequestV2: gate(
    Version.HTTP_CHUNKED_REQUEST_V2_VERSION,
    "HTTP request metadata and TLS transport; HTTP stolen from TLS connections",
    ["ChunkedRequest::StartV2", "ChunkedRequest::ErrorV2"]
  ),
  ModeAgnosticHttpRequests: gate(
    Version.MODE_AGNOSTIC_HTTP_REQUESTS,
    "`NewConnectionV2`; HTTP requests in mirror mode and for unfiltered steal",
    ["DaemonTcp::NewConnectionV2"]
  ),
  OperatorLatencyPingPong: gate(Version.MIRRORD_OPERATOR_LATENCY_PING_PONG, "Operator latency ping / pong", [
    "DaemonMessage::OperatorPing",
    "ClientMessage::OperatorPong"
  ]),
  MethodFilter: gate(Version.HTTP_METHOD_FILTER_VERSION, "HTTP method filter", ["HttpFilter::Method"]),
  Rename: gate(Version.RENAME_VERSION, "rename", ["FileRequest::Rename", "FileResponse::Rename"]),
  MirrorHttpFilter: gate(Version.MIRROR_HTTP_FILTER_VERSION, "HTTP filter when mirroring", [
    "LayerTcp::PortSubscribeFilteredHttp"
  ]),
  OutgoingConnectV2: gate(Version.OUTGOING_CONNECT_V2, "Outgoing connect V2 (client-chosen uid)", [
    "LayerTcpOutgoing::ConnectV2",
    "LayerUdpOutgoing::ConnectV2",
    "DaemonTcpOutgoing::ConnectV2",
    "DaemonUdpOutgoing::ConnectV2"
  ]),
  BodyJsonFilter: gate(Version.HTTP_BODY_JSON_FILTER_VERSION, "JSON body HTTP filter", ["HttpFilter::Body"]),
  CopyFile: gate(Version.COPYFILE_VERSION, "ftruncate / futimens / fchown / fchmod", [
    "FileRequest::Ftruncate",
    "FileRequest::Futimens",
    "FileRequest::Fchown",
    "FileRequest::Fchmod",
    "FileResponse::Ftruncate",
    "FileResponse::Futimens",
    "FileResponse::Fchown",
    "FileResponse::Fchmod"
  ]),
  ReverseDns: gate(Version.REVERSE_DNS_VERSION, "Reverse DNS lookup", [
    "ClientMessage::ReverseDnsLookup",
    "DaemonMessage::ReverseDnsLookup"
  ]),
  OutgoingPolicyBlock: implicit("OutgoingPolicyBlock", ">=1.25.0", "Policy block of outgoing TCP / UDP", [
    "BlockedAction::OutgoingTcp",
    "BlockedAction::OutgoingUdp"
  ]),
  HeaderJqFilter: gate(Version.HTTP_HEADER_JQ_FILTER_VERSION, "jq filter on HTTP header values", [
    "HttpFilter::HeaderJq"
  ]),
  OutgoingSeqpacket: gate(Version.OUTGOING_SEQPACKET, "Outgoing unix `SOCK_SEQPACKET`", [
    "ClientMessage::SeqpacketOutgoing",
    "DaemonMessage::SeqpacketOutgoing"
  ]),
  SystemFailure: gate(Version.SYSTEM_FAILURE_VERSION, "Retryable `SystemFailure` error", [
    "ResponseError::SystemFailure"
  ]),
  ShareLink: gate(Version.SHARE_LINK_VERSION, "Share-link session keys (operator to agent)", [
    "ClientMessage::ShareLink"
  ])
} satisfies Record<string, Row>

/**
 * A protocol capability (one per version gate or feature of
 * version-history.md §1 and §5).
 *
 * @since 0.1.0
 * @category models
 */
export type Capability = keyof typeof rows

/**
 * The capability table, ordered by required version.
 *
 * @since 0.1.0
 * @category data
 */
export const capabilityTable: ReadonlyArray<CapabilityInfo> = (Object.keys(rows) as Array<Capability>)
  .map((capability): CapabilityInfo => {
    const row: Row = rows[capability]
    return {
      capability,
      requirement: row.requirement,
      constant: row.constant ? row.requirement.name : undefined,
      decodableSince: row.decodableSince ?? Version.format(row.requirement.minimum),
      description: row.description,
      wireItems: row.wireItems
    }
  })
  .map((info, i) => [info, i] as const)
  .sort(([a, i], [b, j]) => Version.compare(a.requirement.minimum, b.requirement.minimum) || i - j)
  .map(([info]) => info)

/**
 * Every capability, ordered by required version.
 *
 * @since 0.1.0
 * @category data
 */
export const capabilities: ReadonlyArray<Capability> = capabilityTable.map((c) => c.capability)

const byName: ReadonlyMap<Capability, CapabilityInfo> = new Map(capabilityTable.map((c) => [c.capability, c]))

/**
 * The table row of a capability.
 *
 * @since 0.1.0
 * @category getters
 */
export const info = (capability: Capability): CapabilityInfo => byName.get(capability)!

/**
 * The requirement of a capability.
 *
 * @since 0.1.0
 * @category getters
 */
export const requirementOf = (capability: Capability): VersionRequirement => info(capability).requirement

/**
 * Whether a peer of `version` supports `capability` (Rust `VersionReq`
 * semantics; an invalid version string supports nothing).
 *
 * @since 0.1.0
 * @category predicates
 */
export const supports = (version: SemVer | string, capability: Capability): boolean =>
  info(capability).requirement.matches(version)

/**
 * Every capability supported at `version`, ordered by required version.
 *
 * @since 0.1.0
 * @category getters
 */
export const capabilitiesAt = (version: SemVer | string): ReadonlyArray<Capability> =>
  capabilities.filter((c) => supports(version, c))

/**
 * Every version at which something changes: the minimum of every capability
 * requirement and every version that introduced an enum variant, ascending.
 *
 * @since 0.1.0
 * @category getters
 */
export const changeVersions = (): ReadonlyArray<string> => {
  const all = new Map<string, SemVer>()
  for (const c of capabilityTable) all.set(Version.format(c.requirement.minimum), c.requirement.minimum)
  for (const v of VariantHistory.changeVersions()) all.set(v, Version.unsafeParseVersion(v))
  return [...all.entries()].sort(([, a], [, b]) => Version.compare(a, b)).map(([s]) => s)
}

const code = (s: string): string => `\`${s}\``

const variantsAddedCell = (version: string): string => {
  const added = VariantHistory.introducedAt(version)
  if (version === "1.0.0") {
    const enums = new Set(added.map(([e]) => e))
    return `baseline: ${added.length} variants in ${enums.size} enums`
  }
  const groups = new Map<string, Array<readonly [number, string]>>()
  for (const [e, i, n] of added) {
    const g = groups.get(e) ?? []
    g.push([i, n])
    groups.set(e, g)
  }
  const parts: Array<string> = []
  for (const [e, g] of groups) {
    if (g[0]?.[0] === 0) {
      parts.push(`${code(e)} (new enum: ${g.map(([, n]) => n).join(", ")})`)
    } else {
      parts.push(`${code(e)} ${g.map(([i, n]) => `[${i}] ${n}`).join(", ")}`)
    }
  }
  return parts.length === 0 ? "–" : parts.join("<br>")
}

/**
 * Renders the capability matrix as Markdown (the content of
 * `docs/capabilities.md`): a per-version timeline with the capabilities gained
 * and the enum variants added, a ✓/– support grid, the capability
 * reference table and the HTTP validation of each era (`HttpValidation`).
 *
 * @since 0.1.0
 * @category rendering
 */
export const capabilityMatrixMarkdown = (): string => {
  const versions = changeVersions()
  const out: Array<string> = []
  out.push("# mirrord-protocol capability matrix")
  out.push("")
  out.push(
    "<!-- GENERATED by `pnpm docs:capabilities` from packages/protocol/src/Capability.ts. Do not edit by hand. -->"
  )
  out.push("")
  out.push(
    `Protocol implemented: **${Version.VERSION_STRING}**. Client version an agent assumes before negotiation: ` +
      `**${Version.format(Version.CLIENT_DEFAULT_VERSION)}**.`
  )
  out.push("")
  out.push(
    "Requirements follow Rust `semver::VersionReq` semantics: a pre-release (e.g. `1.9.0-rc.1`) satisfies no " +
      "`>=X.Y.Z` gate of another `X.Y.Z`. \"Decodable since\" is when the wire items first exist in the enums; " +
      "an agent older than that drops the connection on them."
  )
  out.push("")
  out.push("## Timeline")
  out.push("")
  out.push("Every version where a capability starts or an enum variant is added.")
  out.push("")
  out.push("| Version | Capabilities gained | Variants added |")
  out.push("|---|---|---|")
  for (const v of versions) {
    const gained = capabilityTable
      .filter((c) => Version.format(c.requirement.minimum) === v)
      .map((c) => code(c.capability))
    out.push(`| ${v} | ${gained.length === 0 ? "–" : gained.join(", ")} | ${variantsAddedCell(v)} |`)
  }
  out.push("")
  out.push("## Support grid")
  out.push("")
  out.push("✓ = a peer reporting that version supports the capability; – = it does not.")
  out.push("")
  out.push(`| Capability | ${versions.join(" | ")} |`)
  out.push(`|---|${versions.map(() => ":-:").join("|")}|`)
  for (const c of capabilityTable) {
    const cells = versions.map((v) => (c.requirement.matches(v) ? "✓" : "–"))
    out.push(`| ${code(c.capability)} | ${cells.join(" | ")} |`)
  }
  out.push("")
  out.push("## Capabilities")
  out.push("")
  out.push("| Capability | Requirement | mirrord constant | Decodable since | Wire items | Description |")
  out.push("|---|---|---|---|---|---|")
  for (const c of capabilityTable) {
    const wire = c.wireItems.length === 0 ? "behaviour only" : c.wireItems.map(code).join(", ")
    out.push(
      `| ${code(c.capability)} | ${code(c.requirement.range)} | ${c.constant === undefined ? "–" : code(c.constant)} | ` +
        `${c.decodableSince} | ${wire} | ${c.description} |`
    )
  }
  out.push("")
  out.push(HttpValidation.erasMarkdown())
  return out.join("\n")
}
