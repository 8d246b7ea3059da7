/** @internal */
export * as dns from "./dns.js"
export * as errors from "./errors.js"
export * as files from "./files.js"
export * as outgoing from "./outgoing.js"
export * as root from "./root.js"
export * as session from "./session.js"
export * as tcp from "./tcp.js"
