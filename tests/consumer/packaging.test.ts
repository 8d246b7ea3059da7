/**
 * Cheap checks of every package's packaging, new packages included: what is published, the exports
 * a consumer sees, how sibling packages depend on each other, that the published types need no
 * devDependency, the READMEs' install commands, and where the incremental build state lives.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { isInternal, type PackageJson, readJson, repositoryRoot, type WorkspacePackage, workspacePackages } from "./support/packages.js"

const packages = workspacePackages()
const libraries = packages.filter((pkg) => pkg.isLibrary)
const byName = new Map(packages.map((pkg) => [pkg.manifest.name, pkg]))

const withoutSourceCondition = (exports: PackageJson["exports"]) =>
  Object.fromEntries(Object.entries(exports ?? {}).map(([key, entry]) => [
    key,
    entry === null ? null : Object.fromEntries(Object.entries(entry).filter(([condition]) => condition !== "@mirrord-effect/source"))
  ]))

/** The files under `dir`, recursively. */
const walk = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)]
  )

/** The packages a declaration file imports (`from "x"`, `import("x")`), by package name. */
const importedPackages = (declaration: string): ReadonlyArray<string> => {
  const specifiers = [...declaration.matchAll(/(?:from\s+|import\()\s*["']([^"']+)["']/g)].map((m) => m[1] ?? "")
  return specifiers
    .filter((s) => !s.startsWith(".") && !s.startsWith("node:"))
    .map((s) => s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0] ?? s)
}

/** A library and the sibling packages it needs, transitively (its tarball must come with theirs). */
const withInternalPeers = (pkg: WorkspacePackage): ReadonlySet<WorkspacePackage> => {
  const seen = new Set<WorkspacePackage>([pkg])
  for (const current of seen) {
    for (const peer of Object.keys(current.manifest.peerDependencies ?? {}).filter(isInternal)) {
      const found = byName.get(peer)
      if (found !== undefined) seen.add(found)
    }
  }
  return seen
}

describe("packaging of every package", () => {
  it("finds the packages", () => {
    expect(libraries.map((pkg) => pkg.manifest.name)).toEqual(
      expect.arrayContaining(["@mirrord-effect/protocol", "@mirrord-effect/client", "@mirrord-effect/incoming", "@mirrord-effect/agent-sim"])
    )
  })

  for (const pkg of packages) {
    describe(pkg.dir, () => {
      it("publishes only dist (+ bin for an application), README and package.json", () => {
        expect(pkg.manifest.files, "a `files` field").toBeDefined()
        for (const entry of pkg.manifest.files ?? []) {
          expect(entry, "each `files` entry").toMatch(pkg.isLibrary ? /^(dist\/|README\.md$)/ : /^(dist\/|bin$|README\.md$)/)
          expect(entry).not.toMatch(/src|tsconfig|tsbuildinfo|\.d\.ts\.map/)
        }
      })

      it("publishes exports without the monorepo's source condition, pointing into dist", () => {
        expect(pkg.manifest.publishConfig?.exports, "publishConfig.exports").toEqual(withoutSourceCondition(pkg.manifest.exports))
        for (const entry of Object.values(pkg.manifest.publishConfig?.exports ?? {})) {
          for (const target of Object.values(entry ?? {})) expect(target).toMatch(/^\.\/dist\//)
        }
      })

      it("keeps its incremental build state inside its build output, so deleting dist rebuilds", () => {
        const tsconfig = readJson<{ compilerOptions: { outDir: string; tsBuildInfoFile?: string } }>(
          path.join(repositoryRoot, pkg.dir, "tsconfig.json")
        )
        const { outDir, tsBuildInfoFile } = tsconfig.compilerOptions
        expect(tsBuildInfoFile, "tsBuildInfoFile").toBeDefined()
        const relative = path.relative(path.join(repositoryRoot, pkg.dir, outDir), path.join(repositoryRoot, pkg.dir, tsBuildInfoFile ?? ""))
        expect(relative.startsWith("..") || path.isAbsolute(relative), `${tsBuildInfoFile} inside ${outDir}`).toBe(false)
      })
    })
  }

  for (const pkg of libraries) {
    describe(`library ${pkg.dir}`, () => {
      it("names sibling packages as peers (workspace:^) and devDependencies (workspace:*), never as dependencies", () => {
        const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = pkg.manifest
        expect(Object.keys(dependencies).filter(isInternal)).toEqual([])
        for (const [name, range] of Object.entries(peerDependencies).filter(([name]) => isInternal(name))) {
          expect(range, name).toBe("workspace:^")
          expect(devDependencies[name], name).toBe("workspace:*")
        }
      })

      it("publishes declarations that import only its dependencies and peers, with their types", () => {
        const dist = path.join(repositoryRoot, pkg.dir, "dist")
        expect(fs.existsSync(dist), "built by vitest.globalSetup").toBe(true)
        const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = pkg.manifest
        const declared = new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies), pkg.manifest.name])
        const imported = new Set(walk(dist).filter((f) => f.endsWith(".d.ts")).flatMap((f) => importedPackages(fs.readFileSync(f, "utf8"))))
        for (const name of imported) {
          expect(declared.has(name), `${name} is imported by a published .d.ts`).toBe(true)
          const typesPackage = `@types/${name.replace(/^@/, "").replace("/", "__")}`
          // a package typed by DefinitelyTyped: its types must be installed for the consumer too
          if (typesPackage in devDependencies || typesPackage in dependencies) {
            expect(typesPackage in dependencies, `${typesPackage} is a dependency (its types are published)`).toBe(true)
          }
        }
      })

      it("has a README; an install command in it names the tarballs it needs and its peers", () => {
        const readmeFile = path.join(repositoryRoot, pkg.dir, "README.md")
        expect(fs.existsSync(readmeFile), `${pkg.dir}/README.md`).toBe(true)
        const readme = fs.existsSync(readmeFile) ? fs.readFileSync(readmeFile, "utf8") : ""
        for (const [, args = ""] of readme.matchAll(/^pnpm add (\.\/mirrord-effect-.*)$/gm)) {
          const words = args.trim().split(/\s+/)
          expect(words.filter((w) => w.endsWith(".tgz")).sort()).toEqual([...withInternalPeers(pkg)].map((p) => `./${p.tarball}`).sort())
          const others = words.filter((w) => !w.endsWith(".tgz")).map((w) => w.replace(/(.)@.*$/, "$1"))
          expect(others).toEqual(expect.arrayContaining(Object.keys(pkg.manifest.peerDependencies ?? {}).filter((n) => !isInternal(n))))
        }
      })
    })
  }

  it("the package READMEs' examples are the tested ones", () => {
    const protocolReadme = fs.readFileSync(path.join(repositoryRoot, "packages/protocol/README.md"), "utf8")
    expect(protocolReadme).toContain(fs.readFileSync(path.join(repositoryRoot, "tests/examples/codec.ts"), "utf8").trim())
    const clientReadme = fs.readFileSync(path.join(repositoryRoot, "packages/client/README.md"), "utf8")
    expect(clientReadme).toContain(fs.readFileSync(path.join(__dirname, "fixtures/clientExample.ts"), "utf8").trim())
  })
})
