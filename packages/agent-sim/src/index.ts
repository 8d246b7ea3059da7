/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AgentSim from "./AgentSim.js"
/** @since 0.1.0 */
export * as AgentSimError from "./AgentSimError.js"
/** @since 0.1.0 */
export * as HttpFilterMatch from "./HttpFilterMatch.js"
/** @since 0.1.0 */
export * as HttpFront from "./HttpFront.js"
/** @since 0.1.0 */
export * as MessageReader from "./MessageReader.js"
/** @since 0.1.0 */
export * as Negotiation from "./Negotiation.js"
/** @since 0.1.0 */
export * as Recording from "./Recording.js"
/** @since 0.1.0 */
export * as ResponseEvent from "./ResponseEvent.js"
/** @since 0.1.0 */
export * as TcpDuplex from "./TcpDuplex.js"
