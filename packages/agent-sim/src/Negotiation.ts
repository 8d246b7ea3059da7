/**
 * Era-correct protocol negotiation and variant selection of a real mirrord agent
 * (version-history.md §3–4, incoming-behaviour.md §3.1), as pure functions.
 *
 * @since 0.1.0
 */
import * as Version from "@mirrord-effect/protocol/Version"

type SemVer = Version.SemVer

/**
 * What a HEAD agent assumes about a client that has not sent `SwitchProtocolVersion`: the last
 * version without negotiation.
 *
 * @since 0.1.0
 * @category constants
 */
export const CLIENT_VERSION_BEFORE_NEGOTIATION: SemVer = Version.CLIENT_DEFAULT_VERSION

/**
 * Agents from 1.6.0 answer `min(agent, client)`; 1.3.0–1.5.5 echoed the client's version.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_OF_VERSIONS_ANSWER: Version.VersionRequirement = Version.makeRequirement(
  "MIN_OF_VERSIONS_ANSWER",
  ">=1.6.0"
)

/**
 * The version a simulated agent of `agent` answers to `SwitchProtocolVersion(client)`.
 * (Below 1.3.0 there is no answer: the message is undecodable and the connection is dropped.)
 *
 * @since 0.1.0
 * @category negotiation
 */
export const answerTo = (agent: SemVer, client: SemVer): SemVer =>
  MIN_OF_VERSIONS_ANSWER.matches(agent) ? Version.min(agent, client) : client

/**
 * The version that gates what the agent sends to a client: `min(agent, client)`, the client
 * counting as 1.2.2 until it negotiates. The agent never sends a variant newer than itself, and
 * never one the client cannot decode.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const effectiveVersion = (agent: SemVer, client: SemVer | undefined): SemVer =>
  Version.min(agent, client ?? CLIENT_VERSION_BEFORE_NEGOTIATION)

/**
 * How a stolen HTTP request is sent.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestVariant = "HttpRequest" | "HttpRequestFramed" | "ChunkedStartV1" | "ChunkedStartV2"

/**
 * The request variant an agent uses for a client of effective version `v` (incoming-behaviour.md
 * §3.1): legacy below 1.3.0, Framed to 1.6.x (both buffer the body), `StartV1` to 1.18.x,
 * `StartV2` from 1.19.0.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const requestVariantFor = (v: SemVer): RequestVariant =>
  Version.HTTP_CHUNKED_REQUEST_V2_VERSION.matches(v)
    ? "ChunkedStartV2"
    : Version.HTTP_CHUNKED_REQUEST_VERSION.matches(v)
    ? "ChunkedStartV1"
    : Version.HTTP_FRAMED_VERSION.matches(v)
    ? "HttpRequestFramed"
    : "HttpRequest"

/**
 * HTTP on an unfiltered (`StealType::All`) steal, and mirrored HTTP, need 1.19.4; older
 * clients are passed through.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const deliversModeAgnosticHttp = (v: SemVer): boolean => Version.MODE_AGNOSTIC_HTTP_REQUESTS.matches(v)

/**
 * A filtered request carrying an `Upgrade` header needs 1.5.0; older clients are passed through.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const deliversFilteredUpgrade = (v: SemVer): boolean => Version.HTTP_FILTERED_UPGRADE_VERSION.matches(v)

/**
 * `NewConnectionV2` (transport Tcp) from 1.19.4, `NewConnectionV1` before.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const newConnectionVariantFor = (v: SemVer): "NewConnectionV1" | "NewConnectionV2" =>
  Version.MODE_AGNOSTIC_HTTP_REQUESTS.matches(v) ? "NewConnectionV2" : "NewConnectionV1"
