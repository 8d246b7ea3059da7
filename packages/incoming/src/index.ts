/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as IncomingError from "./IncomingError.js"
/** @since 0.1.0 */
export * as IncomingProxy from "./IncomingProxy.js"
/** @since 0.1.0 */
export * as LocalHttp from "./LocalHttp.js"
/** @since 0.1.0 */
export * as LocalTcp from "./LocalTcp.js"
/** @since 0.1.0 */
export * as ResponseFraming from "./ResponseFraming.js"
/** @since 0.1.0 */
export * as Subscription from "./Subscription.js"
