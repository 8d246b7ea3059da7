/**
 * Builds the packages once before the tests: the CLI tests run the built bins
 * (`packages/cli/bin/*.js` → `packages/cli/dist`).
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL(".", import.meta.url))
  try {
    execFileSync("pnpm", ["exec", "tsc", "-b", "tsconfig.build.json"], { cwd: root, stdio: "pipe", timeout: 120_000 })
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; message: string }
    const output = `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`.trim()
    throw new Error(`vitest.globalSetup: \`pnpm exec tsc -b tsconfig.build.json\` failed, so the CLI tests cannot run the built bin:\n${output || e.message}`)
  }
}
