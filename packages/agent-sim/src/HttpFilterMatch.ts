/**
 * Which stolen HTTP requests a subscription's filter selects, approximating the agent's matching
 * with JavaScript regular expressions.
 *
 * - `Header(regex)`: tested against every `name: value` line (lower-case name, value as
 *   latin-1 text); any match selects the request.
 * - `Path(regex)`: tested against the URI path (no query).
 * - `Method`: case-insensitive method comparison (`Other(s)` compares with `s`).
 * - `Composite{all, filters}`: all / any of the inner filters (an empty `any` matches nothing).
 * - `Body` (JSONPath) and `HeaderJq` are accepted and **match every request**: the simulator
 *   does not evaluate JSONPath or jq.
 *
 * Rust-only regex syntax: a leading inline flag group such as `(?i)` becomes the JS flag;
 * other Rust-only syntax may fail to compile, which the simulator reports like the agent
 * (`RemoteError::BadHttpFilterExRegex` / `BadHttpFilterRegex`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as Tcp from "@mirrord-effect/protocol/Tcp"

/**
 * The parts of a request a filter looks at.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestView {
  readonly method: string
  readonly uri: string
  readonly headers: Tcp.HeaderMap
}

/**
 * A filter with its regular expressions compiled.
 *
 * @since 0.1.0
 * @category models
 */
export type CompiledFilter = (request: RequestView) => boolean

const latin1 = new TextDecoder("latin1")

/**
 * Compiles a regex written for the Rust `regex` crate; `Left(message)` when it does not compile.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compileRegex = (pattern: string): Either.Either<RegExp, string> => {
  const inline = /^\(\?([imsU]+)\)/.exec(pattern)
  const flags = inline === null ? "" : [...new Set(inline[1]!.replace(/U/g, "").split(""))].join("")
  const source = inline === null ? pattern : pattern.slice(inline[0].length)
  try {
    return Either.right(new RegExp(source, flags))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

const headerLines = (headers: Tcp.HeaderMap): Array<string> =>
  headers.flatMap(([name, values]) => values.map((v) => `${name}: ${latin1.decode(v)}`))

const pathOf = (uri: string): string => {
  // absolute-form ("http://host/p?q") or origin-form ("/p?q")
  const withoutScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(uri)
  const rest = withoutScheme === null ? uri : uri.slice(withoutScheme[0].length)
  const end = rest.search(/[?#]/)
  const path = end < 0 ? rest : rest.slice(0, end)
  return path === "" ? "/" : path
}

const methodName = (m: Tcp.HttpMethodFilter): string => (m._tag === "Other" ? m.value : m._tag)

/**
 * Compiles a filter; `Left(message)` names the first regex that does not compile.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (filter: Tcp.HttpFilter): Either.Either<CompiledFilter, string> => {
  switch (filter._tag) {
    case "Header":
      return Either.map(compileRegex(filter.value), (re): CompiledFilter => (r) =>
        headerLines(r.headers).some((line) => re.test(line)))
    case "Path":
      return Either.map(compileRegex(filter.value), (re): CompiledFilter => (r) => re.test(pathOf(r.uri)))
    case "Method": {
      const wanted = methodName(filter.value).toUpperCase()
      return Either.right((r) => r.method.toUpperCase() === wanted)
    }
    case "Composite": {
      const inner: Array<CompiledFilter> = []
      for (const f of filter.filters) {
        const c = compile(f)
        if (Either.isLeft(c)) return c
        inner.push(c.right)
      }
      return Either.right(filter.all ? (r) => inner.every((f) => f(r)) : (r) => inner.some((f) => f(r)))
    }
    case "Body":
    case "HeaderJq":
      return Either.right(() => true)
  }
}

/**
 * Whether `filter` selects `request` (a filter that does not compile selects nothing).
 *
 * @since 0.1.0
 * @category predicates
 */
export const matches = (filter: Tcp.HttpFilter, request: RequestView): boolean =>
  Either.match(compile(filter), { onLeft: () => false, onRight: (f) => f(request) })

/**
 * The legacy `StealType::FilteredHttp(port, regex)` filter: a header regex.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compileLegacyHeader = (regex: string): Either.Either<CompiledFilter, string> =>
  compile({ _tag: "Header", value: regex })
