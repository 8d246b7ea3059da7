/**
 * Writes `docs/capabilities.md` from `Capability.capabilityMatrixMarkdown()`.
 *
 * Usage: `pnpm docs:capabilities`
 */
import * as Capability from "@mirrord-effect/protocol/Capability"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const outPath = path.join(repoRoot, "docs", "capabilities.md")

fs.mkdirSync(path.dirname(outPath), { recursive: true })
fs.writeFileSync(outPath, Capability.capabilityMatrixMarkdown())
process.stdout.write(`wrote ${path.relative(repoRoot, outPath)}\n`)
