/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AgentConnection from "./AgentConnection.js"
/** @since 0.2.0 */
export * as AgentSession from "./AgentSession.js"
/** @since 0.1.0 */
export * as Diagnosis from "./Diagnosis.js"
/** @since 0.1.0 */
export * as Handshake from "./Handshake.js"
/** @since 0.2.0 */
export * as ByteDuplex from "./ByteDuplex.js"
