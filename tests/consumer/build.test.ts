/**
 * Build hygiene on a small project laid out like ours (same tsconfig.base.json, same per-package
 * compiler options): deleting a build output and building again rebuilds it, and `pnpm clean`
 * removes build outputs only. A temporary copy, so the real dist/ the other tests use is untouched.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { readJson, repositoryRoot } from "./support/packages.js"
import { command, tempDir } from "./support/process.js"

const tsc = path.join(repositoryRoot, "node_modules/typescript/bin/tsc")

/** A temp dir inside the repository, so that node_modules (e.g. @types/node) resolve as they do here. */
const scratch = tempDir("build-", path.join(repositoryRoot, "tmp"))

const writeProject = (root: string) => {
  // the per-package compiler options of a real package, with its base config copied beside it
  const real = readJson<{ compilerOptions: Record<string, unknown> }>(path.join(repositoryRoot, "packages/protocol/tsconfig.json"))
  fs.copyFileSync(path.join(repositoryRoot, "tsconfig.base.json"), path.join(root, "tsconfig.base.json"))
  const pkg = path.join(root, "packages/sample")
  fs.mkdirSync(path.join(pkg, "src"), { recursive: true })
  fs.writeFileSync(path.join(pkg, "src/index.ts"), "export const answer: number = 42\n")
  fs.writeFileSync(path.join(pkg, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.base.json", compilerOptions: real.compilerOptions, include: ["src"] }))
  fs.writeFileSync(path.join(root, "tsconfig.build.json"), JSON.stringify({ files: [], references: [{ path: "packages/sample" }] }))
  return pkg
}

describe("build hygiene", () => {
  it.scoped("`tsc -b` after deleting dist/ rebuilds it", () =>
    Effect.gen(function*() {
      const root = yield* scratch
      const pkg = writeProject(root)
      const build = command(process.execPath, [tsc, "-b", "tsconfig.build.json"], { cwd: root })
      yield* build
      expect(fs.existsSync(path.join(pkg, "dist/index.js"))).toBe(true)
      fs.rmSync(path.join(pkg, "dist"), { recursive: true })
      yield* build
      expect(fs.existsSync(path.join(pkg, "dist/index.js")), "rebuilt after rm -rf dist").toBe(true)
      expect(fs.existsSync(path.join(pkg, "dist/index.d.ts"))).toBe(true)
    }), 300_000)

  it.scoped("`pnpm clean` removes build outputs and build state, nothing else", () =>
    Effect.gen(function*() {
      const root = yield* scratch
      const clean = readJson<{ scripts: Record<string, string> }>(path.join(repositoryRoot, "package.json")).scripts["clean"]
      expect(clean, "a clean script").toBeDefined()
      const outputs = ["packages/a/dist/index.js", "packages/a/dist/.tsbuildinfo", "packages/b/.tsbuildinfo/src.tsbuildinfo", "tests/.tsbuildinfo/tests.tsbuildinfo"]
      const sources = ["packages/a/src/index.ts", "packages/a/package.json", "tests/x.test.ts"]
      for (const file of [...outputs, ...sources]) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
        fs.writeFileSync(path.join(root, file), "")
      }
      yield* command("sh", ["-c", clean ?? "false"], { cwd: root })
      expect(outputs.filter((file) => fs.existsSync(path.join(root, file)))).toEqual([])
      expect(sources.filter((file) => fs.existsSync(path.join(root, file)))).toEqual(sources)
      expect(fs.existsSync(path.join(root, "packages/a/dist"))).toBe(false)
    }))
})
