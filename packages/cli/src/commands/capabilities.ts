/**
 * `mirrord-effect capabilities`: the capability matrix, or what one version supports.
 * @internal
 */
import * as Capability from "@mirrord-effect/protocol/Capability"
import * as ResponseMode from "@mirrord-effect/protocol/ResponseMode"
import * as VariantHistory from "@mirrord-effect/protocol/VariantHistory"
import * as Version from "@mirrord-effect/protocol/Version"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { CliFailure, ExitCode } from "../ExitCode.js"
import type { CapabilitiesArgs } from "../internal/mirrordProgram.js"
import { writeStdout } from "./codecIo.js"

const describeVersion = (v: Version.SemVer): string => {
  const lines: Array<string> = [`mirrord-protocol ${Version.format(v)}`, ""]
  const mode = ResponseMode.responseModeFor(Option.some(v), "HttpRequestChunked")
  lines.push(`HTTP responses sent to this agent: ${ResponseMode.responseVariantOf(mode)} (${mode})`)
  lines.push("", "capabilities:")
  for (const info of Capability.capabilityTable) {
    const ok = Capability.supports(v, info.capability)
    lines.push(`  ${ok ? "✓" : "–"} ${info.capability.padEnd(28)} ${info.requirement.range.padEnd(10)} ${info.description}`)
  }
  lines.push("", "decodable variants of the incoming-traffic enums:")
  const variants = VariantHistory.variantsAt(v)
  for (const name of ["LayerTcp", "LayerTcpSteal", "DaemonTcp", "ChunkedRequest", "ChunkedResponse", "HttpFilter"]) {
    lines.push(`  ${name}: ${(variants[name] ?? []).join(", ")}`)
  }
  return lines.join("\n") + "\n"
}

/** @internal */
export const run = (args: CapabilitiesArgs) =>
    Effect.gen(function*() {
      if (args.protocolVersion === undefined) return yield* writeStdout(Capability.capabilityMatrixMarkdown())
      const parsed = Version.parseVersion(args.protocolVersion)
      if (Either.isLeft(parsed)) {
        return yield* Effect.fail(new CliFailure(ExitCode.Usage, `invalid --protocol-version: ${parsed.left.message}`))
      }
      yield* writeStdout(describeVersion(parsed.right))
    })
