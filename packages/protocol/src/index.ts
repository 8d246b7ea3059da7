/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Canonical from "./Canonical.js"
/** @since 0.1.0 */
export * as Capability from "./Capability.js"
/** @since 0.1.0 */
export * as Codec from "./Codec.js"
/** @since 0.1.0 */
export * as Files from "./Files.js"
/** @since 0.1.0 */
export * as HttpValidation from "./HttpValidation.js"
/** @since 0.1.0 */
export * as Message from "./Message.js"
/** @since 0.1.0 */
export * as MessageChannel from "./MessageChannel.js"
/** @since 0.2.0 */
export * as MessageReader from "./MessageReader.js"
/** @since 0.1.0 */
export * as ProtocolError from "./ProtocolError.js"
/** @since 0.1.0 */
export * as ProtocolVersion from "./ProtocolVersion.js"
/** @since 0.1.0 */
export * as ResponseMode from "./ResponseMode.js"
/** @since 0.1.0 */
export * as Tcp from "./Tcp.js"
/** @since 0.1.0 */
export * as Types from "./Types.js"
/** @since 0.1.0 */
export * as VariantHistory from "./VariantHistory.js"
/** @since 0.1.0 */
export * as Version from "./Version.js"
