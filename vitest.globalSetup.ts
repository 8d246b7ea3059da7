/**
 * Builds the packages once before the tests (`pnpm build`, incremental: quick when nothing
 * changed): the CLI tests run the built bins (`packages/cli/bin/*.js` → `packages/cli/dist`), and
 * the consumer tests pack and check `dist/`.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL(".", import.meta.url))
  try {
    execFileSync("pnpm", ["run", "--silent", "build"], { cwd: root, stdio: "pipe", timeout: 300_000 })
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; message: string }
    const output = `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`.trim()
    throw new Error(`vitest.globalSetup: \`pnpm build\` failed, so the CLI and consumer tests cannot use the built packages:\n${output || e.message}`)
  }
}
