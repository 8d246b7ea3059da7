/**
 * What the agent said when it refused something: a `ResponseError` rendered as a sentence a user
 * can act on (the agent's own message kept verbatim), and the HTTP filter an error names, so
 * that a refusal without a port can still be matched to the subscription that caused it.
 *
 * @internal
 */
import type { ResponseError } from "@mirrord-effect/protocol/Message"
import type { HttpFilter } from "@mirrord-effect/protocol/Tcp"

/** Composite filters are rendered this deep; a refusal message need not show a whole tree. */
const RENDER_DEPTH = 6

/** `Path("^/api")`, `all(Header("x: 1"), Method(Get))`, … @internal */
export const renderFilter = (filter: HttpFilter, depth = 0): string => {
  switch (filter._tag) {
    case "Header":
    case "Path":
    case "HeaderJq":
      return `${filter._tag}(${JSON.stringify(filter.value)})`
    case "Method":
      return `Method(${filter.value._tag === "Other" ? JSON.stringify(filter.value.value) : filter.value._tag})`
    case "Body":
      return `Body(json ${JSON.stringify(filter.value.query)} matches ${JSON.stringify(filter.value.matches)})`
    case "Composite": {
      const inner = depth >= RENDER_DEPTH ? "…" : filter.filters.map((f) => renderFilter(f, depth + 1)).join(", ")
      return `${filter.all ? "all" : "any"}(${inner})`
    }
  }
}

/**
 * The HTTP filter a refusal is about, when the agent named it (`BadHttpFilterExRegex`).
 *
 * @internal
 */
export const refusedFilter = (error: ResponseError): HttpFilter | undefined =>
  error._tag === "Remote" && error.value._tag === "BadHttpFilterExRegex" ? error.value.values[0] : undefined

/**
 * The agent's refusal in words: its own message where it sent one.
 *
 * @internal
 */
export const describeRefusal = (error: ResponseError): string => {
  switch (error._tag) {
    case "Remote": {
      const remote = error.value
      switch (remote._tag) {
        case "BadHttpFilterExRegex":
          return `the agent cannot compile the HTTP filter ${renderFilter(remote.values[0])}: ${remote.values[1]}`
        case "BadHttpFilterRegex":
          return `the agent cannot compile the header filter ${JSON.stringify(remote.values[0])}: ${remote.values[1]}`
        case "AddressParsing":
          return `the agent cannot parse an address: ${remote.value}`
        default:
          return `the agent reported a remote error: ${remote._tag}`
      }
    }
    case "SystemFailure":
      return `the agent failed (code ${error.code}${error.can_retry ? ", retryable" : ""}): ${error.message}`
    case "ForbiddenWithReason":
      return `blocked by policy ${error.policy_name ?? "(unnamed)"}: ${error.reason}`
    case "Forbidden":
      return `blocked by policy ${error.policy_name ?? "(unnamed)"}`
    case "PortAlreadyStolen":
      return `port ${error.value} is already stolen by another client`
    case "NotImplemented":
      return "the agent does not implement this request"
    case "IdsExhausted":
    case "StripPrefix":
      return `the agent answered ${error._tag}: ${error.value}`
    default:
      return `the agent answered ${error._tag}`
  }
}
